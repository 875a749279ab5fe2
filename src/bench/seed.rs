//! `pons bench seed`: fills the configured database with a synthetic
//! corpus for the tool-call benchmark. It creates or reuses a user and an
//! account, creates a new API key with every scope, and stores the
//! messages through `Store::ingest` in large batches.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use futures::{StreamExt, TryStreamExt, stream};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::corpus::{Customer, MIN_CONVERSATIONS, RANDOM_SEED, Vocabulary, query_mix};
use crate::apikey;
use crate::auth::Scope;
use crate::crypto::SecretBox;
use crate::echo::echoed;
use crate::phone::PhoneNumber;
use crate::seeded_data::{self, SeededIdentity};
use crate::store::{
    Account, ContactSeen, DynStore, InboundMessage, IngestItem, IngestReport, NewAccount,
    NewApiKey, NewUser, NewWebhookLog, Role, User, WebhookBatch,
};

/// Share of messages written in a customer's words; the rest read like the
/// business's replies. Every seeded message is stored as inbound.
const INBOUND_SHARE: f64 = 0.55;
/// Skew of messages over conversations: message `i` goes to conversation
/// `floor(conversations * u^SKEW)` for a uniform `u`, so low-numbered
/// conversations are the busiest.
const CONVERSATION_SKEW: f64 = 1.5;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Conversations (one customer each) to spread the messages over.
    #[arg(long, default_value_t = 10_000)]
    pub conversations: u32,
    /// Messages to write.
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Messages per `Store::ingest` call; each call is one transaction.
    #[arg(long, default_value_t = 1_000)]
    pub batch_size: u64,
    /// Batches handed to the store before the first of them has committed.
    /// With 2, generating a batch overlaps writing the previous one on
    /// SQLite. On PostgreSQL concurrent batches of the same customers wait
    /// on each other's row locks, so 1 is faster there.
    #[arg(long, default_value_t = 2)]
    pub batches_in_flight: usize,
    /// Days before now that the oldest message is dated, 1 to 3650 (ten
    /// years). About 20,400 days would date messages before 1970.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Email of the user who owns the account and the key.
    #[arg(long, default_value = "bench@example.com", value_name = "EMAIL")]
    pub email: String,
    /// Business number of the seeded account.
    #[arg(long, default_value = "+15550001111", value_name = "E164")]
    pub phone_number: String,
    /// Phone number id of the seeded account.
    #[arg(long, default_value = "100000000000002", value_name = "ID")]
    pub phone_number_id: String,
    /// Write the new API key to this file (mode 0600) instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

/// Name of the account that `seed` creates.
const ACCOUNT_NAME: &str = "Bench";
/// WhatsApp Business Account id of the account that `seed` creates.
const WABA_ID: &str = "100000000000001";

/// Rejects a database that contains accounts, users or API keys that
/// `pons bench seed` with these `args` did not create, before the database
/// is opened for writing. A missing database passes, and so does one that
/// an earlier run with the same `--email`, `--phone-number` and
/// `--phone-number-id` seeded.
pub async fn reject_foreign_database(
    data_dir: &Path,
    database_url: &str,
    args: &SeedArgs,
) -> anyhow::Result<()> {
    let phone = parse_phone_number(args)?;
    let own = SeededIdentity {
        email: &args.email,
        account_name: ACCOUNT_NAME,
        waba_id: WABA_ID,
        phone_number_id: &args.phone_number_id,
        phone_number: phone.digits(),
    };
    let (database, foreign) = if crate::store::is_postgres_url(database_url) {
        let database = crate::echo::without_credentials(database_url);
        let found = seeded_data::find_foreign_data_postgres(database_url, &own)
            .await
            .with_context(|| {
                format!(
                    "cannot read the database {database} to check that pons bench seed created it"
                )
            })?;
        match found {
            Some(foreign) => (database, foreign),
            None => return Ok(()),
        }
    } else {
        let path = crate::store::sqlite::path_from_url(database_url)?;
        if !path.exists() {
            return Ok(());
        }
        let foreign = seeded_data::open_read_only(&path)
            .and_then(|conn| seeded_data::find_foreign_data(&conn, &own))
            .with_context(|| {
                format!(
                    "cannot read the database {} to check that pons bench seed created it",
                    path.display()
                )
            })?;
        (path.display().to_string(), foreign)
    };
    let found = match (foreign.accounts, foreign.users) {
        (Some(accounts), _) => format!(
            "{} account(s) that pons bench seed did not create (such as \"{}\", +{})",
            accounts.count,
            echoed(&accounts.name),
            accounts.phone_number
        ),
        (None, Some(users)) => format!(
            "{} user(s) and {} API key(s) that pons bench seed did not create{}",
            users.users,
            users.keys,
            users
                .example
                .map(|email| format!(" (such as the user \"{}\")", echoed(&email)))
                .unwrap_or_default()
        ),
        (None, None) => return Ok(()),
    };
    bail!(
        "database {database} of data directory {} contains {found}, so it belongs to a Pons \
         installation, and pons bench seed never writes its made-up data into one; set \
         PONS_DATA_DIR or --data-dir to an empty directory (and unset PONS_DATABASE_URL, or \
         point it at an empty database). When an earlier pons bench seed created that data \
         with another --email, --phone-number or --phone-number-id, run it with the values of \
         that run instead",
        data_dir.display()
    )
}

fn parse_phone_number(args: &SeedArgs) -> anyhow::Result<PhoneNumber> {
    PhoneNumber::parse(&args.phone_number)
        .with_context(|| format!("invalid --phone-number {:?}", args.phone_number))
}

/// Seeds the corpus and prints the new key and the search query mix.
pub async fn seed(store: DynStore, secrets: SecretBox, args: SeedArgs) -> anyhow::Result<()> {
    if args.conversations < MIN_CONVERSATIONS {
        bail!(
            "--conversations must be at least {MIN_CONVERSATIONS}; the query mix names customers below that"
        );
    }
    if args.batch_size == 0 || args.messages == 0 {
        bail!("--messages and --batch-size must be at least 1");
    }
    let user = ensure_user(&store, &args.email).await?;
    let account = ensure_account(&store, &secrets, &user, &args).await?;
    let key = create_full_key(&store, &user).await?;

    let started = Instant::now();
    let report = write_corpus(&store, &account, &args).await?;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} messages ({} already present) in {} conversations of +{} in {elapsed:.1} s \
         ({:.0} messages/s)",
        report.messages_inserted,
        report.duplicates,
        args.conversations,
        account.phone_number,
        f64::from(report.messages_inserted) / elapsed,
    );
    eprintln!("search queries of `pons bench tools --tool search_messages`:");
    for query in query_mix(&Vocabulary::new()) {
        eprintln!("  {:<13} {}", query.class, query.text);
    }
    match &args.key_file {
        Some(path) => {
            write_secret_file(path, &key)?;
            eprintln!(
                "API key with scopes read,write,send written to {}",
                path.display()
            );
        }
        None => println!("{key}"),
    }
    Ok(())
}

async fn ensure_user(store: &DynStore, email: &str) -> anyhow::Result<User> {
    if let Some(user) = store.find_user_by_email(email).await? {
        return Ok(user);
    }
    let new = NewUser {
        email: email.to_owned(),
        password_hash: None,
    };
    Ok(store.create_user(new).await?)
}

/// Finds the account by number or creates it with placeholder Meta
/// credentials, then makes `owner` its owner.
async fn ensure_account(
    store: &DynStore,
    secrets: &SecretBox,
    owner: &User,
    args: &SeedArgs,
) -> anyhow::Result<Account> {
    let phone = parse_phone_number(args)?;
    let account = match store.find_account(phone.digits()).await? {
        Some(account) => account,
        None => {
            let new = NewAccount {
                name: ACCOUNT_NAME.to_owned(),
                waba_id: WABA_ID.to_owned(),
                phone_number_id: args.phone_number_id.clone(),
                phone_number: phone.digits().to_owned(),
                display_name: None,
                access_token_encrypted: secrets.encrypt(b"bench-access-token"),
                app_secret_encrypted: secrets.encrypt(b"bench-app-secret"),
                verify_token: uuid::Uuid::new_v4().simple().to_string(),
                owner: owner.id.clone(),
            };
            store.create_account(new).await?
        }
    };
    store
        .upsert_member(&account.id, &owner.id, Role::Owner)
        .await?;
    Ok(account)
}

/// Name of the API key that `seed` creates.
const KEY_NAME: &str = "bench";

/// Revokes the keys of `user` that earlier runs created, then creates a key
/// for every account of `user` with every scope and returns its text. Only
/// the latest run's key works, so reruns do not pile up keys.
async fn create_full_key(store: &DynStore, user: &User) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let keys = store.list_api_keys().await?;
    let earlier = keys
        .iter()
        .filter(|key| key.user_id == user.id && key.revoked_at.is_none() && key.name == KEY_NAME);
    for key in earlier {
        store
            .revoke_api_key(key.id.as_str(), now)
            .await
            .with_context(|| format!("cannot revoke the earlier bench API key {}", key.prefix))?;
        eprintln!("revoked the API key {} of an earlier run", key.prefix);
    }
    let key = apikey::generate();
    store
        .create_api_key(NewApiKey {
            user_id: user.id.clone(),
            name: KEY_NAME.to_owned(),
            key_hash: key.hash,
            prefix: key.prefix,
            scopes: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
            expires_at: None,
            accounts: Vec::new(),
        })
        .await?;
    Ok(key.text)
}

fn write_secret_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create --key-file {}", path.display()))?;
    writeln!(file, "{text}").with_context(|| format!("cannot write {}", path.display()))
}

/// Generates and stores the messages batch by batch, printing progress.
async fn write_corpus(
    store: &DynStore,
    account: &Account,
    args: &SeedArgs,
) -> anyhow::Result<IngestReport> {
    let mut generator = Generator::new(account, args);
    let batches = args.messages.div_ceil(args.batch_size);
    let mut total = IngestReport::default();
    let mut done = 0u64;
    let mut reports = stream::iter(0..batches)
        .map(|_| {
            let batch = generator.next_batch();
            let store = store.clone();
            async move { store.ingest(batch).await }
        })
        .buffered(args.batches_in_flight.max(1));
    while let Some(report) = reports.try_next().await? {
        total.messages_inserted += report.messages_inserted;
        total.duplicates += report.duplicates;
        done += 1;
        if done.is_multiple_of((batches / 10).max(1)) {
            eprintln!("  {done}/{batches} batches stored");
        }
    }
    Ok(total)
}

/// Produces the corpus batch by batch, in time order.
struct Generator {
    vocabulary: Vocabulary,
    rng: StdRng,
    account: Account,
    customers: Vec<Option<Customer>>,
    next_message: u64,
    messages: u64,
    batch_size: u64,
    start: i64,
    /// Seconds between consecutive messages.
    step: f64,
}

impl Generator {
    fn new(account: &Account, args: &SeedArgs) -> Generator {
        let now = chrono::Utc::now().timestamp();
        let span = i64::from(args.days) * 86_400;
        Generator {
            vocabulary: Vocabulary::new(),
            rng: StdRng::seed_from_u64(RANDOM_SEED),
            account: account.clone(),
            customers: (0..args.conversations).map(|_| None).collect(),
            next_message: 0,
            messages: args.messages,
            batch_size: args.batch_size,
            start: now - span,
            step: span as f64 / args.messages as f64,
        }
    }

    /// Builds the next batch: a contact item the first time a customer
    /// writes, and one text message item per message.
    fn next_batch(&mut self) -> WebhookBatch {
        let end = (self.next_message + self.batch_size).min(self.messages);
        let mut items = Vec::with_capacity((end - self.next_message) as usize + 16);
        for number in self.next_message..end {
            let u: f64 = self.rng.r#gen();
            let slots = self.customers.len();
            let index = ((slots as f64 * u.powf(CONVERSATION_SKEW)) as usize).min(slots - 1);
            if self.customers[index].is_none() {
                let customer = Customer::new(index as u32);
                items.push(IngestItem::Contact(ContactSeen {
                    account_id: self.account.id.clone(),
                    wa_id: customer.wa_id.clone(),
                    profile_name: Some(customer.profile_name.clone()),
                    user_id: None,
                }));
                self.customers[index] = Some(customer);
            }
            let inbound = self.rng.gen_bool(INBOUND_SHARE);
            let jitter = self.rng.gen_range(0.0..self.step.max(1.0));
            let timestamp = self.start + (number as f64 * self.step + jitter) as i64;
            if let Some(customer) = &self.customers[index] {
                let text = self.vocabulary.message(&mut self.rng, customer, inbound);
                items.push(IngestItem::Message(
                    self.message(customer, number, timestamp, text),
                ));
            }
        }
        let first = self.next_message;
        self.next_message = end;
        WebhookBatch {
            log: NewWebhookLog {
                received_at: chrono::Utc::now().timestamp(),
                account_id: Some(self.account.id.clone()),
                headers_json: "{}".to_owned(),
                body: format!("{{\"seeded_messages\":[{first},{end}]}}")
                    .into_bytes()
                    .into(),
                outcome: "processed".to_owned(),
                detail: Some("written by pons bench seed".to_owned()),
            },
            items,
        }
    }

    /// Builds a text message as the webhook parser would from Meta's JSON.
    fn message(
        &self,
        customer: &Customer,
        number: u64,
        timestamp: i64,
        text: String,
    ) -> InboundMessage {
        let wamid = format!("wamid.seed.{number:09}");
        let content = serde_json::json!({ "body": text });
        let raw = serde_json::json!({
            "from": customer.wa_id, "id": wamid, "timestamp": timestamp.to_string(),
            "type": "text", "text": content,
        });
        InboundMessage {
            account_id: self.account.id.clone(),
            from: customer.wa_id.clone(),
            wamid,
            timestamp,
            kind: "text".to_owned(),
            text: Some(text),
            caption: None,
            media: None,
            context_wamid: None,
            content_json: content.to_string(),
            raw_json: raw.to_string(),
            errors: Vec::new(),
        }
    }
}
