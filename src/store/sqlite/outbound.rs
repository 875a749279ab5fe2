//! Outbound messages: stored as `pending` before the send, then marked sent
//! or failed with Meta's response.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::admin::require_account;
use super::conversations::ensure_thread;
use super::events::{OUTBOUND_FAILED, insert_event, iso_time};
use super::reads::find_message;
use super::rows::parse_status;
use super::status::{StatusChange, StoredMessage, apply_status};
use super::unix_now;
use crate::store::{
    AccountId, ContactId, ConversationId, Message, MessageId, MessageStatus, MetaError,
    NewOutboundMessage, StoreError, StoreResult, UnixTime, message_preview,
};

/// Stores the message as `pending` and makes it the conversation's last
/// message unless a newer one is shown. The unread count and the window
/// stay as they are, because only customers open a window.
pub(super) fn insert_outbound(
    conn: &Connection,
    message: &NewOutboundMessage,
) -> StoreResult<Message> {
    if message.wa_id.trim().is_empty() {
        return Err(StoreError::Invalid("recipient wa_id is empty".to_owned()));
    }
    require_account(conn, &message.account_id)?;
    let now = unix_now();
    let (_, conversation) = ensure_thread(conn, &message.account_id, &message.wa_id, now)?;

    let id = MessageId::generate();
    let media = message.media.clone().unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO messages (id, account_id, conversation_id, direction, type, text, caption, \
             media_id, media_mime_type, media_sha256, media_filename, media_url, context_wamid, \
             content_json, status, status_at, timestamp, created_at) \
         VALUES (?1, ?2, ?3, 'outbound', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'pending', \
             ?14, ?14, ?15)",
    )?
    .execute(params![
        id.as_str(),
        message.account_id.as_str(),
        conversation.as_str(),
        message.kind,
        message.text,
        message.caption,
        media.media_id,
        media.mime_type,
        media.sha256,
        media.filename,
        media.url,
        message.context_wamid,
        message.content_json,
        message.timestamp,
        now,
    ])?;

    let preview = message_preview(
        message.text.as_deref(),
        message.caption.as_deref(),
        &message.kind,
    );
    conn.prepare_cached(
        "UPDATE conversations SET last_message_at = ?2, last_message_preview = ?3, \
             last_message_direction = 'outbound', last_message_type = ?4, \
             last_message_wamid = NULL \
         WHERE id = ?1 AND ?2 >= coalesce(last_message_at, 0)",
    )?
    .execute(params![
        conversation.as_str(),
        message.timestamp,
        preview,
        message.kind
    ])?;
    stored_message(conn, &id)
}

/// An outbound message with the contact it was sent to.
pub(super) struct Outbound {
    pub stored: StoredMessage,
    /// The wamid stored so far; `None` until Meta accepted the message.
    pub wamid: Option<String>,
    pub contact_id: ContactId,
    pub contact_wa_id: String,
    pub kind: String,
    pub text: Option<String>,
    pub timestamp: UnixTime,
}

/// Reads an outbound message; `NotFound` when missing, `Invalid` when inbound.
pub(super) fn read_outbound(conn: &Connection, id: &MessageId) -> StoreResult<Outbound> {
    let found = conn
        .prepare_cached(
            "SELECT m.account_id, m.conversation_id, m.wamid, m.direction, m.status, c.id, \
                 c.wa_id, m.type, m.text, m.timestamp \
             FROM messages m JOIN conversations v ON v.id = m.conversation_id \
             JOIN contacts c ON c.id = v.contact_id WHERE m.id = ?1",
        )?
        .query_row([id.as_str()], |row| {
            let wamid: Option<String> = row.get(2)?;
            let direction: String = row.get(3)?;
            let message = Outbound {
                stored: StoredMessage {
                    id: id.clone(),
                    account_id: AccountId(row.get(0)?),
                    conversation_id: ConversationId(row.get(1)?),
                    wamid: wamid.clone().unwrap_or_default(),
                    status: parse_status(4, row.get(4)?)?,
                },
                wamid,
                contact_id: ContactId(row.get(5)?),
                contact_wa_id: row.get(6)?,
                kind: row.get(7)?,
                text: row.get(8)?,
                timestamp: row.get(9)?,
            };
            Ok((direction, message))
        })
        .optional()?;
    match found {
        None => Err(StoreError::NotFound(format!("message {id}"))),
        Some((direction, _)) if direction != "outbound" => Err(StoreError::Invalid(format!(
            "message {id} is {direction}, not outbound"
        ))),
        Some((_, message)) => Ok(message),
    }
}

/// Records a failed send; see `Store::mark_outbound_failed`.
pub(super) fn mark_outbound_failed(
    conn: &Connection,
    id: &MessageId,
    error: &MetaError,
    at: UnixTime,
) -> StoreResult<Message> {
    let mut message = read_outbound(conn, id)?;
    // Meta accepted a message with a wamid, which a status webhook can
    // attach while the send's own response is still outstanding.
    if message.wamid.is_some() {
        return stored_message(conn, id);
    }
    let change = StatusChange {
        status: MessageStatus::Failed,
        timestamp: at,
        recipient_id: Some(message.contact_wa_id.clone()),
        error: Some(error.clone()),
    };
    if apply_status(conn, &mut message.stored, &change)? {
        let payload = json!({
            "messageId": id,
            "wamid": message.wamid,
            "conversationId": message.stored.conversation_id,
            "to": message.contact_wa_id,
            "type": message.kind,
            "error": error,
            "timestamp": iso_time(at),
        });
        insert_event(
            conn,
            &message.stored.account_id,
            OUTBOUND_FAILED,
            &payload,
            at,
        )?;
    }
    stored_message(conn, id)
}

/// Marks the unconfirmed sends before `sent_before` as failed; see
/// `Store::fail_unconfirmed_sends`.
/// Sends still pending without a wamid, sent before `?1`. The partial index
/// `messages_unconfirmed` contains exactly these rows.
const UNCONFIRMED_SENDS: &str = "SELECT id FROM messages \
     WHERE direction = 'outbound' AND status = 'pending' AND wamid IS NULL \
         AND timestamp < ?1 \
     ORDER BY timestamp, id";

pub(super) fn fail_unconfirmed_sends(
    conn: &Connection,
    sent_before: UnixTime,
    error: &MetaError,
    at: UnixTime,
) -> StoreResult<Vec<MessageId>> {
    let ids = conn
        .prepare_cached(UNCONFIRMED_SENDS)?
        .query_map([sent_before], |row| row.get(0).map(MessageId))?
        .collect::<Result<Vec<_>, _>>()?;
    for id in &ids {
        mark_outbound_failed(conn, id, error, at)?;
    }
    Ok(ids)
}

/// Reads back a message written in this savepoint.
pub(super) fn stored_message(conn: &Connection, id: &MessageId) -> StoreResult<Message> {
    find_message(conn, id)?
        .map(|(_, message)| message)
        .ok_or_else(|| StoreError::Backend(format!("message {id} vanished after its write")))
}

#[cfg(test)]
mod tests {
    use super::UNCONFIRMED_SENDS;
    use crate::store::sqlite::query_plan;

    #[test]
    fn unconfirmed_sends_read_through_partial_index() {
        let plan = query_plan(UNCONFIRMED_SENDS, [0]);
        assert!(plan.contains("INDEX messages_unconfirmed"), "{plan}");
    }
}
