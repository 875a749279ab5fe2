//! Statuses for an unknown wamid whose `biz_opaque_callback_data` names
//! their outbound message, on PostgreSQL. The rule itself is in
//! `store::reconcile`.

use sqlx::PgConnection;

use super::outbound::{Outbound, lock_message};
use super::sent::attach_wamid;
use super::status::apply_status;
use crate::store::reconcile::{CallbackTarget, check_target, named_message};
use crate::store::{Direction, IngestReport, MessageStatus, SentMessage, StatusUpdate};

/// Attaches the status's wamid to the outbound message that its callback
/// data names and applies the status, when `check_target` allows it.
/// Returns whether it did. A mismatch only adds a note to `report`. The
/// caller holds the lock of the status's wamid, and this locks the message
/// row after it, in the order `mark_outbound_sent` takes them.
pub(crate) async fn reconcile_status(
    conn: &mut PgConnection,
    update: &StatusUpdate,
    report: &mut IngestReport,
) -> Result<bool, sqlx::Error> {
    let Some(named) = named_message(update) else {
        return Ok(false);
    };
    let found = lock_message(conn, &named)
        .await?
        .filter(|(direction, _)| *direction == Direction::Outbound)
        .map(|(_, message)| message);
    let target = found.as_ref().map(callback_target);
    if let Err(note) = check_target(update, &named, target.as_ref()) {
        report.notes.push(note);
        return Ok(false);
    }
    let Some(mut message) = found else {
        return Ok(false);
    };

    if message.stored.status == MessageStatus::Failed {
        reopen(conn, &mut message).await?;
    }
    let sent = SentMessage {
        wamid: update.wamid.clone(),
        wa_id: None,
    };
    attach_wamid(conn, &mut message, &sent, update.timestamp).await?;
    apply_status(conn, &mut message.stored, update).await?;
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
async fn reopen(conn: &mut PgConnection, message: &mut Outbound) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET status = 'pending', error_code = NULL, error_title = NULL, \
         error_message = NULL, error_details = NULL WHERE id = $1",
    )
    .bind(message.stored.id.as_str())
    .execute(conn)
    .await?;
    message.stored.status = MessageStatus::Pending;
    Ok(())
}
