//! Conversation state set by the business: read and archived.

use pons::store::{ConversationId, DynStore, IngestItem, StoreError};

use super::{T0, conversation, ingest, tenant, text};

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

    store
        .mark_conversation_read(&before.id)
        .await
        .expect("mark read");
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

    let missing = store
        .mark_conversation_read(&ConversationId::generate())
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
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
