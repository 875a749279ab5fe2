//! The business's pending reactions on PostgreSQL. The rule is in
//! `store::business_reactions`.

use sqlx::{PgConnection, PgPool, Row};

use super::backend;
use super::ingest::lock_wamid;
use super::reads::has_nul;
use crate::store::business_reactions::{
    PENDING_REACTION_SECONDS, PendingReactionId, failed_note, named_reaction,
};
use crate::store::{
    AccountId, IngestReport, MessageStatus, StatusUpdate, StoreError, StoreResult, UnixTime,
};

/// Keeps a reaction as pending and returns its number.
pub(crate) async fn begin(
    pool: &PgPool,
    account: &AccountId,
    target_wamid: &str,
    emoji: Option<&str>,
    now: UnixTime,
) -> StoreResult<PendingReactionId> {
    let missing = || StoreError::NotFound(format!("message {target_wamid}"));
    if has_nul(target_wamid) {
        return Err(missing());
    }
    let mut tx = pool.begin().await.map_err(backend)?;
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = $1 AND wamid = $2)",
    )
    .bind(account.as_str())
    .bind(target_wamid)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    if !exists {
        return Err(missing());
    }
    sqlx::query("DELETE FROM pending_reactions WHERE created_at < $1")
        .bind(now - PENDING_REACTION_SECONDS)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pending_reactions (account_id, target_wamid, emoji, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account.as_str())
    .bind(target_wamid)
    .bind(emoji.filter(|e| !e.is_empty()))
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    Ok(PendingReactionId(id))
}

/// Applies the pending reaction `id` in its own transaction.
pub(crate) async fn apply_alone(pool: &PgPool, id: PendingReactionId) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let outcome = apply(&mut tx, id).await.map_err(backend)?;
    tx.commit().await.map_err(backend)?;
    match outcome {
        Applied::Set => Ok(true),
        Applied::NotPending => Ok(false),
        Applied::MessageGone(wamid) => Err(StoreError::NotFound(format!("message {wamid}"))),
    }
}

/// The outcome of applying a pending reaction.
enum Applied {
    Set,
    NotPending,
    /// The target message, by its wamid, is no longer stored.
    MessageGone(String),
}

/// Sets the pending reaction `id` on its message and deletes it and the
/// older ones to the same message. `false` when it is no longer pending.
/// The lock of the target's wamid orders it against the other reactions
/// to that message, so an older one never overwrites a newer one.
async fn apply(conn: &mut PgConnection, id: PendingReactionId) -> Result<Applied, sqlx::Error> {
    let target =
        sqlx::query("SELECT account_id, target_wamid FROM pending_reactions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(target) = target else {
        return Ok(Applied::NotPending);
    };
    let account = AccountId(target.try_get("account_id")?);
    let target_wamid: String = target.try_get("target_wamid")?;
    lock_wamid(conn, &account, &target_wamid).await?;
    // Read again under the lock: a newer reaction may have been applied
    // and forgotten this one meanwhile.
    let pending: Option<Option<String>> =
        sqlx::query_scalar("SELECT emoji FROM pending_reactions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(emoji) = pending else {
        return Ok(Applied::NotPending);
    };
    sqlx::query(
        "DELETE FROM pending_reactions WHERE account_id = $1 AND target_wamid = $2 AND id <= $3",
    )
    .bind(account.as_str())
    .bind(&target_wamid)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    let changed = sqlx::query(
        "UPDATE messages SET business_reaction = $3 WHERE account_id = $1 AND wamid = $2",
    )
    .bind(account.as_str())
    .bind(&target_wamid)
    .bind(emoji)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(Applied::MessageGone(target_wamid));
    }
    Ok(Applied::Set)
}

/// Deletes the pending reaction `id`.
pub(crate) async fn forget(
    conn: &mut PgConnection,
    id: PendingReactionId,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pending_reactions WHERE id = $1")
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Settles the pending reaction that a status's callback data names, as
/// the SQLite store does. Returns `false` when it names no reaction.
pub(crate) async fn settle_from_status(
    conn: &mut PgConnection,
    update: &StatusUpdate,
    report: &mut IngestReport,
) -> Result<bool, sqlx::Error> {
    let Some(id) = named_reaction(update) else {
        return Ok(false);
    };
    let account: Option<String> =
        sqlx::query_scalar("SELECT account_id FROM pending_reactions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    match account {
        Some(account) if account == update.account_id.as_str() => {}
        _ => return Ok(true),
    }
    if update.status == MessageStatus::Failed {
        forget(conn, id).await?;
        report.notes.push(failed_note(update));
        return Ok(true);
    }
    match apply(conn, id).await? {
        Applied::Set => report.statuses_reconciled += 1,
        Applied::NotPending => {}
        Applied::MessageGone(target) => {
            forget(conn, id).await?;
            report.notes.push(format!(
                "reaction {} was sent to message {target}, which is no longer stored",
                update.wamid
            ));
        }
    }
    Ok(true)
}
