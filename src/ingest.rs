//! Turns a signed webhook body into store writes: finds the account each
//! change names, checks the signature with that account's app secret, and
//! stores everything in one transaction before the caller answers 200.

use std::collections::{BTreeMap, BTreeSet};

use crate::crypto::SecretBox;
use crate::ingest_gate::ParseGate;
use crate::store::{
    AccountId, AccountSecrets, DynStore, IngestItem, IngestReport, NewWebhookLog, StoreError,
    WebhookBatch, summarise_notes,
};
use crate::whatsapp::routing::Routing;
use crate::whatsapp::signature::{self, SignatureError};
use crate::whatsapp::surrogates::replace_lone_surrogates;
use crate::whatsapp::webhook::{self, Payload};

/// Result of storing an accepted body.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The body was stored. `problems` summarises what its log entry notes
    /// about the stored changes. `unknown_numbers` are the phone number ids
    /// of skipped changes. The caller logs both.
    Stored {
        report: IngestReport,
        problems: Option<String>,
        unknown_numbers: BTreeSet<String>,
    },
    /// No change in the body belongs to a known account, so nothing was
    /// stored. The caller logs the phone number ids the body names.
    Ignored { phone_number_ids: BTreeSet<String> },
}

/// Reason a body was rejected or not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("webhook body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("stored app secret of account {0} cannot be decrypted")]
    Secret(AccountId),
    #[error("storing the webhook failed: {0}")]
    Store(#[from] StoreError),
    /// The database contains no account at all, which points to a server
    /// started on the wrong data directory or database.
    #[error(
        "the database holds no WhatsApp account, so the webhook was not stored; add the \
         account with `pons account add`, or point PONS_DATA_DIR (or PONS_DATABASE_URL) at \
         the database that holds it"
    )]
    NoAccounts,
}

/// A webhook request as received.
pub struct Delivery<'a> {
    pub body: &'a bytes::Bytes,
    pub signature: Option<&'a [u8]>,
    /// Request headers worth keeping in the log, as a JSON object.
    pub headers_json: String,
    pub received_at: i64,
}

/// Verifies and stores one webhook body.
pub async fn receive(
    store: &DynStore,
    secrets: &SecretBox,
    gate: &ParseGate,
    delivery: Delivery<'_>,
) -> Result<Outcome, IngestError> {
    let digest = signature::parse_header(delivery.signature)?;
    let invalid_json = |err: serde_json::Error| IngestError::InvalidJson(err.to_string());
    // The signature covers the body as received, and the parsers read it
    // with lone surrogate escapes replaced.
    let parsed_body = replace_lone_surrogates(delivery.body);
    // Only the account ids are read before the signature is checked.
    let routing = Routing::read(&parsed_body).map_err(invalid_json)?;
    let accounts = Accounts::load(store, routing).await?;
    if accounts.is_empty() {
        if store.list_accounts().await?.is_empty() {
            return Err(IngestError::NoAccounts);
        }
        return Ok(Outcome::Ignored {
            phone_number_ids: accounts.unknown_numbers,
        });
    }
    accounts.verify(secrets, delivery.body, &digest)?;
    // Held until the batch is stored, since its items live until then.
    let _parsing = gate.enter(delivery.body.len()).await;
    let payload: Payload = serde_json::from_slice(&parsed_body).map_err(invalid_json)?;

    let mut notes = Vec::new();
    let items = build_items(&payload, &accounts, delivery.received_at, &mut notes);
    // Skipped changes are logged on their own line, so they are no problem
    // of the stored ones.
    let problems = summarise_notes(&notes);
    if !accounts.unknown_numbers.is_empty() {
        notes.push(format!(
            "changes for unknown phone number ids {:?} skipped",
            accounts.unknown_numbers
        ));
    }
    let notes = summarise_notes(&notes);
    let log = NewWebhookLog {
        received_at: delivery.received_at,
        account_id: accounts.single_account(),
        headers_json: delivery.headers_json,
        body: delivery.body.clone(),
        outcome: "processed".to_owned(),
        detail: notes,
    };
    match store
        .ingest(WebhookBatch {
            log: log.clone(),
            items,
        })
        .await
    {
        Ok(report) => {
            if report.statuses_reconciled > 0 {
                tracing::info!(
                    count = report.statuses_reconciled,
                    "status webhooks gave their wamid to sends whose response was lost"
                );
            }
            let problems = match (problems, summarise_notes(&report.notes)) {
                (Some(before), Some(added)) => Some(format!("{before}; {added}")),
                (before, added) => before.or(added),
            };
            Ok(Outcome::Stored {
                report,
                problems,
                unknown_numbers: accounts.unknown_numbers,
            })
        }
        Err(err) => {
            let failed = NewWebhookLog {
                outcome: "failed".to_owned(),
                detail: Some(err.to_string()),
                ..log
            };
            if let Err(log_err) = store.record_webhook(failed).await {
                // The caller logs the first error, which almost always has
                // the same cause (a full disk, a lost database).
                tracing::debug!(error = %log_err, "recording a failed webhook also failed");
            }
            Err(err.into())
        }
    }
}

/// The accounts a body names, by phone number id and by WABA id.
struct Accounts {
    by_number: BTreeMap<String, AccountSecrets>,
    by_waba: BTreeMap<String, Vec<AccountSecrets>>,
    unknown_numbers: BTreeSet<String>,
}

impl Accounts {
    async fn load(store: &DynStore, routing: Routing) -> Result<Accounts, StoreError> {
        let Routing {
            phone_number_ids: numbers,
            waba_ids: wabas,
        } = routing;

        let numbers: Vec<String> = numbers.into_iter().collect();
        let by_number: BTreeMap<String, AccountSecrets> = if numbers.is_empty() {
            BTreeMap::new()
        } else {
            let found = store.accounts_by_phone_number_ids(&numbers).await?;
            found
                .into_iter()
                .map(|a| (a.account.phone_number_id.clone(), a))
                .collect()
        };
        let mut by_waba: BTreeMap<String, Vec<AccountSecrets>> = BTreeMap::new();
        if !wabas.is_empty() {
            let ids: Vec<String> = wabas.into_iter().collect();
            for account in store.accounts_by_waba_ids(&ids).await? {
                by_waba
                    .entry(account.account.waba_id.clone())
                    .or_default()
                    .push(account);
            }
        }
        let unknown_numbers = numbers
            .into_iter()
            .filter(|n| !by_number.contains_key(n))
            .collect();
        Ok(Accounts {
            by_number,
            by_waba,
            unknown_numbers,
        })
    }

    fn is_empty(&self) -> bool {
        self.by_number.is_empty() && self.by_waba.is_empty()
    }

    fn all(&self) -> impl Iterator<Item = &AccountSecrets> {
        self.by_number
            .values()
            .chain(self.by_waba.values().flatten())
    }

    /// Requires the signature to match the app secret of every phone number
    /// the body touches, so a body for B signed with A's secret is
    /// rejected. A change for a whole WABA (a template status) needs the
    /// secret of one of its accounts: each app that Meta sends the WABA's
    /// webhooks to signs them with its own secret.
    fn verify(
        &self,
        secrets: &SecretBox,
        body: &[u8],
        digest: &[u8; 32],
    ) -> Result<(), IngestError> {
        let mut checked = BTreeSet::new();
        for account in self.by_number.values() {
            if checked.insert(account.app_secret_encrypted.clone()) {
                verify_with(secrets, account, body, digest)?;
            }
        }
        for accounts in self.by_waba.values() {
            let mut result = Err(SignatureError::Mismatch.into());
            for account in accounts {
                result = verify_with(secrets, account, body, digest);
                if result.is_ok() {
                    break;
                }
            }
            result?;
        }
        Ok(())
    }

    fn single_account(&self) -> Option<AccountId> {
        let ids: BTreeSet<&AccountId> = self.all().map(|a| &a.account.id).collect();
        (ids.len() == 1)
            .then(|| ids.into_iter().next().cloned())
            .flatten()
    }
}

/// Checks the signature of `body` with the app secret of `account`.
fn verify_with(
    secrets: &SecretBox,
    account: &AccountSecrets,
    body: &[u8],
    digest: &[u8; 32],
) -> Result<(), IngestError> {
    let secret = secrets
        .decrypt(&account.app_secret_encrypted)
        .map_err(|_| IngestError::Secret(account.account.id.clone()))?;
    Ok(signature::verify(&secret, body, digest)?)
}

fn build_items(
    payload: &Payload,
    accounts: &Accounts,
    received_at: i64,
    notes: &mut Vec<String>,
) -> Vec<IngestItem> {
    let mut items = Vec::new();
    for entry in &payload.entry {
        for change in &entry.changes {
            match change.field.as_str() {
                "messages" => {
                    let account = change
                        .phone_number_id()
                        .and_then(|n| accounts.by_number.get(&n));
                    if let Some(account) = account {
                        items.extend(webhook::messages_items(
                            &account.account.id,
                            &change.value,
                            received_at,
                            notes,
                        ));
                    }
                }
                "message_template_status_update" => {
                    let waba = entry.id.as_deref().unwrap_or_default();
                    if accounts.by_waba.contains_key(waba) {
                        items.extend(webhook::template_status_item(waba, &change.value));
                    }
                }
                other => notes.push(format!("field {other:?} acknowledged without processing")),
            }
        }
    }
    items
}
