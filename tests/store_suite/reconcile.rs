//! Statuses for a wamid the store does not know, matched to their outbound
//! message through `biz_opaque_callback_data`: the send's response was lost
//! after Meta accepted the message.

use pons::store::{
    Account, DynStore, IngestItem, IngestReport, Message, MessageId, MessageStatus, MetaError,
    SentMessage, StatusUpdate,
};

use super::{T0, conversation, ingest, outbound_text, send_text, tenant, text};

const CUSTOMER: &str = "15551400001";

/// Builds the error that a send which timed out is stored with.
fn timeout_error() -> MetaError {
    MetaError {
        code: None,
        title: None,
        message: Some("send message timed out; Meta may still have executed it".to_owned()),
        details: None,
    }
}

/// Builds a status from Meta for `wamid` to `CUSTOMER`, echoing `callback_data`.
fn echoed_status(
    account: &Account,
    wamid: &str,
    status: MessageStatus,
    timestamp: i64,
    callback_data: Option<&str>,
) -> StatusUpdate {
    StatusUpdate {
        account_id: account.id.clone(),
        wamid: wamid.to_owned(),
        status,
        timestamp,
        recipient_id: Some(CUSTOMER.to_owned()),
        error: None,
        biz_opaque_callback_data: callback_data.map(str::to_owned),
    }
}

async fn pending_send(store: &DynStore, account: &Account, timestamp: i64) -> Message {
    store
        .insert_outbound(outbound_text(account, CUSTOMER, timestamp, "your order"))
        .await
        .expect("insert outbound")
}

/// Stores a send whose Graph call timed out.
async fn timed_out_send(store: &DynStore, account: &Account, timestamp: i64) -> Message {
    let pending = pending_send(store, account, timestamp).await;
    let failed = store
        .mark_outbound_failed(&pending.id, timeout_error(), timestamp + 30)
        .await
        .expect("mark failed");
    assert_eq!(failed.status, MessageStatus::Failed);
    failed
}

async fn stored(store: &DynStore, id: &MessageId) -> Message {
    store
        .find_message(id)
        .await
        .expect("find message")
        .expect("message stored")
        .1
}

pub async fn reconcile_failed_send_by_callback(store: DynStore) {
    let t = tenant(&store, "rec-failed").await;
    let failed = timed_out_send(&store, &t.account, T0).await;
    let id = failed.id.as_str();

    // A read without the field arrives first and is kept, as before.
    let early_read = echoed_status(&t.account, "wamid.LOST", MessageStatus::Read, T0 + 5, None);
    let report = ingest(&store, vec![IngestItem::Status(early_read)]).await;
    assert_eq!(report.statuses_deferred, 1);

    let delivered = echoed_status(
        &t.account,
        "wamid.LOST",
        MessageStatus::Delivered,
        T0 + 4,
        Some(id),
    );
    let report = ingest(&store, vec![IngestItem::Status(delivered)]).await;
    assert_eq!(
        report,
        IngestReport {
            statuses_applied: 1,
            statuses_reconciled: 1,
            ..IngestReport::default()
        }
    );

    let now = stored(&store, &failed.id).await;
    assert_eq!(now.wamid.as_deref(), Some("wamid.LOST"));
    assert_eq!(now.status, MessageStatus::Read, "the kept read applies too");
    assert_eq!(
        now.error, None,
        "the timeout is no longer the message's state"
    );
    let listed = conversation(&store, &t.account, CUSTOMER).await;
    assert_eq!(listed.last_message_wamid.as_deref(), Some("wamid.LOST"));
    let by_wamid = store
        .find_message_by_wamid(std::slice::from_ref(&t.account.id), "wamid.LOST")
        .await
        .expect("find by wamid")
        .expect("found by wamid");
    assert_eq!(by_wamid.1.id, failed.id);

    // The wamid is known now, so a repeated status takes the usual path.
    let again = echoed_status(
        &t.account,
        "wamid.LOST",
        MessageStatus::Read,
        T0 + 6,
        Some(id),
    );
    let report = ingest(&store, vec![IngestItem::Status(again)]).await;
    assert_eq!(report.statuses_reconciled, 0);
    assert_eq!(report.statuses_applied, 0);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

pub async fn reconcile_pending_send_then_response(store: DynStore) {
    let t = tenant(&store, "rec-pending").await;
    let pending = pending_send(&store, &t.account, T0).await;

    let sent_status = echoed_status(
        &t.account,
        "wamid.EARLY",
        MessageStatus::Sent,
        T0 + 1,
        Some(pending.id.as_str()),
    );
    let report = ingest(&store, vec![IngestItem::Status(sent_status)]).await;
    assert_eq!(report.statuses_reconciled, 1);
    assert_eq!(report.statuses_deferred, 0);
    let now = stored(&store, &pending.id).await;
    assert_eq!(now.status, MessageStatus::Sent);
    assert_eq!(now.wamid.as_deref(), Some("wamid.EARLY"));

    // Meta's response arrives after the webhook: it changes nothing.
    let accepted = SentMessage {
        wamid: "wamid.EARLY".to_owned(),
        wa_id: Some(CUSTOMER.to_owned()),
    };
    let marked = store
        .mark_outbound_sent(&pending.id, accepted, T0 + 2)
        .await
        .expect("mark sent after the webhook");
    assert_eq!(marked.status, MessageStatus::Sent);
    assert_eq!(marked.wamid.as_deref(), Some("wamid.EARLY"));

    // The response is lost instead: the failed call leaves the message sent.
    let after_failure = store
        .mark_outbound_failed(&pending.id, timeout_error(), T0 + 3)
        .await
        .expect("mark failed after the webhook");
    assert_eq!(after_failure.status, MessageStatus::Sent);
    assert_eq!(after_failure.error, None);
    assert_eq!(after_failure.wamid.as_deref(), Some("wamid.EARLY"));
}

pub async fn reconcile_failed_status_keeps_meta_error(store: DynStore) {
    let t = tenant(&store, "rec-meta-fail").await;
    let failed = timed_out_send(&store, &t.account, T0).await;
    let meta_error = MetaError {
        code: Some(131026),
        title: Some("Message undeliverable".to_owned()),
        message: Some("Message undeliverable".to_owned()),
        details: Some("Unable to deliver the message.".to_owned()),
    };
    let mut status = echoed_status(
        &t.account,
        "wamid.UNDELIVERABLE",
        MessageStatus::Failed,
        T0 + 2,
        Some(failed.id.as_str()),
    );
    status.error = Some(meta_error.clone());
    let report = ingest(&store, vec![IngestItem::Status(status)]).await;
    assert_eq!(report.statuses_reconciled, 1);

    let now = stored(&store, &failed.id).await;
    assert_eq!(now.status, MessageStatus::Failed);
    assert_eq!(now.wamid.as_deref(), Some("wamid.UNDELIVERABLE"));
    assert_eq!(
        now.error,
        Some(meta_error),
        "Meta's error replaces the timeout"
    );
}

pub async fn reconcile_mismatch_ignored(store: DynStore) {
    let t = tenant(&store, "rec-mismatch").await;
    let other = tenant(&store, "rec-other").await;
    let failed = timed_out_send(&store, &t.account, T0).await;
    let others_send = timed_out_send(&store, &other.account, T0).await;
    let already_sent = send_text(&store, &t.account, CUSTOMER, "wamid.KNOWN", T0 + 10).await;
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            CUSTOMER,
            "wamid.IN",
            T0 + 20,
            "hi",
        ))],
    )
    .await;
    let inbound = store
        .find_message_by_wamid(std::slice::from_ref(&t.account.id), "wamid.IN")
        .await
        .expect("find inbound")
        .expect("inbound stored")
        .1;

    let mut wrong_recipient = echoed_status(
        &t.account,
        "wamid.M4",
        MessageStatus::Sent,
        T0 + 40,
        Some(failed.id.as_str()),
    );
    wrong_recipient.recipient_id = Some("15551409999".to_owned());
    let cases = [
        (
            echoed_status(
                &t.account,
                "wamid.M1",
                MessageStatus::Sent,
                T0 + 40,
                Some("no-such-message"),
            ),
            "no outbound message has the id",
        ),
        (
            echoed_status(
                &t.account,
                "wamid.M2",
                MessageStatus::Sent,
                T0 + 40,
                Some(others_send.id.as_str()),
            ),
            "belongs to another account",
        ),
        (
            echoed_status(
                &t.account,
                "wamid.M3",
                MessageStatus::Delivered,
                T0 + 40,
                Some(already_sent.id.as_str()),
            ),
            "already has the wamid wamid.KNOWN",
        ),
        (
            wrong_recipient,
            "was sent to 15551400001, not to 15551409999",
        ),
        (
            echoed_status(
                &t.account,
                "wamid.M5",
                MessageStatus::Sent,
                T0 + 40,
                Some(inbound.id.as_str()),
            ),
            "no outbound message has the id",
        ),
    ];
    for (status, reason) in cases {
        let wamid = status.wamid.clone();
        let report = ingest(&store, vec![IngestItem::Status(status)]).await;
        assert_eq!(report.statuses_reconciled, 0, "{reason}");
        assert_eq!(report.statuses_applied, 0, "{reason}");
        assert_eq!(report.statuses_deferred, 1, "{reason}: kept as before");
        assert_eq!(report.notes.len(), 1, "{reason}: {:?}", report.notes);
        assert!(report.notes[0].contains(reason), "{:?}", report.notes);
        assert!(report.notes[0].contains(&wamid), "{:?}", report.notes);
    }

    let unchanged = [
        (&failed, MessageStatus::Failed, None),
        (&others_send, MessageStatus::Failed, None),
        (&already_sent, MessageStatus::Sent, Some("wamid.KNOWN")),
        (&inbound, MessageStatus::Received, Some("wamid.IN")),
    ];
    for (before, status, wamid) in unchanged {
        let now = stored(&store, &before.id).await;
        assert_eq!(now.status, status, "{}", before.id);
        assert_eq!(now.wamid.as_deref(), wamid, "{}", before.id);
        assert_eq!(now.error, before.error, "{}", before.id);
    }
    let failed_now = stored(&store, &failed.id).await;
    assert_eq!(failed_now.error, Some(timeout_error()));
}

pub async fn reconcile_rejected_status_applies_later(store: DynStore) {
    let t = tenant(&store, "rec-later").await;
    let failed = timed_out_send(&store, &t.account, T0).await;
    let later = pending_send(&store, &t.account, T0 + 50).await;

    // The callback data names a send to another customer, so the status is
    // rejected for that send and kept under its wamid.
    let mut delivered = echoed_status(
        &t.account,
        "wamid.LATER",
        MessageStatus::Delivered,
        T0 + 60,
        Some(failed.id.as_str()),
    );
    delivered.recipient_id = Some("15551409999".to_owned());
    let report = ingest(&store, vec![IngestItem::Status(delivered)]).await;
    assert_eq!(report.statuses_reconciled, 0);
    assert_eq!(report.statuses_applied, 0);
    assert_eq!(report.statuses_deferred, 1);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(
        report.notes[0].contains("the status is kept until a message with that wamid is stored"),
        "{:?}",
        report.notes
    );
    let failed_now = stored(&store, &failed.id).await;
    assert_eq!(failed_now.status, MessageStatus::Failed);
    assert_eq!(failed_now.wamid, None);

    // Another send gets that wamid from Meta's response: the kept status
    // applies to it.
    let accepted = SentMessage {
        wamid: "wamid.LATER".to_owned(),
        wa_id: Some(CUSTOMER.to_owned()),
    };
    let marked = store
        .mark_outbound_sent(&later.id, accepted, T0 + 55)
        .await
        .expect("mark sent");
    assert_eq!(marked.wamid.as_deref(), Some("wamid.LATER"));
    assert_eq!(
        marked.status,
        MessageStatus::Delivered,
        "the kept status applied"
    );
    let failed_now = stored(&store, &failed.id).await;
    assert_eq!(
        failed_now.status,
        MessageStatus::Failed,
        "the named send is unchanged"
    );
}
