//! Single-row updates on PostgreSQL: conversation state and the download
//! state of inbound media.

use sqlx::PgPool;
use sqlx::postgres::PgQueryResult;

use super::backend;
use super::reads::has_nul;
use crate::store::*;

/// Lowers the unread count of `message`'s conversation to the inbound
/// messages after it, ordered by time and then by id, and returns the
/// count.
pub(crate) async fn mark_read_up_to(
    pool: &PgPool,
    message: &MessageId,
    receipt_accepted: bool,
) -> StoreResult<i64> {
    if has_nul(message.as_str()) {
        return Err(StoreError::NotFound(format!("message {message}")));
    }
    // Both updates see the same snapshot and change different tables.
    let count: Option<i64> = sqlx::query_scalar(
        "WITH seen AS ( \
             UPDATE messages n SET status = 'read' FROM messages r \
             WHERE $2 AND r.id = $1 AND n.conversation_id = r.conversation_id \
             AND n.direction = 'inbound' AND n.status = 'received' \
             AND (n.timestamp, n.id) <= (r.timestamp, r.id)) \
         UPDATE conversations SET unread_count = LEAST(unread_count, ( \
             SELECT count(*) FROM messages r JOIN messages n \
                 ON n.conversation_id = r.conversation_id \
             WHERE r.id = $1 AND n.direction = 'inbound' \
             AND (n.timestamp, n.id) > (r.timestamp, r.id))) \
         WHERE id = (SELECT conversation_id FROM messages WHERE id = $1) \
         RETURNING unread_count",
    )
    .bind(message.as_str())
    .bind(receipt_accepted)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    count.ok_or_else(|| StoreError::NotFound(format!("message {message}")))
}

pub(crate) async fn set_conversation_archived(
    pool: &PgPool,
    conversation: &ConversationId,
    archived_at: Option<UnixTime>,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE conversations SET archived_at = $2 WHERE id = $1")
        .bind(conversation.as_str())
        .bind(archived_at)
        .execute(pool)
        .await;
    require_changed(done, || format!("conversation {conversation}"))
}

/// Records the stored copy; the sha256 and MIME type of the file replace
/// the ones the webhook announced.
pub(crate) async fn set_media_stored(
    pool: &PgPool,
    message: &MessageId,
    media: &StoredMedia,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE messages SET media_status = 'stored', media_path = $2, media_size = $3, \
         media_sha256 = $4, media_mime_type = $5, media_error = NULL WHERE id = $1",
    )
    .bind(message.as_str())
    .bind(&media.path)
    .bind(media.size)
    .bind(&media.sha256)
    .bind(&media.mime_type)
    .execute(pool)
    .await;
    require_changed(done, || format!("message {message}"))
}

pub(crate) async fn set_media_failed(
    pool: &PgPool,
    message: &MessageId,
    error: &str,
) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE messages SET media_status = 'failed', media_error = $2 WHERE id = $1")
            .bind(message.as_str())
            .bind(error)
            .execute(pool)
            .await;
    require_changed(done, || format!("message {message}"))
}

/// Maps a driver error to `Backend` and an update of no row to `NotFound(what)`.
fn require_changed(
    done: Result<PgQueryResult, sqlx::Error>,
    what: impl FnOnce() -> String,
) -> StoreResult<()> {
    if done.map_err(backend)?.rows_affected() == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}
