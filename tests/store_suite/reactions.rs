//! Customer reactions.

use pons::store::{Account, DynStore, InboundReaction, IngestItem};

use super::{T0, WINDOW, conversation, ingest, message, messages, text};

fn reaction(
    account: &Account,
    from: &str,
    target: &str,
    emoji: Option<&str>,
    at: i64,
) -> IngestItem {
    IngestItem::Reaction(InboundReaction {
        account_id: account.id.clone(),
        from: from.to_owned(),
        wamid: format!("wamid.reaction.{at}"),
        target_wamid: target.to_owned(),
        emoji: emoji.map(str::to_owned),
        timestamp: at,
    })
}

pub async fn reaction_add_and_remove(store: DynStore) {
    let t = tenant_account(&store, "react").await;
    let from = "15551240001";
    ingest(
        &store,
        vec![IngestItem::Message(text(&t, from, "wamid.R1", T0, "hi"))],
    )
    .await;

    let report = ingest(
        &store,
        vec![reaction(&t, from, "wamid.R1", Some("👍"), T0 + 10)],
    )
    .await;
    assert_eq!(report.reactions, 1);
    assert_eq!(report.messages_inserted, 0);
    let reacted = message(&store, &t, from, "wamid.R1").await;
    assert_eq!(reacted.reaction.as_deref(), Some("👍"));

    ingest(&store, vec![reaction(&t, from, "wamid.R1", None, T0 + 20)]).await;
    let removed = message(&store, &t, from, "wamid.R1").await;
    assert_eq!(removed.reaction, None);

    // A reaction older than the stored one does not replace it.
    ingest(
        &store,
        vec![reaction(&t, from, "wamid.R1", Some("❤️"), T0 + 15)],
    )
    .await;
    let stale = message(&store, &t, from, "wamid.R1").await;
    assert_eq!(stale.reaction, None);
    assert_eq!(
        messages(&store, &t, from).await.len(),
        1,
        "reactions are not messages"
    );
}

pub async fn reaction_before_message(store: DynStore) {
    let t = tenant_account(&store, "early").await;
    let from = "15551240002";
    let report = ingest(
        &store,
        vec![reaction(&t, from, "wamid.LATER", Some("🎉"), T0 + 5)],
    )
    .await;
    assert_eq!(report.reactions, 1);
    assert!(messages(&store, &t, from).await.is_empty());

    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t,
            from,
            "wamid.LATER",
            T0,
            "party",
        ))],
    )
    .await;
    let stored = message(&store, &t, from, "wamid.LATER").await;
    assert_eq!(stored.reaction.as_deref(), Some("🎉"));
}

pub async fn reaction_keeps_preview_extends_window(store: DynStore) {
    let t = tenant_account(&store, "window").await;
    let from = "15551240003";
    ingest(
        &store,
        vec![IngestItem::Message(text(&t, from, "wamid.W1", T0, "hello"))],
    )
    .await;
    ingest(
        &store,
        vec![reaction(&t, from, "wamid.W1", Some("👍"), T0 + 5000)],
    )
    .await;

    let conversation = conversation(&store, &t, from).await;
    assert_eq!(conversation.unread_count, 1);
    assert_eq!(conversation.last_message_preview.as_deref(), Some("hello"));
    assert_eq!(conversation.last_message_at, Some(T0));
    assert_eq!(conversation.last_message_wamid.as_deref(), Some("wamid.W1"));
    assert_eq!(conversation.window_expires_at, Some(T0 + 5000 + WINDOW));

    // A reaction from a customer with no messages opens a conversation.
    ingest(
        &store,
        vec![reaction(&t, "15551240004", "wamid.W1", Some("👍"), T0 + 10)],
    )
    .await;
    let opened = super::conversation(&store, &t, "15551240004").await;
    assert_eq!(opened.unread_count, 0);
    assert_eq!(opened.last_message_preview, None);
    assert_eq!(opened.window_expires_at, Some(T0 + 10 + WINDOW));
}

async fn tenant_account(store: &DynStore, tag: &str) -> Account {
    super::tenant(store, tag).await.account
}
