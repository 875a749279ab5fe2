//! Conversation state set by the business: read and archived.

use pons::store::{
    AccountId, ArchiveFilter, ConversationId, DynStore, IngestItem, MessageId, MessageStatus,
    StoreError,
};

use super::{T0, conversation, ingest, tenant, text};

/// Returns the Pons id of the account's message with this wamid.
async fn message_id(store: &DynStore, account: &AccountId, wamid: &str) -> MessageId {
    let (_, message) = store
        .find_message_by_wamid(std::slice::from_ref(account), wamid)
        .await
        .expect("find message")
        .expect("message stored");
    message.id
}

/// Returns the status of each of the account's messages with these wamids.
async fn statuses(store: &DynStore, account: &AccountId, wamids: &[&str]) -> Vec<MessageStatus> {
    let mut found = Vec::new();
    for wamid in wamids {
        let (_, message) = store
            .find_message_by_wamid(std::slice::from_ref(account), wamid)
            .await
            .expect("find message")
            .expect("message stored");
        found.push(message.status);
    }
    found
}

pub async fn mark_read_resets_unread(store: DynStore) {
    let t = tenant(&store, "read").await;
    let from = "15551300001";
    ingest(
        &store,
        vec![
            IngestItem::Message(text(&t.account, from, "wamid.U1", T0, "one")),
            IngestItem::Message(text(&t.account, from, "wamid.U2", T0 + 1, "two")),
        ],
    )
    .await;
    let before = conversation(&store, &t.account, from).await;
    assert_eq!(before.unread_count, 2);

    let last = message_id(&store, &t.account.id, "wamid.U2").await;
    let unread = store.mark_read_up_to(&last, true).await.expect("mark read");
    assert_eq!(unread, 0);
    assert_eq!(
        statuses(&store, &t.account.id, &["wamid.U1", "wamid.U2"]).await,
        [MessageStatus::Read, MessageStatus::Read]
    );
    let after = conversation(&store, &t.account, from).await;
    assert_eq!(after.unread_count, 0);
    assert_eq!(after.window_expires_at, before.window_expires_at);
    assert_eq!(after.last_message_wamid.as_deref(), Some("wamid.U2"));

    // A later message counts from zero again.
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            from,
            "wamid.U3",
            T0 + 2,
            "three",
        ))],
    )
    .await;
    assert_eq!(conversation(&store, &t.account, from).await.unread_count, 1);

    let missing = store.mark_read_up_to(&MessageId::generate(), true).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

pub async fn mark_read_keeps_newer_unread(store: DynStore) {
    let t = tenant(&store, "read-older").await;
    let from = "15551300003";
    ingest(
        &store,
        vec![
            IngestItem::Message(text(&t.account, from, "wamid.R1", T0, "one")),
            IngestItem::Message(text(&t.account, from, "wamid.R2", T0 + 1, "two")),
            IngestItem::Message(text(&t.account, from, "wamid.R3", T0 + 1, "three")),
            IngestItem::Message(text(&t.account, from, "wamid.R4", T0 + 2, "four")),
        ],
    )
    .await;
    assert_eq!(conversation(&store, &t.account, from).await.unread_count, 4);

    // R3 has R2's timestamp but was stored after it, so it stays unread.
    let second = message_id(&store, &t.account.id, "wamid.R2").await;
    let unread = store
        .mark_read_up_to(&second, true)
        .await
        .expect("mark R2 read");
    assert_eq!(unread, 2);
    assert_eq!(conversation(&store, &t.account, from).await.unread_count, 2);
    let all = ["wamid.R1", "wamid.R2", "wamid.R3", "wamid.R4"];
    let (read, received) = (MessageStatus::Read, MessageStatus::Received);
    assert_eq!(
        statuses(&store, &t.account.id, &all).await,
        [read, read, received, received]
    );

    // An older message read later does not raise the count again.
    let first = message_id(&store, &t.account.id, "wamid.R1").await;
    let unread = store
        .mark_read_up_to(&first, true)
        .await
        .expect("mark R1 read");
    assert_eq!(unread, 2);

    // A receipt Meta did not accept clears the count but leaves the
    // customer's messages unread on their side.
    let newest = message_id(&store, &t.account.id, "wamid.R4").await;
    let unread = store
        .mark_read_up_to(&newest, false)
        .await
        .expect("mark R4 read");
    assert_eq!(unread, 0);
    assert_eq!(
        statuses(&store, &t.account.id, &all).await,
        [read, read, received, received]
    );
}

pub async fn archive_and_unarchive(store: DynStore) {
    let t = tenant(&store, "archive").await;
    let from = "15551300002";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, from, "wamid.A1", T0, "hi",
        ))],
    )
    .await;
    let id = conversation(&store, &t.account, from).await.id;
    assert!(!conversation(&store, &t.account, from).await.archived);

    store
        .set_conversation_archived(&id, Some(T0 + 5))
        .await
        .expect("archive");
    assert!(conversation(&store, &t.account, from).await.archived);

    store
        .set_conversation_archived(&id, None)
        .await
        .expect("unarchive");
    assert!(!conversation(&store, &t.account, from).await.archived);

    let missing = store
        .set_conversation_archived(&ConversationId::generate(), Some(T0))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

/// Phone numbers of the conversations a list returned, in its order.
fn phones(list: &[pons::store::ConversationSummary]) -> Vec<&str> {
    list.iter().map(|c| c.wa_id.as_str()).collect()
}

pub async fn archive_filter_in_lists(store: DynStore) {
    let t = tenant(&store, "archive-filter").await;
    let (kept, archived) = ("15551300011", "15551300012");
    ingest(
        &store,
        vec![
            IngestItem::Message(text(&t.account, kept, "wamid.F1", T0, "hi")),
            IngestItem::Message(text(&t.account, archived, "wamid.F2", T0 + 1, "hello")),
        ],
    )
    .await;
    let id = conversation(&store, &t.account, archived).await.id;
    store
        .set_conversation_archived(&id, Some(T0 + 5))
        .await
        .expect("archive");
    let accounts = std::slice::from_ref(&t.account.id);

    for (filter, expected) in [
        (ArchiveFilter::Any, vec![archived, kept]),
        (ArchiveFilter::Active, vec![kept]),
        (ArchiveFilter::Archived, vec![archived]),
    ] {
        let all = store
            .list_conversations(accounts, filter, None, 10)
            .await
            .expect("list conversations");
        assert_eq!(phones(&all), expected, "list_conversations {filter:?}");
        let unanswered = store
            .list_unanswered(accounts, filter, None, 10)
            .await
            .expect("list unanswered");
        assert_eq!(phones(&unanswered), expected, "list_unanswered {filter:?}");
    }
}
