//! An advisory lock on the PostgreSQL database that keeps a command which
//! changes the encryption key from running while a `pons serve` uses the
//! database, on this machine or another. The lock file of the data
//! directory covers only processes on one machine that use one data
//! directory. Every server takes the lock shared, on a connection of its
//! own, for as long as it runs. `pons encryption-key adopt` and a
//! `pons account set-credentials` that moves the key take it exclusively.
//! PostgreSQL releases it when the connection ends, however it ends.
//!
//! NOTE: a server whose lock connection broke (a PostgreSQL restart) has
//! no lock until it restarts.

use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

/// The advisory lock's key, the bytes of "PonsKey!". Advisory locks belong
/// to one database, so other databases on the server do not share it.
const KEY_CHANGE_LOCK: i64 = 0x506f_6e73_4b65_7921;

/// The lock of one process, held until it is dropped or released.
#[must_use = "the lock is released when it is dropped"]
pub struct DatabaseLock {
    connection: PgConnection,
}

impl DatabaseLock {
    /// Releases the lock at once by closing its connection.
    pub async fn release(self) {
        self.connection.close().await.ok();
    }
}

/// Takes the shared lock of a `pons serve` on the database at `url`. Fails
/// while a command that changes the encryption key has taken it.
pub async fn lock_for_server(url: &str) -> anyhow::Result<DatabaseLock> {
    let mut connection = connect(url).await?;
    if !try_lock(&mut connection, Mode::Shared).await? {
        bail!(
            "an admin command is changing the encryption key of this PostgreSQL database; wait \
             for it to finish, then start the server again"
        );
    }
    Ok(DatabaseLock { connection })
}

/// Takes the exclusive lock of `command`, which changes the encryption key
/// the database accepts. Fails while a `pons serve` on any machine, or
/// another such command, uses the database at `url`.
pub async fn lock_for_key_change(url: &str, command: &str) -> anyhow::Result<DatabaseLock> {
    let mut connection = connect(url).await?;
    if !try_lock(&mut connection, Mode::Exclusive).await? {
        bail!(
            "a `pons serve` is using this PostgreSQL database, on this machine or another, and it \
             would keep the old encryption key while `{command}` changes the key the database \
             accepts (or another command that changes the key is running); stop every server \
             that uses the database first, then run `{command}` again"
        );
    }
    Ok(DatabaseLock { connection })
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    let options = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
    options.connect().await.with_context(|| {
        format!(
            "failed to connect to PostgreSQL at {}:{} to take the encryption key lock",
            options.get_host(),
            options.get_port()
        )
    })
}

/// The kind of lock a process takes.
enum Mode {
    Shared,
    Exclusive,
}

/// Tries to take the lock in `mode` and returns whether it did.
async fn try_lock(connection: &mut PgConnection, mode: Mode) -> anyhow::Result<bool> {
    let query = match mode {
        Mode::Shared => sqlx::query_scalar("SELECT pg_try_advisory_lock_shared($1)"),
        Mode::Exclusive => sqlx::query_scalar("SELECT pg_try_advisory_lock($1)"),
    };
    query
        .bind(KEY_CHANGE_LOCK)
        .fetch_one(connection)
        .await
        .context("taking the encryption key lock of the PostgreSQL database failed")
}
