//! The business's reactions: kept as pending before they are sent, set on
//! their message when Meta's response or Meta's status webhook confirms
//! them, in the order they were begun, and forgotten when Meta refuses
//! them.

use pons::store::business_reactions::{PENDING_REACTION_SECONDS, callback_data};
use pons::store::{
    Account, AccountId, DynStore, IngestItem, MessageStatus, MetaError, StatusUpdate, StoreError,
};

use super::{T0, ingest, status, tenant, text};

const CUSTOMER: &str = "15551310011";

/// Stores a customer's message `wamid` on `account`.
async fn customer_message(store: &DynStore, account: &Account, wamid: &str) {
    ingest(
        store,
        vec![IngestItem::Message(text(
            account, CUSTOMER, wamid, T0, "hi",
        ))],
    )
    .await;
}

/// Returns the business's reaction stored on message `wamid`.
async fn reaction_on(store: &DynStore, account: &AccountId, wamid: &str) -> Option<String> {
    let found = store
        .find_message_by_wamid(std::slice::from_ref(account), wamid)
        .await
        .expect("find");
    found.expect("stored").1.business_reaction
}

/// Builds Meta's status for the reaction message `reaction_wamid`,
/// echoing `callback`.
fn reaction_status(
    account: &Account,
    reaction_wamid: &str,
    state: MessageStatus,
    callback: String,
) -> StatusUpdate {
    StatusUpdate {
        biz_opaque_callback_data: Some(callback),
        ..status(account, reaction_wamid, state, T0 + 5)
    }
}

pub async fn reaction_set_and_cleared(store: DynStore) {
    let t = tenant(&store, "biz-react").await;
    customer_message(&store, &t.account, "wamid.B1").await;

    let heart = store
        .begin_business_reaction(&t.account.id, "wamid.B1", Some("❤️".to_owned()), T0)
        .await
        .expect("begin");
    assert_eq!(reaction_on(&store, &t.account.id, "wamid.B1").await, None);
    assert!(store.apply_business_reaction(heart).await.expect("apply"));
    assert_eq!(
        reaction_on(&store, &t.account.id, "wamid.B1")
            .await
            .as_deref(),
        Some("❤️")
    );
    assert!(
        !store.apply_business_reaction(heart).await.expect("again"),
        "an applied reaction is no longer pending"
    );

    let removal = store
        .begin_business_reaction(&t.account.id, "wamid.B1", None, T0 + 1)
        .await
        .expect("begin removal");
    assert!(store.apply_business_reaction(removal).await.expect("apply"));
    assert_eq!(reaction_on(&store, &t.account.id, "wamid.B1").await, None);

    let rejected = store
        .begin_business_reaction(&t.account.id, "wamid.B1", Some("👍".to_owned()), T0 + 2)
        .await
        .expect("begin");
    store
        .forget_business_reaction(rejected)
        .await
        .expect("forget");
    assert!(
        !store
            .apply_business_reaction(rejected)
            .await
            .expect("apply")
    );
    assert_eq!(reaction_on(&store, &t.account.id, "wamid.B1").await, None);
}

pub async fn reaction_unknown_message_rejected(store: DynStore) {
    let t = tenant(&store, "biz-react-unknown").await;
    let other = tenant(&store, "biz-react-unknown-other").await;
    customer_message(&store, &t.account, "wamid.B2").await;
    for (account, wamid) in [
        (&t.account.id, "wamid.NONE"),
        (&other.account.id, "wamid.B2"),
        (&t.account.id, "wamid.\0"),
    ] {
        let result = store
            .begin_business_reaction(account, wamid, Some("👍".to_owned()), T0)
            .await;
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
}

pub async fn older_reaction_never_overwrites_newer(store: DynStore) {
    let t = tenant(&store, "biz-react-order").await;
    customer_message(&store, &t.account, "wamid.B3").await;
    let older = store
        .begin_business_reaction(&t.account.id, "wamid.B3", Some("👍".to_owned()), T0)
        .await
        .expect("begin older");
    let newer = store
        .begin_business_reaction(&t.account.id, "wamid.B3", Some("🎉".to_owned()), T0 + 1)
        .await
        .expect("begin newer");
    assert!(store.apply_business_reaction(newer).await.expect("newer"));
    assert!(
        !store.apply_business_reaction(older).await.expect("older"),
        "the older reaction was forgotten when the newer one was applied"
    );
    assert_eq!(
        reaction_on(&store, &t.account.id, "wamid.B3")
            .await
            .as_deref(),
        Some("🎉")
    );
}

pub async fn reaction_confirmed_by_status(store: DynStore) {
    let t = tenant(&store, "biz-react-status").await;
    customer_message(&store, &t.account, "wamid.B4").await;
    let lost = store
        .begin_business_reaction(&t.account.id, "wamid.B4", Some("🙏".to_owned()), T0)
        .await
        .expect("begin");

    let sent = reaction_status(
        &t.account,
        "wamid.REACTION4",
        MessageStatus::Sent,
        callback_data(lost),
    );
    let report = ingest(&store, vec![IngestItem::Status(sent.clone())]).await;
    assert_eq!(report.statuses_deferred, 0, "{report:?}");
    assert_eq!(report.statuses_reconciled, 1, "{report:?}");
    assert!(report.notes.is_empty(), "{report:?}");
    assert_eq!(
        reaction_on(&store, &t.account.id, "wamid.B4")
            .await
            .as_deref(),
        Some("🙏")
    );

    // The same status again, and the late Graph response, change nothing.
    let again = ingest(&store, vec![IngestItem::Status(sent)]).await;
    assert_eq!(again.statuses_deferred, 0, "{again:?}");
    assert_eq!(again.statuses_reconciled, 0, "{again:?}");
    assert!(!store.apply_business_reaction(lost).await.expect("apply"));
    assert_eq!(
        reaction_on(&store, &t.account.id, "wamid.B4")
            .await
            .as_deref(),
        Some("🙏")
    );
}

pub async fn reaction_failed_status_deleted(store: DynStore) {
    let t = tenant(&store, "biz-react-failed").await;
    customer_message(&store, &t.account, "wamid.B5").await;
    let shown = store
        .begin_business_reaction(&t.account.id, "wamid.B5", Some("👍".to_owned()), T0)
        .await
        .expect("begin");
    assert!(store.apply_business_reaction(shown).await.expect("apply"));
    let lost = store
        .begin_business_reaction(&t.account.id, "wamid.B5", Some("😮".to_owned()), T0 + 1)
        .await
        .expect("begin");

    let failed = StatusUpdate {
        error: Some(MetaError {
            code: Some(131009),
            title: Some("Parameter value is not valid".to_owned()),
            message: None,
            details: None,
        }),
        ..reaction_status(
            &t.account,
            "wamid.REACTION5",
            MessageStatus::Failed,
            callback_data(lost),
        )
    };
    let report = ingest(&store, vec![IngestItem::Status(failed)]).await;
    assert_eq!(report.statuses_deferred, 0, "{report:?}");
    let note = report.notes.join("\n");
    assert!(note.contains("wamid.REACTION5"), "{note}");
    assert!(note.contains("131009"), "{note}");
    assert!(!store.apply_business_reaction(lost).await.expect("apply"));
    assert_eq!(
        reaction_on(&store, &t.account.id, "wamid.B5")
            .await
            .as_deref(),
        Some("👍"),
        "the previous reaction stays"
    );
}

pub async fn reaction_status_of_other_account_ignored(store: DynStore) {
    let t = tenant(&store, "biz-react-own").await;
    let other = tenant(&store, "biz-react-own-other").await;
    customer_message(&store, &t.account, "wamid.B6").await;
    let pending = store
        .begin_business_reaction(&t.account.id, "wamid.B6", Some("👍".to_owned()), T0)
        .await
        .expect("begin");
    let foreign = reaction_status(
        &other.account,
        "wamid.REACTION6",
        MessageStatus::Sent,
        callback_data(pending),
    );
    let report = ingest(&store, vec![IngestItem::Status(foreign)]).await;
    assert_eq!(report.statuses_reconciled, 0, "{report:?}");
    assert_eq!(reaction_on(&store, &t.account.id, "wamid.B6").await, None);
    assert!(
        store.apply_business_reaction(pending).await.expect("apply"),
        "the reaction is still pending for its own account"
    );
}

pub async fn stale_pending_reactions_forgotten(store: DynStore) {
    let t = tenant(&store, "biz-react-stale").await;
    customer_message(&store, &t.account, "wamid.B7").await;
    let stale = store
        .begin_business_reaction(&t.account.id, "wamid.B7", Some("👍".to_owned()), T0)
        .await
        .expect("begin stale");
    let later = T0 + PENDING_REACTION_SECONDS + 1;
    store
        .begin_business_reaction(&t.account.id, "wamid.B7", Some("🎉".to_owned()), later)
        .await
        .expect("begin later");
    assert!(
        !store.apply_business_reaction(stale).await.expect("apply"),
        "a reaction begun more than the pending time ago is forgotten"
    );
}
