//! Recording Meta's acceptance of an outbound message on PostgreSQL.

use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};

use super::events::{self, iso8601};
use super::inbound::apply_stored_reaction;
use super::ingest::lock_wamid;
use super::outbound::{Outbound, lock_outbound, stored_message};
use super::status;
use super::{backend, conflict_on_unique};
use crate::store::*;

/// Records Meta's acceptance of an outbound message; see `Store::mark_outbound_sent`.
pub(crate) async fn mark_outbound_sent(
    pool: &PgPool,
    id: &MessageId,
    sent: &SentMessage,
    at: UnixTime,
) -> StoreResult<Message> {
    if sent.wamid.trim().is_empty() {
        return Err(StoreError::Invalid("wamid is empty".to_owned()));
    }
    let mut tx = pool.begin().await.map_err(backend)?;
    // A message never changes account, so the wamid lock can be taken
    // before the row lock, in the order that status ingestion takes them.
    let account: String = sqlx::query_scalar("SELECT account_id FROM messages WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
    lock_wamid(&mut tx, &AccountId(account), &sent.wamid)
        .await
        .map_err(backend)?;

    let mut message = lock_outbound(&mut tx, id).await?;
    match &message.wamid {
        // Recorded already: a repeated call changes nothing.
        Some(stored) if *stored == sent.wamid => return stored_message(&mut tx, id).await,
        Some(stored) => {
            return Err(StoreError::Conflict(format!(
                "message {id} already sent as wamid {stored}"
            )));
        }
        None => {}
    }

    attach_wamid(&mut tx, &mut message, sent, at)
        .await
        .map_err(|e| conflict_on_unique(e, format!("message with wamid {}", sent.wamid)))?;
    let stored = stored_message(&mut tx, id).await?;
    tx.commit().await.map_err(backend)?;
    Ok(stored)
}

/// Stores Meta's wamid on a locked outbound message that has none and
/// records it as sent. The caller holds the lock of the wamid.
pub(crate) async fn attach_wamid(
    conn: &mut PgConnection,
    message: &mut Outbound,
    sent: &SentMessage,
    at: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET wamid = $2 WHERE id = $1")
        .bind(message.stored.id.as_str())
        .bind(&sent.wamid)
        .execute(&mut *conn)
        .await?;
    message.stored.wamid = sent.wamid.clone();
    message.wamid = Some(sent.wamid.clone());
    record_sent(conn, message, sent, at).await
}

/// Applies `sent`, stores the event, then the statuses and the reaction
/// that arrived before the wamid was known.
async fn record_sent(
    conn: &mut PgConnection,
    message: &mut Outbound,
    sent: &SentMessage,
    at: UnixTime,
) -> Result<(), sqlx::Error> {
    let to = adopt_wa_id(conn, message, sent.wa_id.as_deref(), at).await?;
    let update = StatusUpdate {
        account_id: message.stored.account_id.clone(),
        wamid: sent.wamid.clone(),
        status: MessageStatus::Sent,
        timestamp: at,
        recipient_id: Some(to.clone()),
        error: None,
        biz_opaque_callback_data: None,
    };
    status::apply_status(conn, &mut message.stored, &update).await?;
    let payload = json!({
        "messageId": message.stored.id,
        "wamid": sent.wamid,
        "conversationId": message.stored.conversation_id,
        "to": to,
        "type": message.kind,
        "text": message.text,
        "timestamp": iso8601(at),
    });
    let account = &message.stored.account_id;
    events::insert_event(conn, account, events::OUTBOUND_SENT, &payload, at).await?;
    status::apply_pending(conn, &mut message.stored).await?;
    apply_stored_reaction(conn, &message.stored).await?;
    set_last_wamid(conn, message).await
}

/// Gives the contact Meta's wa_id when it differs and no other contact of
/// the account has it, because the customer's replies come from that
/// wa_id. Returns the contact's wa_id afterwards.
async fn adopt_wa_id(
    conn: &mut PgConnection,
    message: &Outbound,
    reported: Option<&str>,
    at: UnixTime,
) -> Result<String, sqlx::Error> {
    let Some(reported) = reported.filter(|w| !w.trim().is_empty() && *w != message.contact_wa_id)
    else {
        return Ok(message.contact_wa_id.clone());
    };

    // A contact with this wa_id inserted by a concurrent webhook fails the
    // update with a unique violation, so it runs in a savepoint.
    let mut savepoint = conn.begin().await?;
    let changed = sqlx::query(
        "UPDATE contacts SET wa_id = $2, updated_at = $3 WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM contacts WHERE account_id = $4 AND wa_id = $2)",
    )
    .bind(&message.contact_id)
    .bind(reported)
    .bind(at)
    .bind(message.stored.account_id.as_str())
    .execute(&mut *savepoint)
    .await;

    match changed {
        Ok(done) if done.rows_affected() > 0 => {
            savepoint.commit().await?;
            Ok(reported.to_owned())
        }
        Ok(_) => {
            savepoint.commit().await?;
            Ok(message.contact_wa_id.clone())
        }
        Err(error)
            if error
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation()) =>
        {
            savepoint.rollback().await?;
            Ok(message.contact_wa_id.clone())
        }
        Err(error) => Err(error),
    }
}

/// Sets the conversation's last wamid when this message is still its
/// newest, by timestamp and then by id as message lists order them.
async fn set_last_wamid(conn: &mut PgConnection, message: &Outbound) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversations SET last_message_wamid = $2 \
         WHERE id = $1 AND last_message_at = $3 AND last_message_direction = 'outbound' \
         AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 \
             AND (timestamp > $3 OR (timestamp = $3 AND id > $4)))",
    )
    .bind(message.stored.conversation_id.as_str())
    .bind(&message.stored.wamid)
    .bind(message.timestamp)
    .bind(message.stored.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}
