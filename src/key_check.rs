//! Checks that the encryption key is the one a database's account secrets
//! are stored with. Besides the secrets themselves, the database stores a
//! key verifier: [`VERIFIER_LABEL`] encrypted with the key the first time a
//! key is used with the database. The verifier catches another key even
//! before any account exists, so that two keys never store secrets in one
//! database.

use std::path::Path;

use anyhow::bail;

use crate::crypto::SecretBox;
use crate::store::{AccountId, DynStore};

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

/// Checks the key in `key_file` against the database before a command
/// uses it, and stores the key verifier when none is stored yet.
///
/// It rejects a key that cannot decrypt the secrets of an account other
/// than `replaced`, or that cannot decrypt the stored verifier. A database
/// without a verifier (a new one, or one from a release without verifiers)
/// gets one once every account's secrets decrypt. The verifier is not
/// checked or stored when `replaced` is given, because that account's
/// secrets may still be under a lost key. The caller runs [`adopt_key`]
/// after it has replaced them.
pub async fn check_key(
    store: &DynStore,
    secrets: &SecretBox,
    key_file: &Path,
    replaced: Option<&AccountId>,
) -> anyhow::Result<()> {
    reject_wrong_key(store, secrets, key_file, replaced).await?;
    if replaced.is_some() {
        return Ok(());
    }
    match store.key_verifier().await? {
        Some(sealed) if opens_verifier(secrets, &sealed) => Ok(()),
        Some(_) => Err(verifier_mismatch(key_file)),
        None => insert_verifier(store, secrets, key_file).await,
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
    key_file: &Path,
) -> anyhow::Result<bool> {
    let stored = store.key_verifier().await?;
    if is_verifier_of(secrets, stored.as_deref()) {
        return Ok(false);
    }
    reject_wrong_key(store, secrets, key_file, None).await?;
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
    key_file: &Path,
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

/// Rejects an encryption key that cannot decrypt the access token or app
/// secret of some account other than `replaced`. Without this check a
/// server with the wrong key reports ready and then fails every webhook
/// and send, and admin commands store new secrets under a second key.
/// It reads all accounts in two queries and decrypts two short secrets per
/// account.
async fn reject_wrong_key(
    store: &DynStore,
    secrets: &SecretBox,
    key_file: &std::path::Path,
    replaced: Option<&crate::store::AccountId>,
) -> anyhow::Result<()> {
    let phone_number_ids: Vec<String> = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|account| account.phone_number_id)
        .collect();
    let stored = store
        .accounts_by_phone_number_ids(&phone_number_ids)
        .await?;
    let checked = stored
        .iter()
        .filter(|stored| Some(&stored.account.id) != replaced);
    for stored in checked {
        let secret = if secrets.decrypt(&stored.access_token_encrypted).is_err() {
            "access token"
        } else if secrets.decrypt(&stored.app_secret_encrypted).is_err() {
            "app secret"
        } else {
            continue;
        };
        let account = &stored.account;
        anyhow::bail!(
            "encryption key file {} cannot decrypt the {secret} of account \"{}\" (+{}, id {}), \
             so it is not the key the account's secrets were stored with; restore the key file \
             that was in use when the account was added, or point PONS_ENCRYPTION_KEY_FILE at \
             it. If that key is lost, store the account's credentials again with \
             `pons account set-credentials --account +{} --access-token-file PATH \
             --app-secret-file PATH`",
            key_file.display(),
            account.name,
            account.phone_number,
            account.id,
            account.phone_number,
        );
    }
    Ok(())
}

/// Builds the error for a key that cannot decrypt the stored verifier.
fn verifier_mismatch(key_file: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "encryption key file {} cannot decrypt the database's key verifier, so it is not the key \
         this database was first used with; restore the key file that was in use, or point \
         PONS_ENCRYPTION_KEY_FILE at it. If that key is lost, make this key the database's key \
         with `pons encryption-key adopt`; every Pons instance on this database must then use \
         this key file",
        key_file.display()
    )
}
