//! Delivery statuses in every arrival order.

use pons::store::{Account, DynStore, IngestItem, MessageStatus, MetaError};

use super::{T0, ingest, message, send_text, status, tenant, text};

const CUSTOMER: &str = "15551270001";
const OUT: &str = "wamid.OUT";

/// Creates a tenant, a conversation with `CUSTOMER` and an outbound message
/// `OUT` in status `sent`.
async fn with_sent_message(store: &DynStore, tag: &str) -> Account {
    let t = tenant(store, tag).await;
    ingest(
        store,
        vec![IngestItem::Message(text(
            &t.account, CUSTOMER, "wamid.IN", T0, "hello",
        ))],
    )
    .await;
    send_text(store, &t.account, CUSTOMER, OUT, T0).await;
    t.account
}

async fn apply(store: &DynStore, account: &Account, next: MessageStatus, at: i64) -> u32 {
    ingest(
        store,
        vec![IngestItem::Status(status(account, OUT, next, at))],
    )
    .await
    .statuses_applied
}

async fn current(store: &DynStore, account: &Account) -> MessageStatus {
    message(store, account, CUSTOMER, OUT).await.status
}

pub async fn status_forward_order(store: DynStore) {
    let account = with_sent_message(&store, "forward").await;
    assert_eq!(current(&store, &account).await, MessageStatus::Sent);
    assert_eq!(
        apply(&store, &account, MessageStatus::Delivered, T0 + 2).await,
        1
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Delivered);
    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 3).await,
        1
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Read);
    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 4).await,
        0,
        "same status again"
    );
}

pub async fn status_read_before_delivered(store: DynStore) {
    let account = with_sent_message(&store, "readfirst").await;
    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 3).await,
        1
    );
    assert_eq!(
        apply(&store, &account, MessageStatus::Delivered, T0 + 2).await,
        0
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Read);
    assert_eq!(
        apply(&store, &account, MessageStatus::Sent, T0 + 1).await,
        0
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Read);
}

pub async fn status_failed_keeps_error(store: DynStore) {
    let account = with_sent_message(&store, "failed").await;
    let error = MetaError {
        code: Some(131047),
        title: Some("Re-engagement message".to_owned()),
        message: Some("More than 24 hours have passed".to_owned()),
        details: Some("Send a template instead".to_owned()),
    };
    let mut failed = status(&account, OUT, MessageStatus::Failed, T0 + 2);
    failed.error = Some(error.clone());
    let report = ingest(&store, vec![IngestItem::Status(failed)]).await;
    assert_eq!(report.statuses_applied, 1);

    let stored = message(&store, &account, CUSTOMER, OUT).await;
    assert_eq!(stored.status, MessageStatus::Failed);
    assert_eq!(stored.error, Some(error.clone()));

    // Nothing replaces failed, and the error stays.
    assert_eq!(
        apply(&store, &account, MessageStatus::Delivered, T0 + 3).await,
        0
    );
    let stored = message(&store, &account, CUSTOMER, OUT).await;
    assert_eq!(stored.status, MessageStatus::Failed);
    assert_eq!(stored.error, Some(error));
}

pub async fn status_failed_after_delivered_ignored(store: DynStore) {
    let account = with_sent_message(&store, "notfailed").await;
    assert_eq!(
        apply(&store, &account, MessageStatus::Delivered, T0 + 2).await,
        1
    );
    let mut failed = status(&account, OUT, MessageStatus::Failed, T0 + 3);
    failed.error = Some(MetaError {
        code: Some(1),
        ..MetaError::default()
    });
    let report = ingest(&store, vec![IngestItem::Status(failed.clone())]).await;
    assert_eq!(report.statuses_applied, 0);
    let stored = message(&store, &account, CUSTOMER, OUT).await;
    assert_eq!(stored.status, MessageStatus::Delivered);
    assert_eq!(stored.error, None);

    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 4).await,
        1
    );
    let report = ingest(&store, vec![IngestItem::Status(failed)]).await;
    assert_eq!(report.statuses_applied, 0);
    assert_eq!(current(&store, &account).await, MessageStatus::Read);
}

pub async fn status_played_after_read(store: DynStore) {
    let account = with_sent_message(&store, "played").await;
    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 2).await,
        1
    );
    assert_eq!(
        apply(&store, &account, MessageStatus::Played, T0 + 3).await,
        1
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Played);
    assert_eq!(
        apply(&store, &account, MessageStatus::Read, T0 + 4).await,
        0
    );
    assert_eq!(current(&store, &account).await, MessageStatus::Played);
}

pub async fn status_reverse_order_in_one_batch(store: DynStore) {
    let account = with_sent_message(&store, "reverse").await;
    let items = [
        MessageStatus::Read,
        MessageStatus::Delivered,
        MessageStatus::Sent,
    ]
    .into_iter()
    .map(|next| IngestItem::Status(status(&account, OUT, next, T0 + 5)))
    .collect();
    let report = ingest(&store, items).await;
    assert_eq!(report.statuses_applied, 1);
    assert_eq!(report.statuses_deferred, 0);
    assert_eq!(current(&store, &account).await, MessageStatus::Read);
}

pub async fn status_deferred_for_unknown_wamid(store: DynStore) {
    let t = tenant(&store, "deferred").await;
    let early = IngestItem::Status(status(
        &t.account,
        "wamid.UNKNOWN",
        MessageStatus::Delivered,
        T0,
    ));
    let report = ingest(&store, vec![early.clone()]).await;
    assert_eq!(report.statuses_deferred, 1);
    assert_eq!(report.statuses_applied, 0);
    let report = ingest(&store, vec![early]).await;
    assert_eq!(
        report.statuses_deferred, 1,
        "a repeated early status is still deferred"
    );
}

pub async fn status_on_inbound_message_ignored(store: DynStore) {
    let t = tenant(&store, "inbound").await;
    let from = "15551270002";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, from, "wamid.I1", T0, "hi",
        ))],
    )
    .await;
    let report = ingest(
        &store,
        vec![IngestItem::Status(status(
            &t.account,
            "wamid.I1",
            MessageStatus::Read,
            T0 + 1,
        ))],
    )
    .await;
    assert_eq!(report.statuses_applied, 0);
    assert_eq!(report.statuses_deferred, 0);
    let stored = message(&store, &t.account, from, "wamid.I1").await;
    assert_eq!(stored.status, MessageStatus::Received);
}
