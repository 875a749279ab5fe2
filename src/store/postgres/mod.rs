//! The PostgreSQL backend: a connection pool, migrations run at start-up,
//! and the `Store` methods split by concept into submodules.

mod accounts;
mod batch_contacts;
mod business_reactions;
mod events;
mod inbound;
mod ingest;
pub mod instance_lock;
mod jobs;
mod key_verifier;
mod keys;
mod lists;
mod outbound;
mod read_only;
mod reads;
mod reconcile;
mod rows;
mod sent;
mod status;
mod templates;
mod trait_impl;
mod updates;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::MigrateError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use super::*;

/// Migrations compiled into the binary from `migrations/postgres`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections the pool opens at most.
const MAX_CONNECTIONS: u32 = 10;

/// How long a caller waits for a free connection before the call fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A `Store` on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a connection pool on `url` and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<PostgresStore> {
        // The URL is never repeated in an error, because it may carry a
        // password.
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| anyhow::anyhow!("invalid PostgreSQL URL: {error}"))?;
        let server = format!(
            "PostgreSQL at {}:{}, database {:?}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        // One connection first: the pool reports only its timeout, not why
        // the connections failed (refused, unknown role, missing database).
        let first = options.connect().await.map_err(|error| {
            // SQLSTATE invalid_catalog_name: the server runs, the database
            // does not exist.
            let missing_database = error
                .as_database_error()
                .and_then(|error| error.code())
                .is_some_and(|code| code == "3D000");
            let hint = if missing_database {
                let database = options.get_database().unwrap_or_default();
                // `--` ends createdb's options, so a name that starts with
                // `-` is not read as one.
                let end_of_options = if database.starts_with('-') { "-- " } else { "" };
                format!(
                    "; create it with `createdb -h {} -p {} {end_of_options}{}`, or fix the \
                     database name in the URL",
                    shell_word(options.get_host()),
                    options.get_port(),
                    shell_word(database)
                )
            } else {
                String::new()
            };
            anyhow::Error::new(error).context(format!("failed to connect to {server}{hint}"))
        })?;
        first.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .before_acquire(|_connection, metadata| {
                Box::pin(async move { Ok(read_only::may_reuse(metadata.age)) })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("failed to connect to {server}"))?;
        reject_foreign(&pool, &server).await?;
        if let Err(error) = MIGRATOR.run(&pool).await {
            return Err(migration_error(&pool, &server, error).await);
        }
        Ok(PostgresStore { pool })
    }

    /// Returns the connection pool, for callers that need a plain connection.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Builds the error for the failed migrations of the database `server`
/// that `pool` connects to.
async fn migration_error(pool: &PgPool, server: &str, error: MigrateError) -> anyhow::Error {
    let code = match &error {
        MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _) => error
            .as_database_error()
            .and_then(|error| error.code())
            .map(|code| code.into_owned()),
        _ => None,
    };
    match error {
        MigrateError::VersionMissing(version) => anyhow::anyhow!(
            "database schema version {version} is newer than this build supports ({}); run a \
             newer Pons release",
            MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default()
        ),
        // SQLSTATE invalid_schema_name: no schema of the search_path exists,
        // so there is none to create the tables in. The driver's message,
        // "no schema has been selected to create in", names neither.
        _ if code.as_deref() == Some("3F000") => {
            let search_path: Option<String> = sqlx::query_scalar("SHOW search_path")
                .fetch_one(pool)
                .await
                .ok();
            let search_path = search_path
                .map(|value| format!(" ({value:?})"))
                .unwrap_or_default();
            anyhow::anyhow!(
                "failed to apply the PostgreSQL migrations in {server}: its search_path\
                 {search_path} names no existing schema, so Pons has no schema to create its \
                 tables in; create the schema (CREATE SCHEMA name), or change search_path (in \
                 the URL's options parameter, or with ALTER ROLE or ALTER DATABASE ... SET \
                 search_path) to an existing schema such as public"
            )
        }
        error => anyhow::Error::new(error).context("failed to apply the PostgreSQL migrations"),
    }
}

/// Tells whether the current schema of the database at `url` has the
/// record of Pons's migrations, or returns `None` when the database cannot
/// be reached.
async fn has_pons_schema(url: &str) -> anyhow::Result<Option<bool>> {
    let Ok(options) = PgConnectOptions::from_str(url) else {
        return Ok(None);
    };
    let Ok(mut connection) = options.connect().await else {
        return Ok(None);
    };
    let has_pons: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(MIGRATIONS_TABLE)
        .fetch_one(&mut connection)
        .await
        .context("reading the PostgreSQL schema failed")?;
    connection.close().await.ok();
    Ok(Some(has_pons))
}

/// Tells whether the database at `url` can be reached and has no record of
/// Pons's migrations, so that opening the store creates Pons's tables from
/// nothing. It is checked before the store is opened, to warn that the
/// database is new, as for a new SQLite file.
pub async fn lacks_pons_schema(url: &str) -> bool {
    matches!(has_pons_schema(url).await, Ok(Some(false)))
}

/// Fails when the current schema of the database at `url` has no record of
/// Pons's migrations, for a command that must not set up a database: it
/// would otherwise create Pons's tables in a new, empty database named by
/// mistake. A database that cannot be reached passes, so that the store's
/// own connection reports why.
pub async fn reject_schema_without_pons(url: &str) -> anyhow::Result<()> {
    if has_pons_schema(url).await? != Some(false) {
        return Ok(());
    }
    let options = PgConnectOptions::from_str(url)?;
    anyhow::bail!(
        "no Pons tables in PostgreSQL at {}:{}, database {:?}, and this command does not create \
         them. Point the command at the installation's database with --database-url \
         (PONS_DATABASE_URL) or database_url in the configuration file (--config). A new \
         installation gets its tables from `pons serve` or `pons user add`",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// Explains why the PostgreSQL URL `url` names no server or no database,
/// or returns `None` when it names both. Without a host or a database
/// name, the driver falls back to the PG* environment variables and the
/// libpq defaults (a local socket, a database named after the user), so
/// Pons would create its tables in a database that no setting named. A host or
/// a database may also be a `host=`, `hostaddr=` or `dbname=` query
/// parameter, which the driver reads too.
pub fn url_form_problem(url: &str) -> Option<&'static str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match before_query.find('/') {
        Some(slash) => (&before_query[..slash], &before_query[slash + 1..]),
        None => (before_query, ""),
    };
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_and_port.rsplit_once(':') {
        // An IPv6 address in brackets contains ':' itself.
        Some((host, _)) if !host_and_port.ends_with(']') => host,
        _ => host_and_port,
    };
    let in_query = |names: &[&str]| {
        query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            names.contains(&name) && !value.is_empty()
        })
    };
    if host.is_empty() && !in_query(&["host", "hostaddr"]) {
        return Some("names no host");
    }
    if path.is_empty() && !in_query(&["dbname"]) {
        return Some("names no database");
    }
    None
}

/// The table in which sqlx records the applied migrations.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// How many of a foreign schema's tables an error names.
const TABLES_NAMED: usize = 5;

/// Returns `word` as one word of a POSIX shell command line: unchanged
/// when it is not empty and has only ASCII letters, digits and `_-./:`,
/// otherwise in single quotes, with each `'` written as `'\''`.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:".contains(c));
    if plain {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Fails when the current schema of the database belongs to another
/// application: it contains tables but no record of Pons's first migration.
/// Migrating it would add Pons's tables beside the other application's,
/// and the migration record could be mistaken for its own. `server`
/// names the database in the error.
async fn reject_foreign(pool: &PgPool, server: &str) -> anyhow::Result<()> {
    let fix = "Pons needs a database of its own: create one (for example `createdb pons`) and \
               point --database-url or PONS_DATABASE_URL at it";
    // Tables and views of the schema that Pons would migrate, without those
    // of extensions such as pg_stat_statements.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                         AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .with_context(|| format!("failed to list the tables of {server}"))?;

    if tables.iter().any(|table| table == MIGRATIONS_TABLE) {
        let first = MIGRATOR
            .iter()
            .next()
            .context("this build has no PostgreSQL migrations")?;
        let recorded: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(pool)
        .await
        .with_context(|| format!("failed to read the migrations recorded in {server}"))?;
        // sqlx records a migration in the transaction that applies it, so
        // Pons's record always starts with its first migration. An empty
        // record may belong to an instance applying that migration now.
        match recorded.first() {
            None => {}
            Some((version, description, checksum))
                if *version == first.version
                    && *description == first.description
                    && checksum[..] == first.checksum[..] =>
            {
                return Ok(());
            }
            Some((version, description, _)) => anyhow::bail!(
                "{server} records migrations of another application (its first is version \
                 {version}, {description:?}, not Pons's version {}, {:?}); {fix}",
                first.version,
                first.description
            ),
        }
    }

    let others: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|table| *table != MIGRATIONS_TABLE)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let mut named = others[..others.len().min(TABLES_NAMED)].join(", ");
    if others.len() > TABLES_NAMED {
        named.push_str(&format!(" and {} more", others.len() - TABLES_NAMED));
    }
    anyhow::bail!(
        "{server} contains tables or views that Pons did not create ({named}) in schema \
         {:?}; {fix}",
        current_schema(pool).await.unwrap_or_default()
    )
}

/// Returns the schema that unqualified names refer to.
async fn current_schema(pool: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(pool)
        .await
}

/// Maps any driver error to `Backend`.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    read_only::note(&error);
    StoreError::Backend(error.to_string())
}

/// Maps a unique violation to `Conflict(what)` and any other error to `Backend`.
pub(crate) fn conflict_on_unique(error: sqlx::Error, what: String) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => backend(error),
    }
}

/// Maps a foreign key violation to `NotFound(what)` and any other error as
/// `conflict_on_unique` does.
pub(crate) fn not_found_on_foreign_key(error: sqlx::Error, what: String) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_foreign_key_violation() => StoreError::NotFound(what),
        _ => conflict_on_unique(error, "row with these values".to_owned()),
    }
}

/// Converts a row limit to the type PostgreSQL binds for `LIMIT`.
pub(crate) fn sql_limit(limit: u32) -> i64 {
    i64::from(limit)
}

/// Converts account ids to a text array, for `= ANY($n)`.
pub(crate) fn account_ids(accounts: &[AccountId]) -> Vec<&str> {
    accounts.iter().map(AccountId::as_str).collect()
}

/// Returns the current time in Unix seconds.
pub(crate) fn now() -> UnixTime {
    chrono::Utc::now().timestamp()
}
