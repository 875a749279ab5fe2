//! Customer reactions.

use pons::store::{
    Account, ContactSeen, ConversationRef, DynStore, InboundReaction, IngestItem, SentMessage,
};

use super::{T0, WINDOW, conversation, ingest, message, messages, outbound_text, text};

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

    // A reaction from a customer with no messages, to a message not stored
    // yet, opens a conversation.
    ingest(
        &store,
        vec![reaction(&t, "15551240004", "wamid.W9", Some("👍"), T0 + 10)],
    )
    .await;
    let opened = super::conversation(&store, &t, "15551240004").await;
    assert_eq!(opened.unread_count, 0);
    assert_eq!(opened.last_message_preview, None);
    assert_eq!(opened.window_expires_at, Some(T0 + 10 + WINDOW));
}

pub async fn reaction_to_other_customer_skipped(store: DynStore) {
    let t = tenant_account(&store, "foreign").await;
    let owner = "15551240010";
    let other = "15551240011";
    let stranger = "15551240012";
    let owner_user_id = "US.owner";
    let owner_contact = IngestItem::Contact(ContactSeen {
        account_id: t.id.clone(),
        wa_id: owner.to_owned(),
        profile_name: Some("Owner".to_owned()),
        user_id: Some(owner_user_id.to_owned()),
    });
    ingest(
        &store,
        vec![
            owner_contact,
            IngestItem::Message(text(&t, owner, "wamid.F1", T0, "mine")),
            IngestItem::Message(text(&t, other, "wamid.F2", T0, "theirs")),
        ],
    )
    .await;

    let report = ingest(
        &store,
        vec![reaction(&t, other, "wamid.F1", Some("👎"), T0 + 100)],
    )
    .await;
    assert_eq!(report.reactions, 0);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    let note = &report.notes[0];
    assert!(note.contains("wamid.F1"), "{note}");
    assert!(note.contains(other), "{note}");
    assert!(note.contains("skipped"), "{note}");
    let target = message(&store, &t, owner, "wamid.F1").await;
    assert_eq!(target.reaction, None);
    let reactor = conversation(&store, &t, other).await;
    assert_eq!(
        reactor.window_expires_at,
        Some(T0 + WINDOW),
        "a skipped reaction extends no window"
    );
    let target_conversation = conversation(&store, &t, owner).await;
    assert_eq!(target_conversation.window_expires_at, Some(T0 + WINDOW));
    assert_eq!(target_conversation.unread_count, 1);

    // A customer without a conversation gets none, nor a contact.
    let stranger_contact = IngestItem::Contact(ContactSeen {
        account_id: t.id.clone(),
        wa_id: stranger.to_owned(),
        profile_name: Some("Stranger".to_owned()),
        user_id: None,
    });
    let report = ingest(
        &store,
        vec![
            stranger_contact,
            reaction(&t, stranger, "wamid.F1", Some("👎"), T0 + 200),
        ],
    )
    .await;
    assert_eq!(report.reactions, 0);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    let found = store
        .find_conversation(
            std::slice::from_ref(&t.id),
            &ConversationRef::Phone(stranger.to_owned()),
        )
        .await
        .expect("find conversation");
    assert!(found.is_none(), "{found:?}");

    // The customer's own reaction applies, by wa_id or by user id, and a
    // later one from another customer does not replace it.
    let report = ingest(
        &store,
        vec![reaction(&t, owner, "wamid.F1", Some("👍"), T0 + 300)],
    )
    .await;
    assert_eq!(report.reactions, 1);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(
        message(&store, &t, owner, "wamid.F1")
            .await
            .reaction
            .as_deref(),
        Some("👍")
    );
    let report = ingest(
        &store,
        vec![reaction(
            &t,
            owner_user_id,
            "wamid.F1",
            Some("❤️"),
            T0 + 400,
        )],
    )
    .await;
    assert_eq!(report.reactions, 1);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    ingest(
        &store,
        vec![reaction(&t, other, "wamid.F1", Some("👎"), T0 + 500)],
    )
    .await;
    assert_eq!(
        message(&store, &t, owner, "wamid.F1")
            .await
            .reaction
            .as_deref(),
        Some("❤️")
    );
}

pub async fn early_reaction_of_other_customer_ignored(store: DynStore) {
    let t = tenant_account(&store, "foreign-early").await;
    let owner = "15551240020";
    let stranger = "15551240021";

    // Two reactions wait for wamid.E1, the stranger's newer than the
    // owner's: only the owner's goes onto the owner's message.
    ingest(
        &store,
        vec![
            reaction(&t, owner, "wamid.E1", Some("👍"), T0 + 5),
            reaction(&t, stranger, "wamid.E1", Some("🎉"), T0 + 6),
        ],
    )
    .await;
    ingest(
        &store,
        vec![IngestItem::Message(text(&t, owner, "wamid.E1", T0, "hi"))],
    )
    .await;
    let stored = message(&store, &t, owner, "wamid.E1").await;
    assert_eq!(stored.reaction.as_deref(), Some("👍"));

    // Only the stranger's reaction waits for wamid.E2.
    ingest(
        &store,
        vec![reaction(&t, stranger, "wamid.E2", Some("🎉"), T0 + 7)],
    )
    .await;
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t,
            owner,
            "wamid.E2",
            T0 + 1,
            "again",
        ))],
    )
    .await;
    let stored = message(&store, &t, owner, "wamid.E2").await;
    assert_eq!(stored.reaction, None);

    // A send to the owner whose wamid the stranger reacted to first.
    let pending = store
        .insert_outbound(outbound_text(&t, owner, T0 + 10, "reply"))
        .await
        .expect("insert outbound");
    ingest(
        &store,
        vec![reaction(&t, stranger, "wamid.E3", Some("👎"), T0 + 12)],
    )
    .await;
    let sent = SentMessage {
        wamid: "wamid.E3".to_owned(),
        wa_id: Some(owner.to_owned()),
    };
    let marked = store
        .mark_outbound_sent(&pending.id, sent, T0 + 11)
        .await
        .expect("mark sent");
    assert_eq!(marked.reaction, None);
}

async fn tenant_account(store: &DynStore, tag: &str) -> Account {
    super::tenant(store, tag).await.account
}
