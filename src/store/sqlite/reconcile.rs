//! Statuses for an unknown wamid whose `biz_opaque_callback_data` names
//! their outbound message. The rule itself is in `store::reconcile`.

use rusqlite::Connection;

use super::outbound::{Outbound, read_outbound};
use super::sent::attach_wamid;
use super::status::{StatusChange, apply_status};
use crate::store::reconcile::{CallbackTarget, check_target, named_message};
use crate::store::{
    IngestReport, MessageStatus, SentMessage, StatusUpdate, StoreError, StoreResult,
};

/// Attaches the status's wamid to the outbound message that its callback
/// data names and applies the status, when `check_target` allows it.
/// Returns whether it did. A mismatch only adds a note to `report`.
pub(super) fn reconcile_status(
    conn: &Connection,
    update: &StatusUpdate,
    report: &mut IngestReport,
) -> StoreResult<bool> {
    let Some(named) = named_message(update) else {
        return Ok(false);
    };
    let found = match read_outbound(conn, &named) {
        Ok(message) => Some(message),
        Err(StoreError::NotFound(_) | StoreError::Invalid(_)) => None,
        Err(error) => return Err(error),
    };
    let target = found.as_ref().map(callback_target);
    if let Err(note) = check_target(update, &named, target.as_ref()) {
        report.notes.push(note);
        return Ok(false);
    }
    let Some(mut message) = found else {
        return Ok(false);
    };

    if message.stored.status == MessageStatus::Failed {
        reopen(conn, &mut message)?;
    }
    let sent = SentMessage {
        wamid: update.wamid.clone(),
        wa_id: None,
    };
    attach_wamid(conn, &mut message, &sent, update.timestamp)?;
    let change = StatusChange {
        status: update.status,
        timestamp: update.timestamp,
        recipient_id: update.recipient_id.clone(),
        error: update.error.clone(),
    };
    apply_status(conn, &mut message.stored, &change)?;
    report.statuses_applied += 1;
    report.statuses_reconciled += 1;
    Ok(true)
}

fn callback_target(message: &Outbound) -> CallbackTarget<'_> {
    CallbackTarget {
        id: &message.stored.id,
        account_id: &message.stored.account_id,
        recipient_wa_id: &message.contact_wa_id,
        wamid: message.wamid.as_deref(),
        status: message.stored.status,
    }
}

/// Sets a send that failed without a wamid back to `pending` without its
/// error, because Meta's status proves that Meta accepted it. The error
/// stays in the send's `message.outbound.failed` event.
fn reopen(conn: &Connection, message: &mut Outbound) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE messages SET status = 'pending', error_code = NULL, error_title = NULL, \
             error_message = NULL, error_details = NULL \
         WHERE id = ?1",
    )?
    .execute([message.stored.id.as_str()])?;
    message.stored.status = MessageStatus::Pending;
    Ok(())
}
