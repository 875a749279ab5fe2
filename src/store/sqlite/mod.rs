//! SQLite backend of the store: one writer thread with group commit and a
//! pool of read-only connections, over a single database file in WAL mode.

mod admin;
mod business_reactions;
mod conversations;
mod error;
mod events;
mod inbound;
mod index_merge;
mod ingest;
mod jobs;
mod key_verifier;
mod keys;
mod lists;
mod message_accounts;
mod migrate;
mod outbound;
mod readers;
mod reads;
mod reconcile;
mod rowid_slots;
mod rows;
mod score;
mod search;
mod sent;
mod status;
mod templates;
mod token_counts;
mod trait_impl;
mod updates;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use message_accounts::MessageAccounts;
use readers::ReaderPool;
use search::SearchIndexer;
use token_counts::TokenCounts;
use writer::Writer;

/// Read-only connections kept open for queries.
const READER_CONNECTIONS: usize = 4;
/// Prepared statements cached per connection. The ingest path alone
/// prepares about 20 distinct statements, more than rusqlite's default of 16.
const STATEMENT_CACHE_CAPACITY: usize = 128;
/// How long a statement waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The SQLite store, shared between tasks as `DynStore`.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReaderPool>,
    /// The account of each indexed message, for searches limited to some
    /// accounts.
    message_accounts: Arc<MessageAccounts>,
    /// The token counts search ranks with, for tests to compare with FTS5.
    #[cfg(test)]
    counts: Arc<TokenCounts>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories when missing) the
    /// database at `path`, applies pending migrations and starts the writer.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        reject_non_file(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private_fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {} failed", parent.display()))?;
        }
        // SQLite gives the -wal and -shm files the mode of the database file.
        // Another process may create the file first, which is fine.
        if !path.exists() {
            match crate::private_fs::create_new_file(path) {
                Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(error).with_context(|| {
                        format!("creating SQLite database {} failed", path.display())
                    });
                }
                // A symbolic link to a missing file: SQLite would create the
                // target with the umask's mode. A target it cannot create
                // gets SQLite's error below.
                Err(_) if std::fs::symlink_metadata(path).is_ok() => {
                    if let Ok(target) = std::fs::read_link(path) {
                        let target = path.parent().unwrap_or(Path::new("")).join(target);
                        crate::private_fs::create_new_file(&target).ok();
                    }
                }
                _ => {}
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|error| {
            // SQLite reports a file or folder that it may not open as code 14
            // and no more.
            let hint = match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::CannotOpen) => {
                    "; check that the folder exists and that the user that runs Pons may read \
                     and write it and the file"
                }
                _ => "",
            };
            anyhow::Error::new(error).context(format!(
                "opening SQLite database {} failed{hint}",
                path.display()
            ))
        })?;
        // Another process may be creating or migrating the same new file:
        // every step below waits for its lock instead of failing at once.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        reject_read_only(&conn, path)?;
        let counts = Arc::new(TokenCounts::new());
        let message_accounts = Arc::new(MessageAccounts::new());
        let prepare = |conn: &mut Connection| -> anyhow::Result<()> {
            migrate::reject_foreign(conn, path)?;
            configure_connection(conn, &counts)?;
            migrate::apply(conn)?;
            counts
                .load(conn)
                .context("reading the search index's token counts failed")?;
            message_accounts
                .load(conn)
                .context("reading the accounts of stored messages failed")
        };
        let mut attempt = 1;
        let prepared = loop {
            match prepare(&mut conn) {
                // While another process creates the same new file, SQLite
                // reports some lock conflicts at once instead of waiting,
                // where waiting could deadlock. Every step can run again.
                Err(error) if is_busy(&error) && attempt < BUSY_ATTEMPTS => {
                    std::thread::sleep(BUSY_PAUSE * attempt);
                    attempt += 1;
                }
                result => break result,
            }
        };
        prepared.map_err(|error| with_damage_hint(error, path))?;
        let readers = ReaderPool::open(path, READER_CONNECTIONS, &counts)?;
        let writes = index_merge::IndexWrites::default();
        let indexer = SearchIndexer::new(
            Arc::clone(&counts),
            Arc::clone(&message_accounts),
            writes.clone(),
        );
        let writer =
            Writer::start(conn, indexer).context("starting the SQLite writer thread failed")?;
        index_merge::start(writer.downgrade(), writes)
            .context("starting the search index merge thread failed")?;
        Ok(SqliteStore {
            writer,
            readers,
            message_accounts,
            #[cfg(test)]
            counts,
        })
    }
}

/// Attempts at preparing a new connection while SQLite reports a lock
/// conflict without waiting, and the growing pause between them.
const BUSY_ATTEMPTS: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Tells whether `error` comes from SQLite finding the database locked.
fn is_busy(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            == Some(rusqlite::ErrorCode::DatabaseBusy)
    })
}

/// Sets the pragmas every connection needs and registers the search
/// ranking function, which reads `counts`. SQLite keeps both per
/// connection, except `journal_mode`, which is stored in the file.
///
/// Automatic WAL checkpoints stay at SQLite's default of 1000 pages, so the
/// writer thread checkpoints after a commit that grows the WAL past that.
/// In `examples/sqlite_ingest` on a 2-core machine this took about 4% of
/// the writer thread's time, too little to justify a checkpoint thread.
fn configure_connection(conn: &Connection, counts: &Arc<TokenCounts>) -> anyhow::Result<()> {
    // Switching a new file to WAL takes an exclusive lock, which another
    // process opening the file at the same time may hold for a moment.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("SQLite did not switch to WAL journal mode (it reports {mode})");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Savepoint journals stay in memory instead of spilling to a temporary
    // file once a job has changed more than 64 KiB of pages.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Without the query planner stability guarantee, SQLite re-prepares
    // some cached statements (LEFT JOINs among them) whenever a parameter
    // is rebound, because it may plan by the bound values. None of the
    // store's queries needs a plan chosen by value, and re-preparing took
    // about a fifth of the writer thread's time in `examples/sqlite_ingest`.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    score::register(conn, Arc::clone(counts))?;
    Ok(())
}

/// Adds the file's path and the fix to an error that reports a damaged file
/// or a file that is no SQLite database. SQLite's own message names neither.
fn with_damage_hint(error: anyhow::Error, path: &Path) -> anyhow::Error {
    let damaged = error.chain().any(|cause| {
        cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| {
                matches!(
                    code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                )
            })
    });
    if !damaged {
        return error;
    }
    error.context(format!(
        "SQLite database {} is damaged or is no SQLite database; restore it from a backup, \
         or move it away to start with a new, empty database",
        path.display()
    ))
}

/// Fails when `conn` cannot write its database. SQLite opens a file that
/// the process may not write read-only, and every write would then fail
/// while reads and `/readyz` still work.
fn reject_read_only(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        bail!(
            "SQLite database {} is read-only for the user that runs Pons; make it and its \
             directory writable by that user (chmod u+w, or chown)",
            path.display()
        );
    }
    Ok(())
}

/// Rejects a database path that exists but is not a regular file, such as
/// a directory. SQLite reports such a path as "unable to open database
/// file" or as a disk I/O error, which names neither the path nor the cause.
pub fn reject_non_file(path: &Path) -> anyhow::Result<()> {
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(());
    };
    if metadata.is_file() {
        return Ok(());
    }
    let kind = if metadata.is_dir() {
        "a directory"
    } else {
        "a special file"
    };
    bail!(
        "SQLite database {} is {kind}, not a file; move it away so that Pons creates the \
         database there, or point --database-url (PONS_DATABASE_URL) or --data-dir \
         (PONS_DATA_DIR) at the database file or its data directory",
        path.display()
    )
}

/// Returns the file path in a `sqlite://PATH` or `sqlite:PATH` URL, or
/// `url` itself when it has no `sqlite:` scheme.
pub fn path_from_url(url: &str) -> anyhow::Result<PathBuf> {
    // A PostgreSQL URL with a typo, such as `postgres//user:password@host`,
    // would otherwise become a directory named after its password.
    if mistyped_postgres_url(url) {
        bail!(
            "database URL starts with \"postgres\" but is not a PostgreSQL URL; write it as \
             postgres://USER:PASSWORD@HOST/DB, with \"://\" after the scheme"
        );
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        bail!("database URL {url:?} has no file path; use sqlite://PATH or a file path");
    }
    if path.contains("://") {
        bail!(
            "database URL {:?} has an unsupported scheme; use sqlite://PATH, a file path, \
             or postgres://USER@HOST/DB",
            crate::echo::without_credentials(url)
        );
    }
    if path == ":memory:" || path.contains('?') {
        bail!(
            "database URL {:?} is not supported: use a plain file path, because the \
             writer and the readers open the same file",
            crate::echo::without_credentials(url)
        );
    }
    if let Some(problem) = unusable_path_problem(path) {
        bail!(
            "database URL {url:?} {problem}; use sqlite://PATH, sqlite:PATH or a file path, \
             where PATH names a file, such as sqlite://pons-data/pons.db"
        );
    }
    Ok(PathBuf::from(path))
}

/// Explains why `path`, taken from a SQLite database URL, cannot be the
/// database file, or returns `None` when it can.
fn unusable_path_problem(path: &str) -> Option<&'static str> {
    if path.trim().is_empty() {
        return Some("has a blank file path");
    }
    // sqlite3.h reserves names that start with ':' for special databases
    // such as ":memory:", and a file named so needs a "./" prefix. A URL
    // such as `sqlite::` would otherwise create a file named ":".
    if path.starts_with(':') {
        return Some(
            "has a file path that starts with ':', which SQLite reserves for special \
             databases such as :memory:",
        );
    }
    if path.ends_with('/') {
        return Some("has a path that ends in '/', which names a directory, not a file");
    }
    if path.to_ascii_lowercase().starts_with("sqlite:") {
        return Some("repeats the sqlite: scheme");
    }
    // rusqlite opens files with SQLITE_OPEN_URI, so SQLite reads a name
    // that starts with "file:" as a URI: `file:y.db` opens `y.db`, and a
    // query could set a mode or another file. The readers and the checks
    // of the file would then look at a file that is not the database.
    if path.starts_with("file:") {
        return Some(
            "has a file path that starts with \"file:\", which SQLite reads as a URI file \
             name; SQLite URI file names are not supported (write ./file:NAME for a file of \
             that name)",
        );
    }
    None
}

/// Tells whether `url` is a PostgreSQL URL with a mistyped `://`, such as
/// `postgres:/db`, `postgresql:db` or `postgres//db`.
fn mistyped_postgres_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["postgresql", "postgres"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with("//"))
    })
}

/// Returns the current time in Unix seconds.
fn unix_now() -> crate::store::UnixTime {
    chrono::Utc::now().timestamp()
}

/// Encodes ids as a JSON array for `IN (SELECT value FROM json_each(?))`,
/// which keeps one cached statement for any number of ids.
fn json_ids<T: serde::Serialize>(ids: &[T]) -> crate::store::StoreResult<String> {
    serde_json::to_string(ids)
        .map_err(|error| crate::store::StoreError::Backend(format!("encoding ids failed: {error}")))
}

/// Returns SQLite's query plan for `sql` on an empty, migrated database, its
/// steps joined by `; `, for tests that check which index a query uses.
#[cfg(test)]
fn query_plan(sql: &str, params: impl rusqlite::Params) -> String {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    migrate::apply(&mut conn).expect("migrations");
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("plan")
        .query_map(params, |row| row.get(3))
        .expect("plan rows")
        .collect::<Result<_, _>>()
        .expect("plan text");
    plan.join("; ")
}

#[cfg(test)]
mod tests;
