//! Schema migrations tracked by `PRAGMA user_version`.
//!
//! Migration N (counting from 1) is applied when `user_version` is below N,
//! in its own transaction together with the version bump, so a failed
//! migration leaves the database at the previous version. Pons marks its
//! files with `PRAGMA application_id` and never migrates a file that
//! another application created.

use std::path::Path;

use anyhow::{Context, bail};
use rusqlite::{Connection, TransactionBehavior};

/// The application id Pons writes into the header of its database files:
/// "Pons" in ASCII.
const APPLICATION_ID: i32 = 0x506f_6e73;

/// Tables that every released Pons schema has. A file with a schema
/// version but without these was written by another application.
const OWN_TABLES: &[&str] = &["accounts", "api_keys", "conversations", "messages"];

/// How many of a foreign file's tables an error names.
const TABLES_NAMED: usize = 5;

/// Every migration in order; a migration is never edited once released.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../../../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_outbound_jobs_media",
        include_str!("../../../migrations/sqlite/0002_outbound_jobs_media.sql"),
    ),
    (
        "0003_unconfirmed_sends_index",
        include_str!("../../../migrations/sqlite/0003_unconfirmed_sends_index.sql"),
    ),
    (
        "0004_conversation_messages_order",
        include_str!("../../../migrations/sqlite/0004_conversation_messages_order.sql"),
    ),
    (
        "0005_search_index_newest_first",
        include_str!("../../../migrations/sqlite/0005_search_index_newest_first.sql"),
    ),
    (
        "0006_encryption_key_verifier",
        include_str!("../../../migrations/sqlite/0006_encryption_key_verifier.sql"),
    ),
    (
        "0007_pending_reactions",
        include_str!("../../../migrations/sqlite/0007_pending_reactions.sql"),
    ),
];

/// Applies the migrations this database has not seen yet.
pub(super) fn apply(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        bail!(
            "database schema version {current} is newer than this build supports \
             ({known}); run a newer Pons release"
        );
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process that opened the new database at the same time may
        // have applied the migration while this one waited for the lock.
        let applied: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if applied >= version {
            continue;
        }
        // Some migrations rebuild an index over every message, which takes
        // a while on a large database, so the start is logged too.
        tracing::info!(migration = name, version, "applying database migration");
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()
            .with_context(|| format!("commit of migration {name} failed"))?;
        tracing::info!(migration = name, version, "applied database migration");
    }
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application_id == 0 {
        // Files from releases before the mark get it here, once.
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    Ok(())
}

/// Fails when the file at `path` belongs to another application: it has
/// another application id, or it has tables but not those of a Pons
/// schema. Migrating it would add Pons's tables to the other
/// application's data, and a later migration could change them.
pub(super) fn reject_foreign(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if application_id == APPLICATION_ID {
        return Ok(());
    }
    let fix = "Pons needs a database file of its own: point --database-url or PONS_DATABASE_URL \
               at a new file, or use another --data-dir";
    if application_id != 0 {
        bail!(
            "SQLite database {} belongs to another application (its application id is \
             {application_id:#010x}, not Pons's {APPLICATION_ID:#010x}); {fix}",
            path.display()
        );
    }
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let own_schema = OWN_TABLES
        .iter()
        .all(|table| tables.iter().any(|name| name == table));
    match (version, tables.is_empty()) {
        (0, true) => return Ok(()),
        (0, false) if own_schema => bail!(
            "SQLite database {} has Pons's tables but no schema version, as a copy made with \
             `.dump` has; restore a copy made with `sqlite3 pons.db \".backup FILE\"` or \
             `VACUUM INTO`, which keep it",
            path.display()
        ),
        (0, false) => {}
        (_, _) if own_schema => return Ok(()),
        (_, true) => bail!(
            "SQLite database {} has schema version {version} but none of Pons's tables, so \
             another application set its version; {fix}",
            path.display()
        ),
        (_, false) => {}
    }
    let mut named = tables
        .iter()
        .take(TABLES_NAMED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > TABLES_NAMED {
        named.push_str(&format!(" and {} more", tables.len() - TABLES_NAMED));
    }
    bail!(
        "SQLite database {} contains tables that Pons did not create ({named}); {fix}",
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use std::path::Path;

    use super::{APPLICATION_ID, MIGRATIONS, apply, reject_foreign};

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("read user_version")
    }

    #[test]
    fn apply_migrates_once() {
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("first apply");
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
        apply(&mut conn).expect("second apply");
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
    }

    #[test]
    fn apply_rejects_newer_schema() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 999)
            .expect("set version");
        let error = apply(&mut conn).expect_err("newer schema must be rejected");
        assert!(error.to_string().contains("999"), "{error}");
    }

    fn application_id(conn: &Connection) -> i32 {
        conn.pragma_query_value(None, "application_id", |row| row.get(0))
            .expect("read application_id")
    }

    fn foreign_error(conn: &Connection) -> String {
        reject_foreign(conn, Path::new("data/pons.db"))
            .expect_err("the file must be rejected")
            .to_string()
    }

    #[test]
    fn new_and_own_files_are_accepted_and_marked() {
        let mut conn = Connection::open_in_memory().expect("open");
        reject_foreign(&conn, Path::new("pons.db")).expect("an empty file is accepted");
        apply(&mut conn).expect("apply");
        assert_eq!(application_id(&conn), APPLICATION_ID);
        reject_foreign(&conn, Path::new("pons.db")).expect("a marked file is accepted");

        // A file from a release before the mark has the schema but id 0.
        conn.pragma_update(None, "application_id", 0)
            .expect("clear id");
        reject_foreign(&conn, Path::new("pons.db")).expect("an older Pons file is accepted");
        apply(&mut conn).expect("apply again");
        assert_eq!(application_id(&conn), APPLICATION_ID);
    }

    #[test]
    fn another_applications_tables_are_rejected() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY); \
             CREATE TABLE customers (id INTEGER PRIMARY KEY);",
        )
        .expect("create tables");

        let error = foreign_error(&conn);
        assert!(error.contains("data/pons.db"), "{error}");
        assert!(error.contains("customers, invoices"), "{error}");
        assert!(error.contains("PONS_DATABASE_URL"), "{error}");
        // Nothing was written.
        assert_eq!(version(&conn), 0);
        assert_eq!(application_id(&conn), 0);
    }

    #[test]
    fn another_applications_version_or_id_is_rejected() {
        let conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 3)
            .expect("set version");
        let error = foreign_error(&conn);
        assert!(error.contains("schema version 3"), "{error}");

        // Pons's table names under another application's id.
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("apply");
        conn.pragma_update(None, "application_id", 0x1234_5678)
            .expect("set id");
        let error = foreign_error(&conn);
        assert!(error.contains("0x12345678"), "{error}");
    }

    #[test]
    fn dumped_copy_gets_a_restore_hint() {
        // `.dump` keeps the tables but neither the version nor the id.
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("apply");
        conn.pragma_update(None, "user_version", 0)
            .expect("clear version");
        conn.pragma_update(None, "application_id", 0)
            .expect("clear id");

        let error = foreign_error(&conn);
        assert!(error.contains("no schema version"), "{error}");
        assert!(error.contains(".backup"), "{error}");
    }

    #[test]
    fn many_foreign_tables_are_counted() {
        let conn = Connection::open_in_memory().expect("open");
        for index in 0..8 {
            conn.execute_batch(&format!("CREATE TABLE t{index} (id INTEGER)"))
                .expect("create table");
        }
        let error = foreign_error(&conn);
        assert!(error.contains("t0, t1, t2, t3, t4 and 3 more"), "{error}");
    }
}
