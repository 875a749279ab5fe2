//! Single-row updates: the business's reactions, conversation state and
//! the download state of inbound media.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{
    AccountId, ConversationId, MessageId, StoreError, StoreResult, StoredMedia, UnixTime,
};

/// Sets or clears the business's reaction; an empty emoji clears it.
pub(super) fn set_business_reaction(
    conn: &Connection,
    account: &AccountId,
    target_wamid: &str,
    emoji: Option<&str>,
) -> StoreResult<()> {
    let emoji = emoji.filter(|e| !e.is_empty());
    let changed = conn
        .prepare_cached(
            "UPDATE messages SET business_reaction = ?3 WHERE account_id = ?1 AND wamid = ?2",
        )?
        .execute(params![account.as_str(), target_wamid, emoji])?;
    require_changed(changed, || format!("message {target_wamid}"))
}

/// Lowers the unread count of `message`'s conversation to the inbound
/// messages after it, ordered by time and then by storage order, and
/// returns the count.
pub(super) fn mark_read_up_to(
    conn: &Connection,
    message: &MessageId,
    receipt_accepted: bool,
) -> StoreResult<i64> {
    let count: Option<i64> = conn
        .prepare_cached(
            "UPDATE conversations SET unread_count = min(unread_count, ( \
                 SELECT count(*) FROM messages r JOIN messages n \
                     ON n.conversation_id = r.conversation_id \
                 WHERE r.id = ?1 AND n.direction = 'inbound' \
                 AND n.timestamp >= r.timestamp \
                 AND (n.timestamp > r.timestamp OR n.rowid > r.rowid))) \
             WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1) \
             RETURNING unread_count",
        )?
        .query_row([message.as_str()], |row| row.get(0))
        .optional()?;
    let count = count.ok_or_else(|| StoreError::NotFound(format!("message {message}")))?;
    if receipt_accepted {
        conn.prepare_cached(
            "UPDATE messages SET status = 'read' \
             WHERE rowid IN ( \
                 SELECT n.rowid FROM messages r JOIN messages n \
                     ON n.conversation_id = r.conversation_id \
                 WHERE r.id = ?1 AND n.direction = 'inbound' AND n.status = 'received' \
                 AND n.timestamp <= r.timestamp \
                 AND (n.timestamp < r.timestamp OR n.rowid <= r.rowid))",
        )?
        .execute([message.as_str()])?;
    }
    Ok(count)
}

pub(super) fn set_conversation_archived(
    conn: &Connection,
    conversation: &ConversationId,
    archived_at: Option<UnixTime>,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached("UPDATE conversations SET archived_at = ?2 WHERE id = ?1")?
        .execute(params![conversation.as_str(), archived_at])?;
    require_changed(changed, || format!("conversation {conversation}"))
}

/// Records the stored copy; the sha256 and MIME type of the file replace
/// the ones the webhook announced.
pub(super) fn set_media_stored(
    conn: &Connection,
    message: &MessageId,
    media: &StoredMedia,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE messages SET media_status = 'stored', media_path = ?2, media_size = ?3, \
                 media_sha256 = ?4, media_mime_type = ?5, media_error = NULL \
             WHERE id = ?1",
        )?
        .execute(params![
            message.as_str(),
            media.path,
            media.size,
            media.sha256,
            media.mime_type,
        ])?;
    require_changed(changed, || format!("message {message}"))
}

pub(super) fn set_media_failed(
    conn: &Connection,
    message: &MessageId,
    error: &str,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE messages SET media_status = 'failed', media_error = ?2 WHERE id = ?1",
        )?
        .execute([message.as_str(), error])?;
    require_changed(changed, || format!("message {message}"))
}

/// Turns an update of no row into `NotFound(what)`.
fn require_changed(changed: usize, what: impl FnOnce() -> String) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}
