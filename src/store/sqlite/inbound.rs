//! Inbound messages and reactions from webhooks.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::conversations::{WINDOW_SECONDS, ensure_thread, extend_window, store_deferred_contact};
use super::events::{INBOUND_RECEIVED, insert_event, iso_time};
use super::jobs::enqueue_job;
use super::status::{StoredMessage, apply_pending};
use crate::store::customer_reactions::{TargetCustomer, check_reactor};
use crate::store::deferred_contacts::DeferredContacts;
use crate::store::jobs;
use crate::store::{
    ConversationId, InboundMessage, InboundReaction, IngestReport, MessageId, MessageStatus,
    StoreResult, UnixTime,
};

/// Stores an inbound message unless its wamid is already stored for the
/// account, in which case it only counts a duplicate and changes nothing.
pub(super) fn store_message(
    conn: &Connection,
    message: &InboundMessage,
    now: UnixTime,
    report: &mut IngestReport,
) -> StoreResult<()> {
    let (_, conversation) = ensure_thread(conn, &message.account_id, &message.from, now)?;
    let id = MessageId::generate();
    if !insert_message(conn, &id, &conversation, message, now)? {
        report.duplicates += 1;
        return Ok(());
    }
    report.messages_inserted += 1;
    record_in_conversation(conn, &conversation, message)?;
    if downloadable_media_id(message).is_some() {
        enqueue_job(
            conn,
            &jobs::media_download(&message.account_id, &id, now),
            now,
        )?;
    }
    let payload = json!({
        "messageId": id,
        "wamid": message.wamid,
        "conversationId": conversation,
        "from": message.from,
        "type": message.kind,
        "text": message.text,
        "timestamp": iso_time(message.timestamp),
    });
    insert_event(
        conn,
        &message.account_id,
        INBOUND_RECEIVED,
        &payload,
        message.timestamp,
    )?;
    let mut stored = StoredMessage {
        id,
        account_id: message.account_id.clone(),
        conversation_id: conversation,
        wamid: message.wamid.clone(),
        status: MessageStatus::Received,
    };
    apply_pending(conn, &mut stored)
}

/// Inserts the message row, taking the newest reaction that its customer
/// sent before it arrived. Returns false when the wamid was already stored.
fn insert_message(
    conn: &Connection,
    id: &MessageId,
    conversation: &ConversationId,
    message: &InboundMessage,
    now: UnixTime,
) -> StoreResult<bool> {
    let media = message.media.clone().unwrap_or_default();
    let media_id = downloadable_media_id(message);
    let error = message.errors.first().cloned().unwrap_or_default();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, text, \
                 caption, media_id, media_mime_type, media_sha256, media_filename, media_url, \
                 context_wamid, content_json, raw_json, status, status_at, error_code, \
                 error_title, error_message, error_details, reaction, timestamp, created_at, \
                 media_status) \
             VALUES (?1, ?2, ?3, ?4, 'inbound', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                 'received', ?16, ?17, ?18, ?19, ?20, \
                 (SELECT emoji FROM reactions r WHERE r.account_id = ?2 \
                      AND r.target_wamid = ?4 AND EXISTS (SELECT 1 FROM conversations v \
                          JOIN contacts k ON k.id = v.contact_id \
                          WHERE v.id = ?3 AND r.from_wa_id IN (k.wa_id, k.user_id)) \
                  ORDER BY r.timestamp DESC LIMIT 1), \
                 ?16, ?21, CASE WHEN ?8 IS NOT NULL THEN 'pending' END) \
             ON CONFLICT (account_id, wamid) DO NOTHING",
        )?
        .execute(params![
            id.as_str(),
            message.account_id.as_str(),
            conversation.as_str(),
            message.wamid,
            message.kind,
            message.text,
            message.caption,
            media_id,
            media.mime_type,
            media.sha256,
            media.filename,
            media.url,
            message.context_wamid,
            message.content_json,
            message.raw_json,
            message.timestamp,
            error.code,
            error.title,
            error.message,
            error.details,
            now,
        ])?;
    Ok(inserted > 0)
}

/// Returns the media id to download, ignoring a blank one.
fn downloadable_media_id(message: &InboundMessage) -> Option<&str> {
    let media = message.media.as_ref()?;
    media.media_id.as_deref().filter(|id| !id.trim().is_empty())
}

/// Counts the message as unread and extends the window. The last-message
/// fields change only when this message is not older than the stored one,
/// so a late webhook never moves them backwards.
fn record_in_conversation(
    conn: &Connection,
    conversation: &ConversationId,
    message: &InboundMessage,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE conversations SET \
             unread_count = unread_count + 1, \
             last_inbound_at = max(coalesce(last_inbound_at, ?2), ?2), \
             window_expires_at = max(coalesce(window_expires_at, ?3), ?3), \
             last_message_preview = CASE WHEN ?2 >= coalesce(last_message_at, 0) \
                 THEN ?4 ELSE last_message_preview END, \
             last_message_direction = CASE WHEN ?2 >= coalesce(last_message_at, 0) \
                 THEN 'inbound' ELSE last_message_direction END, \
             last_message_type = CASE WHEN ?2 >= coalesce(last_message_at, 0) \
                 THEN ?5 ELSE last_message_type END, \
             last_message_wamid = CASE WHEN ?2 >= coalesce(last_message_at, 0) \
                 THEN ?6 ELSE last_message_wamid END, \
             last_message_at = CASE WHEN ?2 >= coalesce(last_message_at, 0) \
                 THEN ?2 ELSE last_message_at END \
         WHERE id = ?1",
    )?
    .execute(params![
        conversation.as_str(),
        message.timestamp,
        message.timestamp.saturating_add(WINDOW_SECONDS),
        preview(message),
        message.kind,
        message.wamid,
    ])?;
    Ok(())
}

/// Builds the conversation list's preview of an inbound message.
fn preview(message: &InboundMessage) -> String {
    crate::store::message_preview(
        message.text.as_deref(),
        message.caption.as_deref(),
        &message.kind,
    )
}

/// Stores a reaction (or its removal, when `emoji` is `None`) unless a newer
/// one from the same customer is stored. A reaction to a wamid not stored
/// yet waits in `reactions` and is copied onto the message when it arrives,
/// if the message is in the reacting customer's conversation. A reaction to
/// a stored message of another customer's conversation changes nothing and
/// leaves a note in `report`. Reactions extend the window but create no
/// message and leave the preview and unread count alone.
pub(super) fn store_reaction(
    conn: &Connection,
    contacts: &mut DeferredContacts,
    reaction: &InboundReaction,
    now: UnixTime,
    report: &mut IngestReport,
) -> StoreResult<()> {
    if let Some((wa_id, user_id)) = target_customer(conn, reaction)? {
        let target = TargetCustomer {
            wa_id: &wa_id,
            user_id: user_id.as_deref(),
        };
        if let Err(note) = check_reactor(reaction, &target) {
            report.notes.push(note);
            return Ok(());
        }
    }
    store_deferred_contact(conn, contacts, &reaction.account_id, &reaction.from, now)?;
    let (_, conversation) = ensure_thread(conn, &reaction.account_id, &reaction.from, now)?;
    extend_window(conn, &conversation, reaction.timestamp)?;
    let emoji = reaction.emoji.as_deref().filter(|e| !e.is_empty());
    let stored = conn
        .prepare_cached(
            "INSERT INTO reactions (account_id, target_wamid, from_wa_id, emoji, timestamp) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (account_id, target_wamid, from_wa_id) DO UPDATE SET \
                 emoji = excluded.emoji, timestamp = excluded.timestamp \
             WHERE excluded.timestamp >= reactions.timestamp",
        )?
        .execute(params![
            reaction.account_id.as_str(),
            reaction.target_wamid,
            reaction.from,
            emoji,
            reaction.timestamp,
        ])?;
    if stored > 0 {
        conn.prepare_cached(
            "UPDATE messages SET reaction = ?3 WHERE account_id = ?1 AND wamid = ?2",
        )?
        .execute(params![
            reaction.account_id.as_str(),
            reaction.target_wamid,
            emoji
        ])?;
    }
    report.reactions += 1;
    Ok(())
}

/// Returns the wa_id and user id of the customer whose conversation contains
/// the reaction's target message, or `None` when the target is not stored.
fn target_customer(
    conn: &Connection,
    reaction: &InboundReaction,
) -> StoreResult<Option<(String, Option<String>)>> {
    let found = conn
        .prepare_cached(
            "SELECT k.wa_id, k.user_id FROM messages m \
             JOIN conversations v ON v.id = m.conversation_id \
             JOIN contacts k ON k.id = v.contact_id \
             WHERE m.account_id = ?1 AND m.wamid = ?2",
        )?
        .query_row(
            [reaction.account_id.as_str(), &reaction.target_wamid],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(found)
}
