//! Inbound messages and reactions from webhooks on PostgreSQL.

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::batch_contacts::BatchContacts;
use super::events::{self, iso8601};
use super::jobs::insert_job;
use super::status;
use crate::store::customer_reactions::{TargetCustomer, check_reactor};
use crate::store::*;

/// Seconds after a customer's message during which the business may send
/// free-form messages (WhatsApp's customer service window).
const SERVICE_WINDOW: i64 = 24 * 60 * 60;

/// Stores an inbound message unless its wamid is already stored for the
/// account, which counts as a duplicate and changes nothing else. The
/// caller holds the message's wamid lock (`lock_batch_wamids`).
pub(crate) async fn store_message(
    conn: &mut PgConnection,
    contacts: &mut BatchContacts,
    message: &InboundMessage,
    now: UnixTime,
    report: &mut IngestReport,
) -> Result<(), sqlx::Error> {
    let conversation = contacts
        .conversation_with(conn, &message.account_id, &message.from, now)
        .await?;
    let id = MessageId::generate();
    let Some(inserted) = insert_message(conn, &id, &conversation, message, now).await? else {
        report.duplicates += 1;
        return Ok(());
    };
    report.messages_inserted += 1;
    if downloadable_media_id(message).is_some() {
        let job = jobs::media_download(&message.account_id, &id, now);
        insert_job(conn, &job, now).await?;
    }
    if inserted.has_pending_statuses {
        let mut stored = status::StoredMessage {
            id,
            account_id: message.account_id.clone(),
            conversation_id: conversation,
            wamid: message.wamid.clone(),
            status: MessageStatus::Received,
        };
        status::apply_pending(conn, &mut stored).await?;
    }
    Ok(())
}

/// A message row that `insert_message` has just inserted.
struct Inserted {
    /// Whether statuses that arrived before the message wait for it.
    has_pending_statuses: bool,
}

/// Inserts the message row with its customer's newest stored reaction to
/// it, updates its conversation and records its event, in one statement. The
/// conversation counts the message as unread, extends the service window,
/// and shows it as the last message unless a newer one is already shown.
/// Returns `None` when the wamid is already stored, which changes nothing.
async fn insert_message(
    conn: &mut PgConnection,
    id: &MessageId,
    conversation: &ConversationId,
    message: &InboundMessage,
    now: UnixTime,
) -> Result<Option<Inserted>, sqlx::Error> {
    let media = message.media.clone().unwrap_or_default();
    let error = message.errors.first().cloned().unwrap_or_default();
    let payload = json!({
        "messageId": id,
        "wamid": message.wamid,
        "conversationId": conversation,
        "from": message.from,
        "type": message.kind,
        "text": message.text,
        "timestamp": iso8601(message.timestamp),
    });
    // The parts of a WITH query cannot see each other's changes to a table,
    // so the pending statuses, which update the new row, are only looked
    // for here and applied by a later statement.
    let row = sqlx::query(
        "WITH inserted AS ( \
             INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, \
             text, caption, media_id, media_mime_type, media_sha256, media_filename, media_url, \
             context_wamid, content_json, raw_json, status, error_code, error_title, \
             error_message, error_details, timestamp, created_at, media_status, reaction) \
             VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, \
             CASE WHEN $8::text IS NOT NULL THEN 'pending' END, \
             (SELECT r.emoji FROM reactions r WHERE r.account_id = $2 \
                  AND r.target_wamid = $4 AND EXISTS (SELECT 1 FROM conversations v \
                      JOIN contacts k ON k.id = v.contact_id \
                      WHERE v.id = $3 AND r.from_wa_id IN (k.wa_id, k.user_id)) \
              ORDER BY r.timestamp DESC, r.from_wa_id LIMIT 1)) \
             ON CONFLICT (account_id, wamid) DO NOTHING RETURNING id), \
         touched AS (UPDATE conversations SET \
             unread_count = unread_count + 1, \
             last_inbound_at = GREATEST(last_inbound_at, $21), \
             window_expires_at = GREATEST(window_expires_at, $23), \
             last_message_preview = CASE WHEN $21 >= COALESCE(last_message_at, 0) \
                 THEN $24 ELSE last_message_preview END, \
             last_message_direction = CASE WHEN $21 >= COALESCE(last_message_at, 0) \
                 THEN 'inbound' ELSE last_message_direction END, \
             last_message_type = CASE WHEN $21 >= COALESCE(last_message_at, 0) \
                 THEN $5 ELSE last_message_type END, \
             last_message_wamid = CASE WHEN $21 >= COALESCE(last_message_at, 0) \
                 THEN $4 ELSE last_message_wamid END, \
             last_message_at = GREATEST(last_message_at, $21) \
             WHERE id = $3 AND EXISTS (SELECT 1 FROM inserted)), \
         event AS (INSERT INTO events (id, account_id, type, payload_json, occurred_at) \
             SELECT $25, $2, $26, $27, $21 FROM inserted) \
         SELECT EXISTS (SELECT 1 FROM inserted) AS inserted, \
             EXISTS (SELECT 1 FROM pending_statuses WHERE account_id = $2 AND wamid = $4) \
             AS has_pending_statuses",
    )
    .bind(id.as_str())
    .bind(message.account_id.as_str())
    .bind(conversation.as_str())
    .bind(&message.wamid)
    .bind(&message.kind)
    .bind(&message.text)
    .bind(&message.caption)
    .bind(downloadable_media_id(message))
    .bind(media.mime_type)
    .bind(media.sha256)
    .bind(media.filename)
    .bind(media.url)
    .bind(&message.context_wamid)
    .bind(&message.content_json)
    .bind(&message.raw_json)
    .bind(MessageStatus::Received.as_str())
    .bind(error.code)
    .bind(error.title)
    .bind(error.message)
    .bind(error.details)
    .bind(message.timestamp)
    .bind(now)
    .bind(message.timestamp.saturating_add(SERVICE_WINDOW))
    .bind(preview(message))
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(events::MESSAGE_RECEIVED)
    .bind(payload.to_string())
    .fetch_one(conn)
    .await?;
    if !row.try_get::<bool, _>("inserted")? {
        return Ok(None);
    }
    Ok(Some(Inserted {
        has_pending_statuses: row.try_get("has_pending_statuses")?,
    }))
}

/// Returns the media id to download, ignoring a blank one.
fn downloadable_media_id(message: &InboundMessage) -> Option<&str> {
    let media = message.media.as_ref()?;
    media.media_id.as_deref().filter(|id| !id.trim().is_empty())
}

/// Builds the conversation list's preview of an inbound message.
fn preview(message: &InboundMessage) -> String {
    crate::store::message_preview(
        message.text.as_deref(),
        message.caption.as_deref(),
        &message.kind,
    )
}

/// Copies the newest stored reaction of the conversation's customer to a
/// message that has just got its wamid, for a reaction that arrived before
/// its target. Reactions from other customers of the account stay off it.
pub(crate) async fn apply_stored_reaction(
    conn: &mut PgConnection,
    message: &status::StoredMessage,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages m SET reaction = r.emoji FROM ( \
             SELECT emoji FROM reactions WHERE account_id = $2 AND target_wamid = $3 \
                 AND EXISTS (SELECT 1 FROM conversations v \
                     JOIN contacts k ON k.id = v.contact_id \
                     WHERE v.id = $4 AND reactions.from_wa_id IN (k.wa_id, k.user_id)) \
             ORDER BY timestamp DESC, from_wa_id LIMIT 1) AS r \
         WHERE m.id = $1",
    )
    .bind(message.id.as_str())
    .bind(message.account_id.as_str())
    .bind(&message.wamid)
    .bind(message.conversation_id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a reaction keyed by its target, newest timestamp winning, and
/// mirrors it on the target message when that is stored. A reaction opens
/// the service window like any customer message but is never shown as one.
/// A reaction to a stored message of another customer's conversation
/// changes nothing and leaves a note in `report`. The caller holds the
/// target's wamid lock (`lock_batch_wamids`).
pub(crate) async fn store_reaction(
    conn: &mut PgConnection,
    contacts: &mut BatchContacts,
    reaction: &InboundReaction,
    now: UnixTime,
    report: &mut IngestReport,
) -> Result<(), sqlx::Error> {
    if let Some((wa_id, user_id)) = target_customer(conn, reaction).await? {
        let target = TargetCustomer {
            wa_id: &wa_id,
            user_id: user_id.as_deref(),
        };
        if let Err(note) = check_reactor(reaction, &target) {
            report.notes.push(note);
            return Ok(());
        }
    }
    let conversation = contacts
        .conversation_with(conn, &reaction.account_id, &reaction.from, now)
        .await?;
    sqlx::query(
        "UPDATE conversations SET window_expires_at = GREATEST(window_expires_at, $2) \
         WHERE id = $1",
    )
    .bind(conversation.as_str())
    .bind(reaction.timestamp.saturating_add(SERVICE_WINDOW))
    .execute(&mut *conn)
    .await?;
    let emoji = reaction.emoji.as_deref().filter(|e| !e.is_empty());
    let applied = sqlx::query(
        "INSERT INTO reactions (account_id, target_wamid, from_wa_id, emoji, timestamp) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, target_wamid, from_wa_id) DO UPDATE \
         SET emoji = excluded.emoji, timestamp = excluded.timestamp \
         WHERE reactions.timestamp <= excluded.timestamp",
    )
    .bind(reaction.account_id.as_str())
    .bind(&reaction.target_wamid)
    .bind(&reaction.from)
    .bind(emoji)
    .bind(reaction.timestamp)
    .execute(&mut *conn)
    .await?;
    if applied.rows_affected() == 1 {
        sqlx::query("UPDATE messages SET reaction = $3 WHERE account_id = $1 AND wamid = $2")
            .bind(reaction.account_id.as_str())
            .bind(&reaction.target_wamid)
            .bind(emoji)
            .execute(&mut *conn)
            .await?;
    }
    report.reactions += 1;
    Ok(())
}

/// Returns the wa_id and user id of the customer whose conversation contains
/// the reaction's target message, or `None` when the target is not stored.
async fn target_customer(
    conn: &mut PgConnection,
    reaction: &InboundReaction,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT k.wa_id, k.user_id FROM messages m \
         JOIN conversations v ON v.id = m.conversation_id \
         JOIN contacts k ON k.id = v.contact_id \
         WHERE m.account_id = $1 AND m.wamid = $2",
    )
    .bind(reaction.account_id.as_str())
    .bind(&reaction.target_wamid)
    .fetch_optional(conn)
    .await
}
