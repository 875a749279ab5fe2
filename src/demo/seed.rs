//! Seeding of the demo database: the demo user, the sandbox number with
//! the stand-in's credentials, the first conversations, and a new API key
//! on every run that replaces the previous run's key. An existing demo
//! database is reused as it is.

use std::path::Path;

use anyhow::{Context, bail};
use rand::RngCore;
use rusqlite::Connection;

use super::customers;
use crate::apikey;
use crate::crypto::SecretBox;
use crate::echo::echoed;
use crate::metasim::{MetaSim, MetaSimConfig};
use crate::seeded_data::{self, SeededIdentity};
use crate::store::{Account, ArchiveFilter, DynStore, NewAccount, NewApiKey, NewUser, Role, User};

/// Email of the user the demo creates.
pub const DEMO_EMAIL: &str = "demo@pons.local";
/// Name of the sandbox number inside Pons.
const ACCOUNT_NAME: &str = "Demo Shop";
/// Start of the name of every key the demo creates. The creation time in
/// [`KEY_CREATED_FORMAT`] follows it.
const KEY_NAME_PREFIX: &str = "pons demo ";
/// `chrono` format of the creation time in a demo key's name.
const KEY_CREATED_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Seconds a customer's message keeps the 24-hour window open.
const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// The demo user and the sandbox account they own.
pub(super) struct Sandbox {
    pub user: User,
    pub account: Account,
}

/// Finds or creates the demo user.
async fn demo_user(store: &DynStore) -> anyhow::Result<User> {
    if let Some(user) = store.find_user_by_email(DEMO_EMAIL).await? {
        return Ok(user);
    }
    let user = NewUser {
        email: DEMO_EMAIL.to_owned(),
        password_hash: None,
    };
    store
        .create_user(user)
        .await
        .context("cannot create the demo user")
}

/// Creates the database at `database_url` with the demo user in it,
/// before the server creates the encryption key. The demo user marks the
/// database as the demo's, so that [`reject_foreign_database`] accepts the
/// key file of a demo that stopped before it created the sandbox account.
pub(super) async fn mark_database(database_url: &str) -> anyhow::Result<()> {
    let store = crate::store::connect(database_url).await?;
    demo_user(&store).await?;
    Ok(())
}

/// Finds or creates the demo user and the sandbox account.
pub(super) async fn sandbox(
    store: &DynStore,
    secrets: &SecretBox,
    sim: &MetaSimConfig,
) -> anyhow::Result<Sandbox> {
    let user = demo_user(store).await?;
    let account = match store.find_account(&sim.display_phone_number).await? {
        Some(account) => account,
        None => store
            .create_account(new_account(sim, secrets, &user))
            .await
            .context("cannot create the sandbox account")?,
    };
    store
        .upsert_member(&account.id, &user.id, Role::Owner)
        .await?;
    Ok(Sandbox { user, account })
}

/// Tells whether SQLite refused a read-only connection because the database
/// has a hot journal, which only a writer can roll back.
fn is_unfinished_write(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK
    )
}

/// Rejects a data directory whose database contains an account, a user or
/// an API key that the demo did not create. The demo would add its user, a
/// key with every scope and its messages to that database, and run its
/// accounts' jobs against the sandbox. It also rejects an encryption key
/// file next to a database without an account and without the demo user,
/// which [`mark_database`] stores before the demo's key exists. The
/// database is opened read-only and not migrated, so a rejected directory
/// stays as it was. A missing database, or one without the tables and
/// without a key file next to it, passes.
pub(super) fn reject_foreign_database(data_dir: &Path, sim: &MetaSimConfig) -> anyhow::Result<()> {
    let path = data_dir.join(super::DATABASE_FILE_NAME);
    if !path.exists() {
        return Ok(());
    }
    crate::store::sqlite::reject_non_file(&path)?;
    let own = SeededIdentity {
        email: DEMO_EMAIL,
        account_name: ACCOUNT_NAME,
        waba_id: &sim.waba_id,
        phone_number_id: &sim.phone_number_id,
        phone_number: &sim.display_phone_number,
    };
    let (foreign, marked, demo_user) = seeded_data::open_read_only(&path)
        .and_then(|conn| {
            Ok((
                seeded_data::find_foreign_data(&conn, &own)?,
                is_marked(&conn)?,
                has_demo_user(&conn)?,
            ))
        })
        .map_err(|error| {
            if is_unfinished_write(&error) {
                return anyhow::anyhow!(
                    "the database {} has an unfinished write, with its journal {}-journal \
                     beside it, as when a demo is stopped while it creates its database; \
                     delete the data directory {} to start the demo over",
                    path.display(),
                    path.display(),
                    data_dir.display()
                );
            }
            anyhow::Error::new(error).context(format!(
                "cannot read the database {} to check that it belongs to pons demo",
                path.display()
            ))
        })?;
    // The demo user is in every database a demo created, so a rejected
    // one with it is a demo's directory that an admin command added to.
    let demo_fix = demo_user.then(|| {
        format!(
            "a demo created this database (it contains the demo user {DEMO_EMAIL}), so to \
             start the demo over, delete the folder {} with all its data, or give the demo \
             another directory with --data-dir or PONS_DATA_DIR",
            data_dir.display()
        )
    });
    if let Some(accounts) = foreign.accounts {
        let fix = demo_fix.unwrap_or_else(|| {
            "unset PONS_DATA_DIR, or pass --data-dir with a new directory".to_owned()
        });
        bail!(
            "data directory {} contains a Pons database with {} account(s) that pons demo \
             did not create (such as \"{}\", +{}), and the demo never uses a \
             real data directory; {fix}",
            data_dir.display(),
            accounts.count,
            accounts.name,
            accounts.phone_number
        );
    }
    if let Some(users) = foreign.users {
        let example = match &users.example {
            Some(email) => format!("the user \"{}\"", echoed(email)),
            None => "API keys of a deleted user".to_owned(),
        };
        let fix = demo_fix.unwrap_or_else(|| {
            "give the demo its own directory with --data-dir or PONS_DATA_DIR".to_owned()
        });
        bail!(
            "data directory {} contains a Pons database with {} user(s) and {} API key(s) that \
             pons demo did not create (such as {example}), so it belongs to a Pons server, and \
             the demo never uses a server's data; {fix}",
            data_dir.display(),
            users.users,
            users.keys,
        );
    }
    let key_file = data_dir.join(crate::crypto::KEY_FILE_NAME);
    if !marked && std::fs::symlink_metadata(&key_file).is_ok() {
        bail!(
            "data directory {} contains the encryption key file {} and a database {} with no \
             account and no demo user, so the key belongs to a Pons server whose data is \
             elsewhere (PONS_DATABASE_URL). The demo never uses a server's key; give the demo \
             its own directory with --data-dir or PONS_DATA_DIR",
            data_dir.display(),
            key_file.display(),
            path.display()
        );
    }
    Ok(())
}

/// Tells whether the database contains the demo user.
fn has_demo_user(conn: &Connection) -> rusqlite::Result<bool> {
    if !seeded_data::has_tables(conn, &["users"])? {
        return Ok(false);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(?1))",
        [DEMO_EMAIL],
        |row| row.get(0),
    )
}

/// Tells whether the database contains an account or the demo user, each
/// of which only the demo stores once [`reject_foreign_database`] passed.
fn is_marked(conn: &Connection) -> rusqlite::Result<bool> {
    if !seeded_data::has_tables(conn, &["accounts", "users"])? {
        return Ok(false);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts) \
         OR EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(?1))",
        [DEMO_EMAIL],
        |row| row.get(0),
    )
}

fn new_account(sim: &MetaSimConfig, secrets: &SecretBox, owner: &User) -> NewAccount {
    let mut verify_token = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut verify_token);
    NewAccount {
        name: ACCOUNT_NAME.to_owned(),
        waba_id: sim.waba_id.clone(),
        phone_number_id: sim.phone_number_id.clone(),
        phone_number: sim.display_phone_number.clone(),
        display_name: Some(ACCOUNT_NAME.to_owned()),
        access_token_encrypted: secrets.encrypt(sim.access_token.as_bytes()),
        app_secret_encrypted: secrets.encrypt(sim.app_secret.as_bytes()),
        verify_token: hex::encode(verify_token),
        owner: owner.id.clone(),
    }
}

/// Sends the first conversations through the stand-in on a new database,
/// and returns how many media downloads they started. On an existing one,
/// sets in the new stand-in when each customer last wrote, so its 24-hour
/// window matches the stored one.
pub(super) async fn conversations(
    store: &DynStore,
    sandbox: &Sandbox,
    sim: &MetaSim,
) -> anyhow::Result<usize> {
    let accounts = [sandbox.account.id.clone()];
    let existing = store
        .list_conversations(&accounts, ArchiveFilter::Any, None, 1000)
        .await?;
    if existing.is_empty() {
        return customers::send_history(sim).await;
    }
    let now = chrono::Utc::now().timestamp();
    for conversation in existing {
        let Some(expires_at) = conversation.window_expires_at else {
            continue;
        };
        if expires_at > now {
            let seconds_ago = WINDOW_SECONDS - (expires_at - now);
            sim.set_last_inbound(&conversation.wa_id, seconds_ago.max(0) as u64);
        }
    }
    Ok(0)
}

/// Revokes the demo user's earlier demo keys, then creates a key with every
/// scope for them and returns its text. Only the latest start's key works.
pub(super) async fn api_key(store: &DynStore, user: &User) -> anyhow::Result<String> {
    revoke_demo_keys(store, user).await?;
    let key = apikey::generate();
    let created = chrono::Utc::now().format(KEY_CREATED_FORMAT);
    store
        .create_api_key(NewApiKey {
            user_id: user.id.clone(),
            name: format!("{KEY_NAME_PREFIX}{created}"),
            key_hash: key.hash,
            prefix: key.prefix,
            scopes: vec!["read".into(), "write".into(), "send".into()],
            expires_at: None,
            accounts: Vec::new(),
        })
        .await
        .context("cannot create the demo API key")?;
    Ok(key.text)
}

/// Revokes the demo user's unrevoked keys that the demo created. Keys
/// created with `pons key create` keep working unless they carry a demo
/// key's exact name.
async fn revoke_demo_keys(store: &DynStore, user: &User) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let keys = store.list_api_keys().await?;
    let earlier = keys.iter().filter(|key| {
        key.user_id == user.id && key.revoked_at.is_none() && is_demo_key_name(&key.name)
    });
    for key in earlier {
        store
            .revoke_api_key(key.id.as_str(), now)
            .await
            .with_context(|| format!("cannot revoke the earlier demo API key {}", key.prefix))?;
        tracing::info!(prefix = %key.prefix, "revoked the earlier demo API key");
    }
    Ok(())
}

/// Tells whether `name` is the name `api_key` gives: the prefix and a
/// creation time.
fn is_demo_key_name(name: &str) -> bool {
    name.strip_prefix(KEY_NAME_PREFIX).is_some_and(|created| {
        chrono::NaiveDateTime::parse_from_str(created, KEY_CREATED_FORMAT).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_key_names_are_recognised() {
        assert!(is_demo_key_name("pons demo 2025-03-01 12:30:05"));
        for other in [
            "pons demo",
            "pons demo ",
            "pons demo laptop",
            "Claude Desktop",
            "my pons demo 2025-03-01 12:30:05",
            "pons demo 2025-03-01 12:30:05 copy",
        ] {
            assert!(!is_demo_key_name(other), "{other:?}");
        }
    }

    /// Copies a database and its journal in the middle of a write, as a
    /// killed process leaves them, into `data_dir` as the demo's database.
    fn database_with_hot_journal(data_dir: &Path) {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("writing.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = DELETE; CREATE TABLE t (v BLOB); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
             INSERT INTO t SELECT randomblob(1000) FROM n;",
        )
        .unwrap();
        // A one-page cache makes the update write changed pages to the
        // database file, after their old content went to the journal.
        conn.execute_batch("PRAGMA cache_size = 1; BEGIN; UPDATE t SET v = randomblob(1000);")
            .unwrap();
        let journal = scratch.path().join("writing.db-journal");
        assert!(journal.exists(), "the write has a journal");
        std::fs::copy(&path, data_dir.join(super::super::DATABASE_FILE_NAME)).unwrap();
        std::fs::copy(&journal, data_dir.join("pons.db-journal")).unwrap();
        drop(conn);
    }

    #[test]
    fn unfinished_write_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        database_with_hot_journal(dir.path());

        let error = reject_foreign_database(dir.path(), &MetaSimConfig::default())
            .expect_err("a database with a hot journal cannot be checked");

        let message = format!("{error:#}");
        assert!(message.contains("unfinished write"), "{message}");
        assert!(message.contains("delete the data directory"), "{message}");
    }
}
