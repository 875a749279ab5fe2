//! Checks that the encryption key is the one a database's account secrets
//! are stored with. Besides the secrets themselves, the database stores a
//! key verifier: [`VERIFIER_LABEL`] encrypted with the key the first time a
//! key is used with the database. The verifier catches another key even
//! before any account exists, so that two keys never store secrets in one
//! database.

use anyhow::{anyhow, bail};

use crate::config::KeyFile;
use crate::crypto::SecretBox;
use crate::store::{Account, AccountId, DynStore};

/// Plaintext of the key verifier. AES-GCM encrypts it with a random nonce,
/// so the stored verifier reveals nothing about the key.
const VERIFIER_LABEL: &[u8] = b"pons encryption key verifier v1";

/// Encrypts the key verifier with `secrets`.
fn seal_verifier(secrets: &SecretBox) -> Vec<u8> {
    secrets.encrypt(VERIFIER_LABEL)
}

/// Tells whether `sealed` is a key verifier encrypted with `secrets`.
pub fn opens_verifier(secrets: &SecretBox, sealed: &[u8]) -> bool {
    secrets
        .decrypt(sealed)
        .is_ok_and(|label| label.as_slice() == VERIFIER_LABEL)
}

/// The checks that [`check_key`] runs and the data it stores, chosen by
/// what a command does with the key.
#[derive(Clone, Copy, Debug)]
pub enum KeyCheck<'a> {
    /// For commands that encrypt or decrypt secrets: every account's
    /// secrets and the key verifier, which is stored when none is stored
    /// yet.
    Full,
    /// For commands that store no secret: every account's secrets and a
    /// stored key verifier. It stores nothing, so that such a command does
    /// not bind a new database to whatever key file it happened to find.
    NoSecrets,
    /// For `pons account set-credentials` with both secrets: leaves out
    /// `account`, whose secrets are about to be replaced. Without
    /// `key_lost` the key must still be the database's (its verifier). With
    /// `key_lost`, the verifier and other accounts under another key are
    /// left out too, so that the accounts under a lost key can be stored
    /// again one by one.
    Replacing {
        account: &'a AccountId,
        key_lost: bool,
    },
}

/// An account whose access token or app secret a key cannot decrypt.
#[derive(Clone, Debug)]
pub struct Undecryptable {
    pub account: Account,
    /// "access token" or "app secret", the first one that failed.
    pub secret: &'static str,
}

/// Checks the key in `key_file` against the database before a command
/// uses it, as `check` selects, and for [`KeyCheck::Full`] stores the key
/// verifier when none is stored yet.
///
/// It rejects a key that cannot decrypt the secrets of an account, or that
/// cannot decrypt the stored verifier. A database without a verifier (a
/// new one, or one from a release without verifiers) gets one once every
/// account's secrets decrypt. After replacing an account's secrets, the
/// caller runs [`adopt_key`] when [`undecryptable_accounts`] is empty.
pub async fn check_key(
    store: &DynStore,
    secrets: &SecretBox,
    key_file: &KeyFile,
    check: KeyCheck<'_>,
) -> anyhow::Result<()> {
    let undecryptable = undecryptable_accounts(store, secrets).await?;
    match check {
        KeyCheck::Full | KeyCheck::NoSecrets => {
            if !undecryptable.is_empty() {
                return Err(wrong_key(key_file, &undecryptable));
            }
        }
        KeyCheck::Replacing { account, key_lost } => {
            if key_lost {
                return Ok(());
            }
            let others: Vec<&Undecryptable> = undecryptable
                .iter()
                .filter(|stored| &stored.account.id != account)
                .collect();
            let replaced = store.find_account(account.as_str()).await?;
            if !others.is_empty() {
                return Err(others_under_other_key(key_file, replaced.as_ref(), &others));
            }
            // Without --key-lost, a key file of another database (a wrong
            // data directory or key path) must not become this one's key.
            return match store.key_verifier().await? {
                Some(sealed) if !opens_verifier(secrets, &sealed) => {
                    Err(not_database_key(key_file, replaced.as_ref()))
                }
                _ => Ok(()),
            };
        }
    }
    match (store.key_verifier().await?, check) {
        (Some(sealed), _) if opens_verifier(secrets, &sealed) => Ok(()),
        (Some(_), _) => Err(verifier_mismatch(key_file)),
        (None, KeyCheck::Full) => insert_verifier(store, secrets, key_file).await,
        (None, _) => Ok(()),
    }
}

/// Tells whether the database stores a key verifier made with `secrets`,
/// so that [`adopt_key`] would change nothing.
pub async fn is_database_key(store: &DynStore, secrets: &SecretBox) -> anyhow::Result<bool> {
    let stored = store.key_verifier().await?;
    Ok(is_verifier_of(secrets, stored.as_deref()))
}

fn is_verifier_of(secrets: &SecretBox, stored: Option<&[u8]>) -> bool {
    stored.is_some_and(|sealed| opens_verifier(secrets, sealed))
}

/// Makes the key in `key_file` the database's key: stores its verifier in
/// place of one made with another key. Fails, changing nothing, unless
/// every account's secrets decrypt with the key. Returns `false` when the
/// stored verifier is this key's already.
///
/// `pons account set-credentials` runs it after it has replaced both
/// secrets of an account, and `pons encryption-key adopt` runs it on its
/// own. With no accounts left under another key, replacing the verifier
/// loses no secret. Both commands first take the data directory's
/// exclusive lock when the verifier would change, because a running server
/// keeps the key it started with.
pub async fn adopt_key(
    store: &DynStore,
    secrets: &SecretBox,
    key_file: &KeyFile,
) -> anyhow::Result<bool> {
    let stored = store.key_verifier().await?;
    if is_verifier_of(secrets, stored.as_deref()) {
        return Ok(false);
    }
    let undecryptable = undecryptable_accounts(store, secrets).await?;
    if !undecryptable.is_empty() {
        return Err(wrong_key(key_file, &undecryptable));
    }
    let Some(previous) = stored else {
        insert_verifier(store, secrets, key_file).await?;
        return Ok(true);
    };
    if !store
        .replace_key_verifier(previous, seal_verifier(secrets))
        .await?
    {
        bail!(
            "the database's key verifier changed while this command ran, so another Pons \
             command stored or replaced it; run this command again"
        );
    }
    Ok(true)
}

/// Stores this key's verifier unless another instance has stored one
/// meanwhile, then reads the stored one back and checks that it is this
/// key's. Of two instances that start at once with different keys, one
/// stores its verifier and the other fails here. With the same key, the
/// second one's insert changes nothing and its check passes.
async fn insert_verifier(
    store: &DynStore,
    secrets: &SecretBox,
    key_file: &KeyFile,
) -> anyhow::Result<()> {
    store.insert_key_verifier(seal_verifier(secrets)).await?;
    match store.key_verifier().await? {
        Some(sealed) if opens_verifier(secrets, &sealed) => {
            tracing::info!(
                key_file = %key_file.display(),
                "stored the encryption key verifier, so the database rejects every other key \
                 from now on"
            );
            Ok(())
        }
        Some(_) => Err(verifier_mismatch(key_file)),
        None => bail!(
            "the encryption key verifier is missing right after it was stored; run the command again"
        ),
    }
}

/// Returns the accounts whose access token or app secret `secrets` cannot
/// decrypt, in the order of `list_accounts`. Without this check a server
/// with the wrong key reports ready and then fails every webhook and send,
/// and admin commands store new secrets under a second key. It reads all
/// accounts in two queries and decrypts two short secrets per account.
pub async fn undecryptable_accounts(
    store: &DynStore,
    secrets: &SecretBox,
) -> anyhow::Result<Vec<Undecryptable>> {
    let phone_number_ids: Vec<String> = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|account| account.phone_number_id)
        .collect();
    let stored = store
        .accounts_by_phone_number_ids(&phone_number_ids)
        .await?;
    let mut undecryptable = Vec::new();
    for stored in stored {
        let secret = if secrets.decrypt(&stored.access_token_encrypted).is_err() {
            "access token"
        } else if secrets.decrypt(&stored.app_secret_encrypted).is_err() {
            "app secret"
        } else {
            continue;
        };
        undecryptable.push(Undecryptable {
            account: stored.account,
            secret,
        });
    }
    Ok(undecryptable)
}

/// Names an account as errors show it: `"Shop" (+15550001111, id ID)`.
fn describe(account: &Account) -> String {
    format!(
        "\"{}\" (+{}, id {})",
        account.name, account.phone_number, account.id
    )
}

/// Lists `accounts` for an error, each as [`describe`] names it.
pub(crate) fn describe_all<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> String {
    accounts
        .into_iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells how to store again the credentials of `accounts`, whose key is
/// lost, for the end of an error. One account needs no `--key-lost`,
/// because no other account is left under the lost key.
pub(crate) fn recovery_steps(accounts: &[&Account]) -> String {
    match accounts {
        [account] => format!(
            "store the account's credentials again with `pons account set-credentials \
             --account +{} --key-lost --access-token-file PATH --app-secret-file PATH`, which \
             stores them under the configured key file, creating it when it is missing, and \
             makes that key the database's key",
            account.phone_number
        ),
        _ => format!(
            "store the credentials of each of these accounts again, one command per account: \
             `pons account set-credentials --account PHONE --key-lost --access-token-file PATH \
             --app-secret-file PATH` with PHONE {}. The first command creates the configured \
             key file when it is missing, and the last one makes that key the database's key",
            phone_list(accounts)
        ),
    }
}

/// Lists the phone numbers of `accounts`: `+1555…, +1555…`.
fn phone_list(accounts: &[&Account]) -> String {
    accounts
        .iter()
        .map(|account| format!("+{}", account.phone_number))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds the error for a key that cannot decrypt the secrets of the
/// accounts in `undecryptable`, which must not be empty.
fn wrong_key(key_file: &KeyFile, undecryptable: &[Undecryptable]) -> anyhow::Error {
    let accounts: Vec<&Account> = undecryptable.iter().map(|u| &u.account).collect();
    let failed = undecryptable
        .iter()
        .map(|u| format!("the {} of account {}", u.secret, describe(&u.account)))
        .collect::<Vec<_>>()
        .join(", ");
    let (whose, when) = if accounts.len() == 1 {
        ("the account's", "the account was")
    } else {
        ("these accounts'", "they were")
    };
    anyhow!(
        "encryption key file {} cannot decrypt {failed}, so it is not the key {whose} secrets \
         were stored with; restore the key file that was in use when {when} added, or {}. If \
         that key is lost, {}",
        key_file.display(),
        key_file.point_at_it(),
        recovery_steps(&accounts)
    )
}

/// Builds the error for replacing the secrets of `replaced` without
/// `--key-lost` while the accounts in `others` are under another key.
fn others_under_other_key(
    key_file: &KeyFile,
    replaced: Option<&Account>,
    others: &[&Undecryptable],
) -> anyhow::Error {
    let accounts: Vec<&Account> = others.iter().map(|u| &u.account).collect();
    let this = replaced.map_or_else(
        || "this account".to_owned(),
        |account| format!("+{}", account.phone_number),
    );
    anyhow!(
        "encryption key file {} cannot decrypt the secrets of {} other account(s): {}. Storing \
         the credentials of {this} under it would leave the database with accounts under two \
         keys. If the key of those accounts still exists, restore it or {} and run this \
         command again. If that key is lost, add \
         --key-lost to this command, then store the credentials of the other accounts again \
         the same way, one command per account: `pons account set-credentials --account PHONE \
         --key-lost --access-token-file PATH --app-secret-file PATH` with PHONE {}",
        key_file.display(),
        accounts.len(),
        describe_all(accounts.iter().copied()),
        key_file.point_at_it(),
        phone_list(&accounts)
    )
}

/// Builds the error for replacing the secrets of `replaced` under a key
/// that is not the database's, without `--key-lost`.
fn not_database_key(key_file: &KeyFile, replaced: Option<&Account>) -> anyhow::Error {
    let phone = replaced.map_or_else(|| "PHONE".to_owned(), |a| format!("+{}", a.phone_number));
    anyhow!(
        "encryption key file {} is not this database's key, so the credentials were not \
         stored. Every command must use the key file of the server, so {}. If the database's \
         key is lost, run `pons account set-credentials --account {phone} --key-lost \
         --access-token-file PATH --app-secret-file PATH`, which makes this key the database's \
         key",
        key_file.display(),
        key_file.point_at_it()
    )
}

/// Builds the error for a key that cannot decrypt the stored verifier.
fn verifier_mismatch(key_file: &KeyFile) -> anyhow::Error {
    anyhow::anyhow!(
        "encryption key file {} cannot decrypt the database's key verifier, so it is not the key \
         this database was first used with; restore the key file that was in use, or {}. If \
         that key is lost, make this key the database's key with `pons encryption-key adopt`; \
         every Pons instance on this database must then use this key file",
        key_file.display(),
        key_file.point_at_it()
    )
}
