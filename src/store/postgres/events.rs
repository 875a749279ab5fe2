//! Rows of the `events` table, which feeds forwarding to the business's
//! own endpoints.

use chrono::{DateTime, SecondsFormat};
use sqlx::PgConnection;

use crate::store::*;

/// Event type of a stored inbound message.
pub(crate) const MESSAGE_RECEIVED: &str = "message.inbound.received";
/// Event type of a status that moved a message forward.
pub(crate) const STATUS_UPDATED: &str = "message.status.updated";
/// Event type of an outbound message that Meta accepted.
pub(crate) const OUTBOUND_SENT: &str = "message.outbound.sent";
/// Event type of an outbound message that could not be sent.
pub(crate) const OUTBOUND_FAILED: &str = "message.outbound.failed";

/// Formats Unix seconds as ISO 8601 UTC (`2024-05-01T12:00:00Z`). A value
/// outside chrono's range is written as the plain number.
pub(crate) fn iso8601(at: UnixTime) -> String {
    match DateTime::from_timestamp(at, 0) {
        Some(time) => time.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => at.to_string(),
    }
}

/// Inserts one event row.
pub(crate) async fn insert_event(
    conn: &mut PgConnection,
    account: &AccountId,
    kind: &str,
    payload: &serde_json::Value,
    occurred_at: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (id, account_id, type, payload_json, occurred_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account.as_str())
    .bind(kind)
    .bind(payload.to_string())
    .bind(occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}
