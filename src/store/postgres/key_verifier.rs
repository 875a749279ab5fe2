//! The encryption key verifier on PostgreSQL, the one row of
//! `encryption_key_verifier`.

use sqlx::PgPool;

use super::{backend, now};
use crate::store::StoreResult;

pub(crate) async fn key_verifier(pool: &PgPool) -> StoreResult<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT sealed FROM encryption_key_verifier WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(backend)
}

/// Inserts the verifier unless a row exists, which is then kept. Of two
/// instances that insert at once, the primary key lets the first commit
/// win, and the other's insert does nothing.
pub(crate) async fn insert_key_verifier(pool: &PgPool, sealed: &[u8]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO encryption_key_verifier (id, sealed, created_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(sealed)
    .bind(now())
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Replaces the verifier if it is still `previous`; returns whether it did.
pub(crate) async fn replace_key_verifier(
    pool: &PgPool,
    previous: &[u8],
    sealed: &[u8],
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE encryption_key_verifier SET sealed = $2, created_at = $3 \
         WHERE id = 1 AND sealed = $1",
    )
    .bind(previous)
    .bind(sealed)
    .bind(now())
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}
