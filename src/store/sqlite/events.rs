//! Rows of the `events` table, which feeds forwarding to the business's
//! own endpoints.

use chrono::{DateTime, SecondsFormat};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::store::{AccountId, StoreResult, UnixTime};

/// Event type stored when a new inbound message is stored.
pub(super) const INBOUND_RECEIVED: &str = "message.inbound.received";
/// Event type stored when a message's delivery status changes.
pub(super) const STATUS_UPDATED: &str = "message.status.updated";
/// Event type stored when Meta accepts an outbound message.
pub(super) const OUTBOUND_SENT: &str = "message.outbound.sent";
/// Event type stored when an outbound message could not be sent.
pub(super) const OUTBOUND_FAILED: &str = "message.outbound.failed";

/// Inserts an event whose payload is `payload` serialized as JSON.
pub(super) fn insert_event(
    conn: &Connection,
    account: &AccountId,
    kind: &str,
    payload: &serde_json::Value,
    occurred_at: UnixTime,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO events (id, account_id, type, payload_json, occurred_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        Uuid::now_v7().to_string(),
        account.as_str(),
        kind,
        payload.to_string(),
        occurred_at,
    ])?;
    Ok(())
}

/// Formats Unix seconds as ISO 8601 UTC (`2024-05-01T12:00:00Z`); a value
/// outside chrono's range is written as the plain number.
pub(super) fn iso_time(time: UnixTime) -> String {
    match DateTime::from_timestamp(time, 0) {
        Some(at) => at.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => time.to_string(),
    }
}
