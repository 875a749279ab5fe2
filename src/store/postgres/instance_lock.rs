//! An advisory lock on the PostgreSQL database that keeps a command which
//! changes the encryption key from running while a `pons serve` uses the
//! database, on this machine or another. The lock file of the data
//! directory covers only processes on one machine that use one data
//! directory. Every server takes the lock shared, on a connection of its
//! own, for as long as it runs. `pons encryption-key adopt` and a
//! `pons account set-credentials` that moves the key take it exclusively.
//! PostgreSQL releases it when the connection ends, however it ends.
//!
//! A server checks its lock connection every few seconds and takes the
//! lock again on a new connection when the old one broke, such as when
//! PostgreSQL restarted. Then it compares the database's key verifier
//! with the one it started with, and logs an error when a command changed
//! the key in between.
//!
//! NOTE: between a broken lock connection and the next check, a key change
//! can run. The server then keeps the old key and logs an error, and
//! webhooks whose secrets it cannot decrypt get 503 until it restarts.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::log_throttle::LogThrottle;

/// How often a server checks its lock connection.
const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// At most one log line per this interval while the lock cannot be taken again.
const LOST_LOG_INTERVAL: Duration = Duration::from_secs(60);

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

/// The shared lock of a running server, kept by a task that checks its
/// connection and takes the lock again when the connection broke.
#[must_use = "the lock is released when it is dropped"]
pub struct ServerLock {
    holder: Arc<Mutex<Holder>>,
    keeper: JoinHandle<()>,
}

/// The state the keeper task and [`ServerLock::check`] share.
struct Holder {
    url: String,
    /// The connection that holds the lock, or `None` after it broke.
    connection: Option<PgConnection>,
    /// The key verifier stored when the server took the lock first, if
    /// one was.
    verifier: Option<Vec<u8>>,
    /// Whether a key change was already reported, so it is logged once.
    key_change_reported: bool,
    lost_log: LogThrottle,
}

/// The result of a check of a server's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockCheck {
    /// The lock connection is alive.
    Held,
    /// The connection had broken, and the lock is taken again on a new one.
    TakenAgain,
    /// The lock is taken again, but the database's key verifier differs
    /// from the one the server started with: a command changed the key.
    TakenAgainAfterKeyChange,
    /// The lock is not held, for the reason given.
    Lost(String),
}

/// Takes the shared lock of a `pons serve` on the database at `url`, and
/// keeps it for as long as the returned value lives. Fails while a command
/// that changes the encryption key has taken it.
pub async fn lock_for_server(url: &str) -> anyhow::Result<ServerLock> {
    let mut connection = connect(url).await?;
    if !try_lock(&mut connection, Mode::Shared).await? {
        bail!(
            "an admin command is changing the encryption key of this PostgreSQL database; wait \
             for it to finish, then start the server again"
        );
    }
    let verifier = key_verifier(&mut connection).await?;
    let holder = Arc::new(Mutex::new(Holder {
        url: url.to_owned(),
        connection: Some(connection),
        verifier,
        key_change_reported: false,
        lost_log: LogThrottle::new(LOST_LOG_INTERVAL),
    }));
    let keeper = tokio::spawn(keep(holder.clone()));
    Ok(ServerLock { holder, keeper })
}

/// Checks the lock every [`CHECK_INTERVAL`] until the task is aborted.
async fn keep(holder: Arc<Mutex<Holder>>) {
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        holder.lock().await.check().await;
    }
}

impl ServerLock {
    /// Checks the lock connection now, as the keeper task does every few
    /// seconds, and takes the lock again when the connection broke.
    pub async fn check(&self) -> LockCheck {
        self.holder.lock().await.check().await
    }

    /// Releases the lock at once by closing its connection.
    pub async fn release(self) {
        self.keeper.abort();
        let connection = self.holder.lock().await.connection.take();
        if let Some(connection) = connection {
            connection.close().await.ok();
        }
    }
}

impl Drop for ServerLock {
    /// Stops the keeper task, which drops the connection and with it the lock.
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

impl Holder {
    async fn check(&mut self) -> LockCheck {
        if let Some(connection) = self.connection.as_mut() {
            match connection.ping().await {
                Ok(()) => return LockCheck::Held,
                Err(error) => {
                    tracing::warn!(
                        %error,
                        "the connection that holds this server's PostgreSQL lock broke; taking \
                         the lock again on a new connection"
                    );
                    self.connection = None;
                }
            }
        }
        match self.take_again().await {
            Ok(check) => check,
            Err(error) => {
                let reason = format!("{error:#}");
                if let Some(left_out) = self.lost_log.due(Instant::now()) {
                    tracing::error!(
                        error = %reason,
                        similar_before = left_out,
                        "this server holds no PostgreSQL lock, so a command that changes the \
                         encryption key could run meanwhile; retrying every {} s",
                        CHECK_INTERVAL.as_secs()
                    );
                }
                LockCheck::Lost(reason)
            }
        }
    }

    /// Connects, takes the shared lock and compares the key verifier with
    /// the one the server started with.
    async fn take_again(&mut self) -> anyhow::Result<LockCheck> {
        let mut connection = connect(&self.url).await?;
        if !try_lock(&mut connection, Mode::Shared).await? {
            bail!(
                "the lock is taken by an admin command that changes the encryption key; the \
                 server takes it again once the command ends"
            );
        }
        let verifier = key_verifier(&mut connection).await?;
        self.connection = Some(connection);
        // A verifier stored after the start (the first account's) is no change.
        if self.verifier.is_none() || verifier == self.verifier {
            tracing::info!("this server's PostgreSQL lock is taken again");
            return Ok(LockCheck::TakenAgain);
        }
        if !self.key_change_reported {
            self.key_change_reported = true;
            tracing::error!(
                "the encryption key of this PostgreSQL database changed while this server held \
                 no lock; this server still uses the key it started with, so webhooks of \
                 accounts under the new key get 503. Restart the server with the database's \
                 key (PONS_ENCRYPTION_KEY_FILE)"
            );
        }
        Ok(LockCheck::TakenAgainAfterKeyChange)
    }
}

/// Reads the stored key verifier, `None` when none is stored.
async fn key_verifier(connection: &mut PgConnection) -> anyhow::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT sealed FROM encryption_key_verifier WHERE id = 1")
        .fetch_optional(connection)
        .await
        .context("reading the encryption key verifier of the PostgreSQL database failed")
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
