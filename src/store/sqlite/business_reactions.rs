//! The business's pending reactions on SQLite. The rule is in
//! `store::business_reactions`.

use rusqlite::{Connection, OptionalExtension, params};

use super::updates::set_business_reaction;
use crate::store::business_reactions::{
    PENDING_REACTION_SECONDS, PendingReactionId, failed_note, named_reaction,
};
use crate::store::{
    AccountId, IngestReport, MessageStatus, StatusUpdate, StoreError, StoreResult, UnixTime,
};

/// Keeps a reaction as pending and returns its number.
pub(super) fn begin(
    conn: &Connection,
    account: &AccountId,
    target_wamid: &str,
    emoji: Option<&str>,
    now: UnixTime,
) -> StoreResult<PendingReactionId> {
    let exists: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = ?1 AND wamid = ?2)",
        )?
        .query_row([account.as_str(), target_wamid], |row| row.get(0))?;
    if !exists {
        return Err(StoreError::NotFound(format!("message {target_wamid}")));
    }
    conn.prepare_cached("DELETE FROM pending_reactions WHERE created_at < ?1")?
        .execute([now - PENDING_REACTION_SECONDS])?;
    conn.prepare_cached(
        "INSERT INTO pending_reactions (account_id, target_wamid, emoji, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        account.as_str(),
        target_wamid,
        emoji.filter(|e| !e.is_empty()),
        now
    ])?;
    Ok(PendingReactionId(conn.last_insert_rowid()))
}

/// Sets the pending reaction `id` on its message and deletes it and the
/// older ones to the same message. `false` when it is no longer pending.
pub(super) fn apply(conn: &Connection, id: PendingReactionId) -> StoreResult<bool> {
    let pending: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT account_id, target_wamid, emoji FROM pending_reactions WHERE id = ?1",
        )?
        .query_row([id.0], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((account, target, emoji)) = pending else {
        return Ok(false);
    };
    conn.prepare_cached(
        "DELETE FROM pending_reactions WHERE account_id = ?1 AND target_wamid = ?2 AND id <= ?3",
    )?
    .execute(params![account, target, id.0])?;
    set_business_reaction(conn, &AccountId(account), &target, emoji.as_deref())?;
    Ok(true)
}

/// Deletes the pending reaction `id`.
pub(super) fn forget(conn: &Connection, id: PendingReactionId) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM pending_reactions WHERE id = ?1")?
        .execute([id.0])?;
    Ok(())
}

/// Settles the pending reaction that a status's callback data names:
/// applies it when Meta reports it sent, deletes it when Meta reports it
/// failed. Returns `false` when the callback data names no reaction. A
/// status for a reaction that is no longer pending changes nothing, and is
/// never kept for later, because no message will ever have its wamid.
pub(super) fn settle_from_status(
    conn: &Connection,
    update: &StatusUpdate,
    report: &mut IngestReport,
) -> StoreResult<bool> {
    let Some(id) = named_reaction(update) else {
        return Ok(false);
    };
    let account: Option<String> = conn
        .prepare_cached("SELECT account_id FROM pending_reactions WHERE id = ?1")?
        .query_row([id.0], |row| row.get(0))
        .optional()?;
    match account {
        Some(account) if account == update.account_id.as_str() => {}
        _ => return Ok(true),
    }
    if update.status == MessageStatus::Failed {
        forget(conn, id)?;
        report.notes.push(failed_note(update));
        return Ok(true);
    }
    match apply(conn, id) {
        Ok(_) => report.statuses_reconciled += 1,
        Err(StoreError::NotFound(what)) => {
            forget(conn, id)?;
            report.notes.push(format!(
                "reaction {} was sent to {what}, which is no longer stored",
                update.wamid
            ));
        }
        Err(error) => return Err(error),
    }
    Ok(true)
}
