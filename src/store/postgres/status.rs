//! Delivery statuses, including those that arrive before their message,
//! and template status changes on PostgreSQL.

use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::business_reactions;
use super::events::{self, iso8601};
use super::jobs::insert_job;
use super::reconcile::reconcile_status;
use crate::store::*;

/// The parts of a stored message that a status update reads.
#[derive(Clone, Debug)]
pub(crate) struct StoredMessage {
    pub id: MessageId,
    pub account_id: AccountId,
    pub conversation_id: ConversationId,
    pub wamid: String,
    pub status: MessageStatus,
}

pub(crate) fn decode_status(text: &str) -> Result<MessageStatus, sqlx::Error> {
    MessageStatus::parse(text).ok_or_else(|| {
        sqlx::Error::Decode(format!("column status contains an invalid value {text:?}").into())
    })
}

/// Applies a status to a message locked by the caller when
/// `MessageStatus::can_advance_to` allows it, and records the event.
/// Returns whether the message changed.
pub(crate) async fn apply_status(
    conn: &mut PgConnection,
    message: &mut StoredMessage,
    update: &StatusUpdate,
) -> Result<bool, sqlx::Error> {
    if !message.status.can_advance_to(update.status) {
        return Ok(false);
    }
    // Only `failed` carries Meta's error; other statuses keep the stored one.
    let failed = update.status == MessageStatus::Failed;
    let error = update.error.clone().filter(|_| failed).unwrap_or_default();
    let payload = json!({
        "messageId": message.id,
        // An outbound message that failed before Meta accepted it has no wamid.
        "wamid": Some(&message.wamid).filter(|wamid| !wamid.is_empty()),
        "conversationId": message.conversation_id,
        "status": update.status,
        "recipientId": update.recipient_id,
        "error": if failed { update.error.as_ref() } else { None },
        "timestamp": iso8601(update.timestamp),
    });
    // PostgreSQL runs the UPDATE in the WITH clause although nothing reads
    // its output, so one round trip updates the row and records the event.
    sqlx::query(
        "WITH updated AS (UPDATE messages SET status = $2, status_at = $3, \
             error_code = CASE WHEN $4 THEN $5 ELSE error_code END, \
             error_title = CASE WHEN $4 THEN $6 ELSE error_title END, \
             error_message = CASE WHEN $4 THEN $7 ELSE error_message END, \
             error_details = CASE WHEN $4 THEN $8 ELSE error_details END \
             WHERE id = $1) \
         INSERT INTO events (id, account_id, type, payload_json, occurred_at) \
         VALUES ($9, $10, $11, $12, $3)",
    )
    .bind(message.id.as_str())
    .bind(update.status.as_str())
    .bind(update.timestamp)
    .bind(failed)
    .bind(error.code)
    .bind(&error.title)
    .bind(&error.message)
    .bind(&error.details)
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(message.account_id.as_str())
    .bind(events::STATUS_UPDATED)
    .bind(payload.to_string())
    .execute(&mut *conn)
    .await?;
    message.status = update.status;
    Ok(true)
}

/// Applies a status to its message. A status for an unknown wamid goes to
/// the message its `biz_opaque_callback_data` names when that message may
/// take the wamid, and is otherwise kept as pending until its message is
/// stored. The caller holds the wamid lock (`lock_batch_wamids`).
pub(crate) async fn store_status(
    conn: &mut PgConnection,
    update: &StatusUpdate,
    now: UnixTime,
    report: &mut IngestReport,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, conversation_id, status FROM messages \
         WHERE account_id = $1 AND wamid = $2 FOR UPDATE",
    )
    .bind(update.account_id.as_str())
    .bind(&update.wamid)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => {
            let status: String = row.try_get("status")?;
            let mut message = StoredMessage {
                id: MessageId(row.try_get("id")?),
                account_id: update.account_id.clone(),
                conversation_id: ConversationId(row.try_get("conversation_id")?),
                wamid: update.wamid.clone(),
                status: decode_status(&status)?,
            };
            if apply_status(conn, &mut message, update).await? {
                report.statuses_applied += 1;
            }
        }
        None if business_reactions::settle_from_status(conn, update, report).await? => {}
        None if reconcile_status(conn, update, report).await? => {}
        None => {
            defer_status(conn, update, now).await?;
            report.statuses_deferred += 1;
        }
    }
    Ok(())
}

/// Keeps a status for a message not stored yet, unless the same status is
/// already waiting for that wamid.
async fn defer_status(
    conn: &mut PgConnection,
    update: &StatusUpdate,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let error = update.error.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO pending_statuses (id, account_id, wamid, status, timestamp, recipient_id, \
         error_code, error_title, error_message, error_details, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         WHERE NOT EXISTS (SELECT 1 FROM pending_statuses \
             WHERE account_id = $2 AND wamid = $3 AND status = $4)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(update.account_id.as_str())
    .bind(&update.wamid)
    .bind(update.status.as_str())
    .bind(update.timestamp)
    .bind(&update.recipient_id)
    .bind(error.code)
    .bind(&error.title)
    .bind(&error.message)
    .bind(&error.details)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn pending_update(
    row: &PgRow,
    account: &AccountId,
    wamid: &str,
) -> Result<StatusUpdate, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let error = MetaError {
        code: row.try_get("error_code")?,
        title: row.try_get("error_title")?,
        message: row.try_get("error_message")?,
        details: row.try_get("error_details")?,
    };
    Ok(StatusUpdate {
        account_id: account.clone(),
        wamid: wamid.to_owned(),
        status: decode_status(&status)?,
        timestamp: row.try_get("timestamp")?,
        recipient_id: row.try_get("recipient_id")?,
        error: (error != MetaError::default()).then_some(error),
        biz_opaque_callback_data: None,
    })
}

/// Applies, oldest first, the statuses kept for a message that has just
/// been stored, then deletes them. The caller holds the wamid lock.
pub(crate) async fn apply_pending(
    conn: &mut PgConnection,
    message: &mut StoredMessage,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query(
        "DELETE FROM pending_statuses WHERE account_id = $1 AND wamid = $2 \
         RETURNING status, timestamp, recipient_id, error_code, error_title, error_message, \
         error_details, created_at, id",
    )
    .bind(message.account_id.as_str())
    .bind(&message.wamid)
    .fetch_all(&mut *conn)
    .await?;
    let mut updates = rows
        .iter()
        .map(|row| {
            let order: (UnixTime, UnixTime, String) = (
                row.try_get("timestamp")?,
                row.try_get("created_at")?,
                row.try_get("id")?,
            );
            Ok((
                order,
                pending_update(row, &message.account_id, &message.wamid)?,
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    updates.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, update) in &updates {
        apply_status(conn, message, update).await?;
    }
    Ok(())
}

/// Upserts the template for every account on the WhatsApp Business Account
/// and enqueues a template sync for each, because the webhook carries no
/// components. Returns how many rows it wrote.
pub(crate) async fn store_template(
    conn: &mut PgConnection,
    update: &TemplateStatusUpdate,
    now: UnixTime,
) -> Result<u32, sqlx::Error> {
    let accounts: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE waba_id = $1 ORDER BY id")
            .bind(&update.waba_id)
            .fetch_all(&mut *conn)
            .await?;
    let mut written = 0;
    for account in &accounts {
        sqlx::query(
            "INSERT INTO templates (id, account_id, meta_template_id, name, language, status, \
             rejected_reason, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (account_id, meta_template_id) DO UPDATE SET \
             name = COALESCE(excluded.name, templates.name), \
             language = COALESCE(excluded.language, templates.language), \
             status = excluded.status, rejected_reason = excluded.rejected_reason, \
             updated_at = excluded.updated_at",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account)
        .bind(&update.meta_template_id)
        .bind(&update.name)
        .bind(&update.language)
        .bind(&update.status)
        .bind(&update.reason)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let job = jobs::template_sync(&AccountId(account.clone()), now);
        insert_job(conn, &job, now).await?;
        written += 1;
    }
    Ok(written)
}
