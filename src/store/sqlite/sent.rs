//! Recording Meta's acceptance of an outbound message.

use rusqlite::{Connection, params};
use serde_json::json;

use super::error::conflict_on_unique;
use super::events::{OUTBOUND_SENT, insert_event, iso_time};
use super::outbound::{Outbound, read_outbound, stored_message};
use super::status::{StatusChange, StoredMessage, apply_pending, apply_status};
use crate::store::{
    Message, MessageId, MessageStatus, SentMessage, StoreError, StoreResult, UnixTime,
};

/// Records Meta's acceptance of an outbound message; see `Store::mark_outbound_sent`.
pub(super) fn mark_outbound_sent(
    conn: &Connection,
    id: &MessageId,
    sent: &SentMessage,
    at: UnixTime,
) -> StoreResult<Message> {
    if sent.wamid.trim().is_empty() {
        return Err(StoreError::Invalid("wamid is empty".to_owned()));
    }
    let mut message = read_outbound(conn, id)?;
    match &message.wamid {
        // Recorded already: a repeated call changes nothing.
        Some(stored) if *stored == sent.wamid => return stored_message(conn, id),
        Some(stored) => {
            return Err(StoreError::Conflict(format!(
                "message {id} already sent as wamid {stored}"
            )));
        }
        None => {}
    }
    attach_wamid(conn, &mut message, sent, at)?;
    stored_message(conn, id)
}

/// Stores Meta's wamid on an outbound message that has none and records it
/// as sent: status `sent` through the status rule, the contact's new wa_id,
/// the `message.outbound.sent` event, and the statuses and reaction that
/// arrived before the wamid was known.
pub(super) fn attach_wamid(
    conn: &Connection,
    message: &mut Outbound,
    sent: &SentMessage,
    at: UnixTime,
) -> StoreResult<()> {
    let id = message.stored.id.clone();
    conn.prepare_cached("UPDATE messages SET wamid = ?2 WHERE id = ?1")?
        .execute([id.as_str(), &sent.wamid])
        .map_err(conflict_on_unique(format!(
            "message with wamid {}",
            sent.wamid
        )))?;
    message.stored.wamid = sent.wamid.clone();
    message.wamid = Some(sent.wamid.clone());

    let to = adopt_wa_id(conn, message, sent.wa_id.as_deref(), at)?;
    let change = StatusChange {
        status: MessageStatus::Sent,
        timestamp: at,
        recipient_id: Some(to.clone()),
        error: None,
    };
    apply_status(conn, &mut message.stored, &change)?;

    let payload = json!({
        "messageId": id,
        "wamid": sent.wamid,
        "conversationId": message.stored.conversation_id,
        "to": to,
        "type": message.kind,
        "text": message.text,
        "timestamp": iso_time(at),
    });
    insert_event(
        conn,
        &message.stored.account_id,
        OUTBOUND_SENT,
        &payload,
        at,
    )?;

    // A status webhook can be stored before Meta's HTTP response arrives.
    apply_pending(conn, &mut message.stored)?;
    apply_stored_reaction(conn, &message.stored)?;
    set_last_wamid(conn, message)
}

/// Gives the contact Meta's wa_id when it differs and no other contact of
/// the account has it, because the customer's replies come from that
/// wa_id. Returns the contact's wa_id afterwards.
fn adopt_wa_id(
    conn: &Connection,
    message: &Outbound,
    reported: Option<&str>,
    at: UnixTime,
) -> StoreResult<String> {
    let Some(reported) = reported.filter(|w| !w.trim().is_empty() && *w != message.contact_wa_id)
    else {
        return Ok(message.contact_wa_id.clone());
    };
    let changed = conn
        .prepare_cached(
            "UPDATE contacts SET wa_id = ?2, updated_at = ?3 WHERE id = ?1 \
             AND NOT EXISTS (SELECT 1 FROM contacts WHERE account_id = ?4 AND wa_id = ?2)",
        )?
        .execute(params![
            message.contact_id.as_str(),
            reported,
            at,
            message.stored.account_id.as_str(),
        ])?;
    Ok(if changed > 0 {
        reported.to_owned()
    } else {
        message.contact_wa_id.clone()
    })
}

/// Copies the customer's newest reaction stored for the wamid, which can
/// arrive before the send is recorded. Reactions from other customers of
/// the account stay off the message.
fn apply_stored_reaction(conn: &Connection, message: &StoredMessage) -> StoreResult<()> {
    conn.prepare_cached(
        "WITH customer AS (SELECT k.wa_id, k.user_id FROM conversations v \
             JOIN contacts k ON k.id = v.contact_id WHERE v.id = ?4), \
         own AS (SELECT r.emoji, r.timestamp, r.from_wa_id FROM reactions r, customer c \
             WHERE r.account_id = ?2 AND r.target_wamid = ?3 \
               AND r.from_wa_id IN (c.wa_id, c.user_id)) \
         UPDATE messages SET reaction = \
             (SELECT emoji FROM own ORDER BY timestamp DESC, from_wa_id LIMIT 1) \
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM own)",
    )?
    .execute([
        message.id.as_str(),
        message.account_id.as_str(),
        &message.wamid,
        message.conversation_id.as_str(),
    ])?;
    Ok(())
}

/// Sets the conversation's last wamid when this message is still its
/// newest, by timestamp and then by id as message lists order them.
fn set_last_wamid(conn: &Connection, message: &Outbound) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE conversations SET last_message_wamid = ?2 \
         WHERE id = ?1 AND last_message_at = ?3 AND last_message_direction = 'outbound' \
           AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 \
               AND (timestamp > ?3 OR (timestamp = ?3 AND id > ?4)))",
    )?
    .execute(params![
        message.stored.conversation_id.as_str(),
        message.stored.wamid,
        message.timestamp,
        message.stored.id.as_str(),
    ])?;
    Ok(())
}
