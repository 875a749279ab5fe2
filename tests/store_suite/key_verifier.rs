//! The encryption key verifier: stored by the first key used with a
//! database, and checked against every later key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use pons::config::{KeyFile, KeyFileChoice};
use pons::crypto::SecretBox;
use pons::key_check::{KeyCheck, adopt_key, check_key, opens_verifier, undecryptable_accounts};
use pons::store::{AccountId, DynStore, NewUser};

use super::new_account;

/// The key file that errors name; the checks never read it.
const KEY_FILE: &str = "/data/encryption.key";

/// Returns [`KEY_FILE`] as the default key file in the data directory.
fn key_file() -> KeyFile {
    KeyFile::new(KEY_FILE, KeyFileChoice::Default)
}

/// Builds a cipher whose 32-byte key is `byte` repeated.
fn key(byte: u8) -> SecretBox {
    SecretBox::from_base64(&BASE64.encode([byte; 32]), "test key").expect("valid key")
}

async fn check(store: &DynStore, secrets: &SecretBox) -> anyhow::Result<()> {
    check_key(store, secrets, &key_file(), KeyCheck::Full).await
}

async fn stored_verifier(store: &DynStore) -> Option<Vec<u8>> {
    store.key_verifier().await.expect("read key verifier")
}

/// Adds an account `tag` whose secrets are encrypted with `secrets`.
async fn account_under(store: &DynStore, secrets: &SecretBox, tag: &str) -> AccountId {
    let owner = store
        .create_user(NewUser {
            email: format!("owner-{tag}@example.com"),
            password_hash: None,
        })
        .await
        .expect("create user");
    let mut account = new_account(&owner, tag);
    account.access_token_encrypted = secrets.encrypt(b"access-token");
    account.app_secret_encrypted = secrets.encrypt(b"app-secret");
    store
        .create_account(account)
        .await
        .expect("create account")
        .id
}

/// Checks that `error` is the rejection of a key by the key verifier.
fn assert_verifier_rejection(error: &anyhow::Error) {
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!("encryption key file {KEY_FILE}")),
        "{message}"
    );
    assert!(
        message.contains("cannot decrypt the database's key verifier"),
        "{message}"
    );
    assert!(message.contains("restore the key file"), "{message}");
    assert!(message.contains("PONS_ENCRYPTION_KEY_FILE"), "{message}");
    assert!(message.contains("pons encryption-key adopt"), "{message}");
}

pub async fn key_verifier_insert_keeps_first(store: DynStore) {
    assert_eq!(stored_verifier(&store).await, None);

    store
        .insert_key_verifier(b"first".to_vec())
        .await
        .expect("insert first");
    store
        .insert_key_verifier(b"second".to_vec())
        .await
        .expect("insert second");
    assert_eq!(
        stored_verifier(&store).await.as_deref(),
        Some(&b"first"[..])
    );

    let replaced = store
        .replace_key_verifier(b"second".to_vec(), b"third".to_vec())
        .await
        .expect("replace other");
    assert!(
        !replaced,
        "a verifier other than the stored one is not replaced"
    );
    assert_eq!(
        stored_verifier(&store).await.as_deref(),
        Some(&b"first"[..])
    );

    let replaced = store
        .replace_key_verifier(b"first".to_vec(), b"third".to_vec())
        .await
        .expect("replace stored");
    assert!(replaced);
    assert_eq!(
        stored_verifier(&store).await.as_deref(),
        Some(&b"third"[..])
    );
}

pub async fn key_verifier_written_on_first_use(store: DynStore) {
    let secrets = key(1);

    check(&store, &secrets).await.expect("first key accepted");

    let sealed = stored_verifier(&store).await.expect("verifier stored");
    assert!(opens_verifier(&secrets, &sealed));
    assert!(!opens_verifier(&key(2), &sealed));
    let label = b"verifier";
    assert!(
        !sealed.windows(label.len()).any(|window| window == label),
        "the verifier is stored encrypted"
    );
}

pub async fn key_verifier_same_key_accepted(store: DynStore) {
    let secrets = key(1);
    check(&store, &secrets).await.expect("first use");
    let first = stored_verifier(&store).await;

    check(&store, &secrets).await.expect("second use");
    check(&store, &key(1)).await.expect("same key loaded again");

    assert_eq!(stored_verifier(&store).await, first, "verifier unchanged");
}

pub async fn key_verifier_other_key_rejected(store: DynStore) {
    check(&store, &key(1)).await.expect("first use");
    let first = stored_verifier(&store).await;

    let error = check(&store, &key(2))
        .await
        .expect_err("another key on an empty database");

    assert_verifier_rejection(&error);
    assert_eq!(stored_verifier(&store).await, first, "verifier unchanged");
    check(&store, &key(1))
        .await
        .expect("first key still accepted");
}

pub async fn key_verifier_adopted_for_old_database(store: DynStore) {
    let secrets = key(1);
    account_under(&store, &secrets, "old-db").await;
    assert_eq!(stored_verifier(&store).await, None);

    let error = check(&store, &key(2))
        .await
        .expect_err("a key that cannot decrypt the account");
    let message = format!("{error:#}");
    assert!(message.contains("Account old-db"), "{message}");
    assert_eq!(
        stored_verifier(&store).await,
        None,
        "a rejected key stores no verifier"
    );

    check(&store, &secrets).await.expect("the account's key");
    let sealed = stored_verifier(&store).await.expect("verifier stored");
    assert!(opens_verifier(&secrets, &sealed));
}

pub async fn key_verifier_concurrent_first_use(store: DynStore) {
    let (first, second) = (key(1), key(2));

    let (a, b) = tokio::join!(check(&store, &first), check(&store, &second));

    assert!(a.is_ok() != b.is_ok(), "exactly one key wins: {a:?} {b:?}");
    let winner = if a.is_ok() { &first } else { &second };
    let loser = a.err().or(b.err()).expect("one key rejected");
    assert_verifier_rejection(&loser);
    let sealed = stored_verifier(&store).await.expect("verifier stored");
    assert!(opens_verifier(winner, &sealed));
}

pub async fn key_verifier_adopt_replaces_lost_key(store: DynStore) {
    let (lost, new) = (key(1), key(2));
    check(&store, &lost).await.expect("first use");

    let adopted = adopt_key(&store, &new, &key_file())
        .await
        .expect("adopt on an empty database");

    assert!(adopted);
    check(&store, &new).await.expect("new key accepted");
    let error = check(&store, &lost).await.expect_err("lost key rejected");
    assert_verifier_rejection(&error);
    let again = adopt_key(&store, &new, &key_file())
        .await
        .expect("adopt again");
    assert!(!again, "the verifier is the new key's already");
}

pub async fn key_verifier_adopt_needs_every_account(store: DynStore) {
    let (first, other) = (key(1), key(2));
    account_under(&store, &first, "kept").await;
    check(&store, &first).await.expect("first use");
    let stored = stored_verifier(&store).await;

    let error = adopt_key(&store, &other, &key_file())
        .await
        .expect_err("an account is under the first key");

    let message = format!("{error:#}");
    assert!(message.contains("Account kept"), "{message}");
    assert_eq!(stored_verifier(&store).await, stored, "verifier unchanged");
}

pub async fn key_verifier_follows_replaced_secrets(store: DynStore) {
    let (lost, new) = (key(1), key(2));
    let only = account_under(&store, &lost, "only").await;
    check(&store, &lost).await.expect("first use");
    let stored = stored_verifier(&store).await;

    let without_flag = KeyCheck::Replacing {
        account: &only,
        key_lost: false,
    };
    let error = check_key(&store, &new, &key_file(), without_flag)
        .await
        .expect_err("a key that is not the database's needs --key-lost");
    let message = format!("{error:#}");
    assert!(message.contains("is not this database's key"), "{message}");
    assert!(message.contains("--key-lost"), "{message}");
    let replacing = KeyCheck::Replacing {
        account: &only,
        key_lost: true,
    };
    check_key(&store, &new, &key_file(), replacing)
        .await
        .expect("the replaced account and the verifier are left out");
    assert_eq!(stored_verifier(&store).await, stored, "verifier unchanged");

    store
        .update_account_secrets(
            &only,
            Some(new.encrypt(b"new-token")),
            Some(new.encrypt(b"new-secret")),
        )
        .await
        .expect("replace secrets");
    let adopted = adopt_key(&store, &new, &key_file())
        .await
        .expect("adopt after the secrets moved");

    assert!(adopted);
    check(&store, &new).await.expect("new key accepted");
    assert!(check(&store, &lost).await.is_err(), "lost key rejected");
}

pub async fn key_verifier_kept_for_other_accounts(store: DynStore) {
    let (first, other) = (key(1), key(2));
    let replaced = account_under(&store, &first, "replaced").await;
    account_under(&store, &first, "other").await;
    check(&store, &first).await.expect("first use");
    let stored = stored_verifier(&store).await;

    let replacing = KeyCheck::Replacing {
        account: &replaced,
        key_lost: false,
    };
    let error = check_key(&store, &other, &key_file(), replacing)
        .await
        .expect_err("another account is under the first key");

    let message = format!("{error:#}");
    assert!(message.contains("Account other"), "{message}");
    assert!(message.contains("--key-lost"), "{message}");
    assert_eq!(stored_verifier(&store).await, stored, "verifier unchanged");
}

/// Checks a key with [`KeyCheck::NoSecrets`], as the commands that store
/// no secret do.
async fn check_no_secrets(store: &DynStore, secrets: &SecretBox) -> anyhow::Result<()> {
    check_key(store, secrets, &key_file(), KeyCheck::NoSecrets).await
}

pub async fn key_verifier_not_stored_without_secrets(store: DynStore) {
    check_no_secrets(&store, &key(1))
        .await
        .expect("any key on a new database");
    assert_eq!(
        stored_verifier(&store).await,
        None,
        "a command that stores no secret stores no verifier"
    );

    check(&store, &key(2)).await.expect("first key that stores");
    let error = check_no_secrets(&store, &key(1))
        .await
        .expect_err("a key other than the stored verifier's");
    assert_verifier_rejection(&error);
    check_no_secrets(&store, &key(2))
        .await
        .expect("the verifier's key");
}

pub async fn key_verifier_no_secrets_checks_accounts(store: DynStore) {
    account_under(&store, &key(1), "kept").await;

    let error = check_no_secrets(&store, &key(2))
        .await
        .expect_err("a key that cannot decrypt the account");

    let message = format!("{error:#}");
    assert!(message.contains("Account kept"), "{message}");
    check_no_secrets(&store, &key(1))
        .await
        .expect("the account's key");
    assert_eq!(stored_verifier(&store).await, None, "no verifier stored");
}

/// Replaces both secrets of `account` with ones encrypted with `secrets`.
async fn store_again(store: &DynStore, secrets: &SecretBox, account: &AccountId) {
    store
        .update_account_secrets(
            account,
            Some(secrets.encrypt(b"new-token")),
            Some(secrets.encrypt(b"new-secret")),
        )
        .await
        .expect("replace secrets");
}

/// Returns the names of the accounts that `secrets` cannot decrypt.
async fn undecryptable_names(store: &DynStore, secrets: &SecretBox) -> Vec<String> {
    let mut names: Vec<String> = undecryptable_accounts(store, secrets)
        .await
        .expect("read accounts")
        .into_iter()
        .map(|undecryptable| undecryptable.account.name)
        .collect();
    names.sort();
    names
}

pub async fn key_verifier_key_lost_one_by_one(store: DynStore) {
    let (lost, new) = (key(1), key(2));
    let first = account_under(&store, &lost, "first").await;
    let second = account_under(&store, &lost, "second").await;
    let third = account_under(&store, &lost, "third").await;
    check(&store, &lost).await.expect("first use");
    let stored = stored_verifier(&store).await;
    let file = &key_file();
    let replacing = |account, key_lost| KeyCheck::Replacing { account, key_lost };

    let error = check_key(&store, &new, file, replacing(&first, false))
        .await
        .expect_err("other accounts are under the lost key");
    let message = format!("{error:#}");
    assert!(message.contains("Account second"), "{message}");
    assert!(message.contains("Account third"), "{message}");
    assert!(message.contains("--key-lost"), "{message}");

    check_key(&store, &new, file, replacing(&first, true))
        .await
        .expect("--key-lost allows the other accounts under the lost key");
    store_again(&store, &new, &first).await;
    assert_eq!(
        undecryptable_names(&store, &new).await,
        ["Account second", "Account third"]
    );
    let error = check(&store, &new)
        .await
        .expect_err("two accounts are still under the lost key");
    let message = format!("{error:#}");
    assert!(message.contains("Account second"), "{message}");
    assert!(message.contains("Account third"), "{message}");
    assert!(message.contains("--key-lost"), "{message}");
    assert!(
        adopt_key(&store, &new, file).await.is_err(),
        "the verifier stays while accounts are under the lost key"
    );
    assert_eq!(stored_verifier(&store).await, stored, "verifier unchanged");

    check_key(&store, &new, file, replacing(&second, true))
        .await
        .expect("second account with --key-lost");
    store_again(&store, &new, &second).await;
    check_key(&store, &new, file, replacing(&third, false))
        .await
        .expect_err("the last account needs --key-lost too, as the key is not the database's");
    check_key(&store, &new, file, replacing(&third, true))
        .await
        .expect("the last account with --key-lost");
    store_again(&store, &new, &third).await;
    assert!(undecryptable_names(&store, &new).await.is_empty());
    assert_eq!(stored_verifier(&store).await, stored, "verifier unchanged");

    assert!(adopt_key(&store, &new, file).await.expect("adopt"));
    check(&store, &new).await.expect("new key accepted");
    assert!(check(&store, &lost).await.is_err(), "lost key rejected");
}
