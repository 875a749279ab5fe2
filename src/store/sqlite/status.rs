//! Delivery statuses: applying one to a stored message, and keeping those
//! that arrive before their message until it is stored.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::business_reactions;
use super::events::{STATUS_UPDATED, insert_event, iso_time};
use super::reconcile::reconcile_status;
use super::rows::{meta_error, parse_status};
use crate::store::{
    AccountId, ConversationId, IngestReport, MessageId, MessageStatus, MetaError, StatusUpdate,
    StoreResult, UnixTime,
};

/// The fields of a stored message that status changes read.
pub(super) struct StoredMessage {
    pub id: MessageId,
    pub account_id: AccountId,
    pub conversation_id: ConversationId,
    pub wamid: String,
    pub status: MessageStatus,
}

/// A status to apply, from a webhook or from `pending_statuses`.
pub(super) struct StatusChange {
    pub status: MessageStatus,
    pub timestamp: UnixTime,
    pub recipient_id: Option<String>,
    pub error: Option<MetaError>,
}

/// Applies a status from a webhook. A status for an unknown wamid goes to
/// the message its `biz_opaque_callback_data` names when that message may
/// take the wamid, and is otherwise kept in `pending_statuses` until its
/// message is stored.
pub(super) fn ingest_status(
    conn: &Connection,
    update: &StatusUpdate,
    now: UnixTime,
    report: &mut IngestReport,
) -> StoreResult<()> {
    match find_message(conn, &update.account_id, &update.wamid)? {
        Some(mut message) => {
            let change = StatusChange {
                status: update.status,
                timestamp: update.timestamp,
                recipient_id: update.recipient_id.clone(),
                error: update.error.clone(),
            };
            if apply_status(conn, &mut message, &change)? {
                report.statuses_applied += 1;
            }
        }
        None if business_reactions::settle_from_status(conn, update, report)? => {}
        None if reconcile_status(conn, update, report)? => {}
        None => {
            defer_status(conn, update, now)?;
            report.statuses_deferred += 1;
        }
    }
    Ok(())
}

pub(super) fn find_message(
    conn: &Connection,
    account: &AccountId,
    wamid: &str,
) -> StoreResult<Option<StoredMessage>> {
    let found = conn
        .prepare_cached(
            "SELECT id, conversation_id, status FROM messages WHERE account_id = ?1 AND wamid = ?2",
        )?
        .query_row([account.as_str(), wamid], |row| {
            Ok(StoredMessage {
                id: MessageId(row.get(0)?),
                account_id: account.clone(),
                conversation_id: ConversationId(row.get(1)?),
                wamid: wamid.to_owned(),
                status: parse_status(2, row.get(2)?)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// Applies `change` when `MessageStatus::can_advance_to` allows it, storing
/// Meta's error for `failed` and a `message.status.updated` event. Returns
/// whether the status changed. Every path that stores or updates a message
/// status goes through here.
pub(super) fn apply_status(
    conn: &Connection,
    message: &mut StoredMessage,
    change: &StatusChange,
) -> StoreResult<bool> {
    if !message.status.can_advance_to(change.status) {
        return Ok(false);
    }
    let failed = change.status == MessageStatus::Failed;
    let error = change.error.clone().filter(|_| failed).unwrap_or_default();
    conn.prepare_cached(
        "UPDATE messages SET status = ?2, status_at = ?3, \
             error_code = CASE WHEN ?4 THEN ?5 ELSE error_code END, \
             error_title = CASE WHEN ?4 THEN ?6 ELSE error_title END, \
             error_message = CASE WHEN ?4 THEN ?7 ELSE error_message END, \
             error_details = CASE WHEN ?4 THEN ?8 ELSE error_details END \
         WHERE id = ?1",
    )?
    .execute(params![
        message.id.as_str(),
        change.status.as_str(),
        change.timestamp,
        failed,
        error.code,
        error.title,
        error.message,
        error.details,
    ])?;
    message.status = change.status;
    let payload = json!({
        "messageId": message.id,
        // An outbound message that failed before Meta accepted it has no wamid.
        "wamid": Some(&message.wamid).filter(|wamid| !wamid.is_empty()),
        "conversationId": message.conversation_id,
        "status": change.status,
        "timestamp": iso_time(change.timestamp),
        "recipientId": change.recipient_id,
        "error": if failed { change.error.as_ref() } else { None },
    });
    insert_event(
        conn,
        &message.account_id,
        STATUS_UPDATED,
        &payload,
        change.timestamp,
    )?;
    Ok(true)
}

/// Applies, oldest first, the statuses that arrived before `message` was
/// stored, then deletes them. Call it right after inserting a message.
pub(super) fn apply_pending(conn: &Connection, message: &mut StoredMessage) -> StoreResult<()> {
    let changes: Vec<StatusChange> = conn
        .prepare_cached(
            "SELECT status, timestamp, recipient_id, error_code, error_title, error_message, \
                    error_details \
             FROM pending_statuses WHERE account_id = ?1 AND wamid = ?2 \
             ORDER BY timestamp, created_at, id",
        )?
        .query_map([message.account_id.as_str(), &message.wamid], |row| {
            Ok(StatusChange {
                status: parse_status(0, row.get(0)?)?,
                timestamp: row.get(1)?,
                recipient_id: row.get(2)?,
                error: meta_error(row, 3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if changes.is_empty() {
        return Ok(());
    }
    for change in &changes {
        apply_status(conn, message, change)?;
    }
    conn.prepare_cached("DELETE FROM pending_statuses WHERE account_id = ?1 AND wamid = ?2")?
        .execute([message.account_id.as_str(), &message.wamid])?;
    Ok(())
}

/// Keeps a status for a message not stored yet, unless the same status is
/// already waiting for that wamid.
fn defer_status(conn: &Connection, update: &StatusUpdate, now: UnixTime) -> StoreResult<()> {
    let error = update.error.clone().unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO pending_statuses (id, account_id, wamid, status, timestamp, recipient_id, \
             error_code, error_title, error_message, error_details, created_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
         WHERE NOT EXISTS (SELECT 1 FROM pending_statuses \
                           WHERE account_id = ?2 AND wamid = ?3 AND status = ?4)",
    )?
    .execute(params![
        uuid::Uuid::now_v7().to_string(),
        update.account_id.as_str(),
        update.wamid,
        update.status.as_str(),
        update.timestamp,
        update.recipient_id,
        error.code,
        error.title,
        error.message,
        error.details,
        now,
    ])?;
    Ok(())
}
