//! Outbound messages on PostgreSQL: stored as `pending` before the send,
//! then marked sent or failed with Meta's response, each in one transaction.

use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};

use super::accounts::require_account;
use super::events::{self, iso8601};
use super::ingest::ensure_conversation_with;
use super::status::{self, StoredMessage};
use super::{backend, now, reads};
use crate::store::*;

/// Stores the message as `pending` and makes it the conversation's last
/// message unless a newer one is shown. The unread count and the window
/// stay as they are, because only customers open a window.
pub(crate) async fn insert_outbound(
    pool: &PgPool,
    message: &NewOutboundMessage,
) -> StoreResult<Message> {
    if message.wa_id.trim().is_empty() {
        return Err(StoreError::Invalid("recipient wa_id is empty".to_owned()));
    }
    let now = now();
    let mut tx = pool.begin().await.map_err(backend)?;
    require_account(&mut tx, &message.account_id).await?;
    let conversation = ensure_conversation_with(&mut tx, &message.account_id, &message.wa_id, now)
        .await
        .map_err(backend)?;

    let id = MessageId::generate();
    let media = message.media.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO messages (id, account_id, conversation_id, direction, type, text, caption, \
         media_id, media_mime_type, media_sha256, media_filename, media_url, context_wamid, \
         content_json, status, status_at, timestamp, created_at) \
         VALUES ($1, $2, $3, 'outbound', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', \
         $14, $14, $15)",
    )
    .bind(id.as_str())
    .bind(message.account_id.as_str())
    .bind(conversation.as_str())
    .bind(&message.kind)
    .bind(&message.text)
    .bind(&message.caption)
    .bind(media.media_id)
    .bind(media.mime_type)
    .bind(media.sha256)
    .bind(media.filename)
    .bind(media.url)
    .bind(&message.context_wamid)
    .bind(&message.content_json)
    .bind(message.timestamp)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;

    let preview = message_preview(
        message.text.as_deref(),
        message.caption.as_deref(),
        &message.kind,
    );
    sqlx::query(
        "UPDATE conversations SET last_message_at = $2, last_message_preview = $3, \
         last_message_direction = 'outbound', last_message_type = $4, \
         last_message_wamid = NULL \
         WHERE id = $1 AND $2 >= COALESCE(last_message_at, 0)",
    )
    .bind(conversation.as_str())
    .bind(message.timestamp)
    .bind(preview)
    .bind(&message.kind)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let stored = stored_message(&mut tx, &id).await?;
    tx.commit().await.map_err(backend)?;
    Ok(stored)
}

/// An outbound message with the contact it was sent to.
pub(crate) struct Outbound {
    pub stored: StoredMessage,
    /// The wamid stored so far; `None` until Meta accepted the message.
    pub wamid: Option<String>,
    pub contact_id: String,
    pub contact_wa_id: String,
    pub kind: String,
    pub text: Option<String>,
    pub timestamp: UnixTime,
}

/// Reads and locks an outbound message; `NotFound` when missing, `Invalid`
/// when inbound.
pub(crate) async fn lock_outbound(
    conn: &mut PgConnection,
    id: &MessageId,
) -> StoreResult<Outbound> {
    match lock_message(conn, id).await.map_err(backend)? {
        None => Err(StoreError::NotFound(format!("message {id}"))),
        Some((direction, _)) if direction != Direction::Outbound => Err(StoreError::Invalid(
            format!("message {id} is {}, not outbound", direction.as_str()),
        )),
        Some((_, message)) => Ok(message),
    }
}

/// Reads and locks a message of either direction with its contact, in the
/// shape of an outbound one; `None` when missing.
pub(crate) async fn lock_message(
    conn: &mut PgConnection,
    id: &MessageId,
) -> Result<Option<(Direction, Outbound)>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT m.account_id, m.conversation_id, m.wamid, m.direction, m.status, \
         ct.id AS contact_id, ct.wa_id, m.type, m.text, m.timestamp \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN contacts ct ON ct.id = c.contact_id WHERE m.id = $1 FOR UPDATE OF m",
    )
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let direction: String = row.try_get("direction")?;
    let direction = Direction::parse(&direction).ok_or_else(|| {
        sqlx::Error::Decode(
            format!("column direction contains an invalid value {direction:?}").into(),
        )
    })?;
    let wamid: Option<String> = row.try_get("wamid")?;
    let status: String = row.try_get("status")?;
    let message = Outbound {
        stored: StoredMessage {
            id: id.clone(),
            account_id: AccountId(row.try_get("account_id")?),
            conversation_id: ConversationId(row.try_get("conversation_id")?),
            wamid: wamid.clone().unwrap_or_default(),
            status: status::decode_status(&status)?,
        },
        wamid,
        contact_id: row.try_get("contact_id")?,
        contact_wa_id: row.try_get("wa_id")?,
        kind: row.try_get("type")?,
        text: row.try_get("text")?,
        timestamp: row.try_get("timestamp")?,
    };
    Ok(Some((direction, message)))
}

/// Records a failed send; see `Store::mark_outbound_failed`.
pub(crate) async fn mark_outbound_failed(
    pool: &PgPool,
    id: &MessageId,
    error: &MetaError,
    at: UnixTime,
) -> StoreResult<Message> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let stored = mark_failed_in(&mut tx, id, error, at).await?;
    tx.commit().await.map_err(backend)?;
    Ok(stored)
}

/// Marks the unconfirmed sends before `sent_before` as failed; see
/// `Store::fail_unconfirmed_sends`. `SKIP LOCKED` leaves out a message whose
/// send another instance is recording right now.
pub(crate) async fn fail_unconfirmed_sends(
    pool: &PgPool,
    sent_before: UnixTime,
    error: &MetaError,
    at: UnixTime,
) -> StoreResult<Vec<MessageId>> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let rows = sqlx::query(
        "SELECT id FROM messages \
         WHERE direction = 'outbound' AND status = 'pending' AND wamid IS NULL \
             AND timestamp < $1 \
         ORDER BY timestamp, id FOR UPDATE SKIP LOCKED",
    )
    .bind(sent_before)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        let id = MessageId(row.try_get("id").map_err(backend)?);
        mark_failed_in(&mut tx, &id, error, at).await?;
        ids.push(id);
    }
    tx.commit().await.map_err(backend)?;
    Ok(ids)
}

/// Records a failed send inside the transaction `tx`.
async fn mark_failed_in(
    tx: &mut PgConnection,
    id: &MessageId,
    error: &MetaError,
    at: UnixTime,
) -> StoreResult<Message> {
    let mut message = lock_outbound(tx, id).await?;
    // Meta accepted a message with a wamid, which a status webhook can
    // attach while the send's own response is still outstanding.
    if message.wamid.is_some() {
        return stored_message(tx, id).await;
    }
    let update = StatusUpdate {
        account_id: message.stored.account_id.clone(),
        wamid: message.stored.wamid.clone(),
        status: MessageStatus::Failed,
        timestamp: at,
        recipient_id: Some(message.contact_wa_id.clone()),
        error: Some(error.clone()),
        biz_opaque_callback_data: None,
    };
    let changed = status::apply_status(tx, &mut message.stored, &update)
        .await
        .map_err(backend)?;
    if changed {
        let payload = json!({
            "messageId": id,
            "wamid": message.wamid,
            "conversationId": message.stored.conversation_id,
            "to": message.contact_wa_id,
            "type": message.kind,
            "error": error,
            "timestamp": iso8601(at),
        });
        let account = &message.stored.account_id;
        events::insert_event(tx, account, events::OUTBOUND_FAILED, &payload, at)
            .await
            .map_err(backend)?;
    }
    stored_message(tx, id).await
}

/// Reads back a message written in this transaction.
pub(crate) async fn stored_message(
    conn: &mut PgConnection,
    id: &MessageId,
) -> StoreResult<Message> {
    reads::find_message(conn, id)
        .await?
        .map(|(_, message)| message)
        .ok_or_else(|| StoreError::Backend(format!("message {id} vanished after its write")))
}
