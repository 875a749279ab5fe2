//! The encryption key verifier, the one row of `encryption_key_verifier`.

use rusqlite::{Connection, OptionalExtension, params};

use super::unix_now;
use crate::store::StoreResult;

pub(super) fn key_verifier(conn: &Connection) -> StoreResult<Option<Vec<u8>>> {
    let sealed = conn
        .prepare_cached("SELECT sealed FROM encryption_key_verifier WHERE id = 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(sealed)
}

/// Inserts the verifier unless a row exists, which is then kept.
pub(super) fn insert_key_verifier(conn: &Connection, sealed: &[u8]) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO encryption_key_verifier (id, sealed, created_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![sealed, unix_now()])?;
    Ok(())
}

/// Replaces the verifier if it is still `previous`; returns whether it did.
pub(super) fn replace_key_verifier(
    conn: &Connection,
    previous: &[u8],
    sealed: &[u8],
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE encryption_key_verifier SET sealed = ?2, created_at = ?3 \
             WHERE id = 1 AND sealed = ?1",
        )?
        .execute(params![previous, sealed, unix_now()])?;
    Ok(changed == 1)
}
