//! Schema migrations tracked by `PRAGMA user_version`.
//!
//! Migration N (counting from 1) is applied when `user_version` is below N,
//! in its own transaction together with the version bump, so a failed
//! migration leaves the database at the previous version.

use anyhow::{Context, bail};
use rusqlite::{Connection, TransactionBehavior};

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
        // Some migrations rebuild an index over every message, which takes
        // a while on a large database, so the start is logged too.
        tracing::info!(migration = name, version, "applying database migration");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()
            .with_context(|| format!("commit of migration {name} failed"))?;
        tracing::info!(migration = name, version, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{MIGRATIONS, apply};

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
}
