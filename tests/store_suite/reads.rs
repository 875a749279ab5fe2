//! Conversation lists, lookups and message history.

use pons::store::{
    AccountId, ArchiveFilter, ContactSeen, ConversationId, ConversationRef, DynStore,
    InboundReaction, IngestItem, MessageId,
};

use super::{T0, conversation, ingest, tenant, text};

pub async fn conversations_ordered_and_filtered(store: DynStore) {
    let t = tenant(&store, "lists").await;
    let account = &t.account;
    ingest(
        &store,
        vec![
            IngestItem::Message(text(account, "15551250001", "wamid.L1", T0 + 10, "middle")),
            IngestItem::Message(text(account, "15551250002", "wamid.L2", T0 + 30, "newest")),
            IngestItem::Message(text(account, "15551250003", "wamid.L3", T0 + 20, "second")),
            // A reaction to a message not stored opens a conversation
            // without messages.
            IngestItem::Contact(ContactSeen {
                account_id: account.id.clone(),
                wa_id: "15551250004".to_owned(),
                profile_name: Some("Quiet".to_owned()),
                user_id: None,
            }),
            IngestItem::Reaction(InboundReaction {
                account_id: account.id.clone(),
                from: "15551250004".to_owned(),
                wamid: "wamid.L4".to_owned(),
                target_wamid: "wamid.ELSEWHERE".to_owned(),
                emoji: Some("👍".to_owned()),
                timestamp: T0 + 40,
            }),
        ],
    )
    .await;
    let ids = std::slice::from_ref(&account.id);

    let listed: Vec<_> = store
        .list_conversations(ids, ArchiveFilter::Any, None, 10)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.wa_id)
        .collect();
    assert_eq!(
        listed,
        vec!["15551250002", "15551250003", "15551250001", "15551250004"]
    );

    let limited = store
        .list_conversations(ids, ArchiveFilter::Any, None, 2)
        .await
        .expect("list");
    assert_eq!(limited.len(), 2);

    let unanswered: Vec<_> = store
        .list_unanswered(ids, ArchiveFilter::Any, None, 10)
        .await
        .expect("unanswered")
        .into_iter()
        .map(|c| c.wa_id)
        .collect();
    assert_eq!(
        unanswered,
        vec!["15551250002", "15551250003", "15551250001"]
    );
}

pub async fn find_conversation_by_id_and_phone(store: DynStore) {
    let a = tenant(&store, "find-a").await;
    let b = tenant(&store, "find-b").await;
    let from = "15551250010";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &a.account, from, "wamid.F1", T0, "hi",
        ))],
    )
    .await;
    let found = conversation(&store, &a.account, from).await;
    assert_eq!(found.account_id, a.account.id);
    assert_eq!(found.wa_id, from);
    assert!(!found.archived);

    let by_id = store
        .find_conversation(
            std::slice::from_ref(&a.account.id),
            &ConversationRef::Id(found.id.clone()),
        )
        .await
        .expect("find by id")
        .expect("found by id");
    assert_eq!(by_id.id, found.id);
    assert_eq!(by_id.contact_id, found.contact_id);

    let other_tenant = [b.account.id.clone()];
    let hidden = store
        .find_conversation(&other_tenant, &ConversationRef::Id(found.id.clone()))
        .await
        .expect("find");
    assert!(
        hidden.is_none(),
        "another account's conversation is not found"
    );
    let hidden = store
        .find_conversation(&other_tenant, &ConversationRef::Phone(from.to_owned()))
        .await
        .expect("find");
    assert!(hidden.is_none());
    let unknown = store
        .find_conversation(
            std::slice::from_ref(&a.account.id),
            &ConversationRef::Id(ConversationId::generate()),
        )
        .await
        .expect("find");
    assert!(unknown.is_none());
}

pub async fn conversation_messages_newest_oldest_first(store: DynStore) {
    let t = tenant(&store, "history").await;
    let from = "15551250020";
    let items = [3, 1, 5, 2, 4]
        .into_iter()
        .map(|n| IngestItem::Message(text(&t.account, from, &format!("wamid.H{n}"), T0 + n, "x")))
        .collect();
    ingest(&store, items).await;
    let conversation = conversation(&store, &t.account, from).await;

    let newest: Vec<_> = store
        .conversation_messages(&conversation.id, 3)
        .await
        .expect("messages")
        .into_iter()
        .map(|m| m.timestamp)
        .collect();
    assert_eq!(newest, vec![T0 + 3, T0 + 4, T0 + 5]);
}

pub async fn read_conversation_with_its_messages(store: DynStore) {
    let t = tenant(&store, "read-whole").await;
    let other = tenant(&store, "read-other").await;
    let from = "15551250040";
    let items = (1..=4)
        .map(|n| IngestItem::Message(text(&t.account, from, &format!("wamid.R{n}"), T0 + n, "x")))
        .collect();
    ingest(&store, items).await;
    let by_phone = ConversationRef::Phone(from.to_owned());

    let (found, messages) = store
        .read_conversation(std::slice::from_ref(&t.account.id), &by_phone, 2)
        .await
        .expect("read")
        .expect("the conversation is found by phone");
    let times: Vec<_> = messages.iter().map(|m| m.timestamp).collect();
    assert_eq!(
        times,
        vec![T0 + 3, T0 + 4],
        "the newest messages, oldest first"
    );
    assert!(messages.iter().all(|m| m.conversation_id == found.id));

    let by_id = ConversationRef::Id(found.id.clone());
    let again = store
        .read_conversation(std::slice::from_ref(&t.account.id), &by_id, 10)
        .await
        .expect("read")
        .expect("the conversation is found by id");
    assert_eq!(again.1.len(), 4);

    let elsewhere = store
        .read_conversation(std::slice::from_ref(&other.account.id), &by_id, 10)
        .await
        .expect("read");
    assert!(elsewhere.is_none(), "another account does not read it");
}

pub async fn empty_accounts_return_nothing(store: DynStore) {
    let t = tenant(&store, "empty").await;
    let from = "15551250030";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, from, "wamid.E1", T0, "word",
        ))],
    )
    .await;
    let none: [AccountId; 0] = [];

    assert!(
        store
            .list_conversations(&none, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_unanswered(&none, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    let found = store
        .find_conversation(&none, &ConversationRef::Phone(from.to_owned()))
        .await
        .expect("find");
    assert!(found.is_none());
    assert!(
        store
            .search_messages(&none, "word", 10)
            .await
            .expect("search")
            .is_empty()
    );
}

/// PostgreSQL text cannot hold NUL, so no stored id or wamid contains one.
/// A lookup with one comes from a caller's argument and finds nothing on
/// both backends, instead of failing on PostgreSQL.
pub async fn lookups_with_nul_find_nothing(store: DynStore) {
    let t = tenant(&store, "nul").await;
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            "15551250040",
            "wamid.N1",
            T0,
            "word",
        ))],
    )
    .await;
    let ids = std::slice::from_ref(&t.account.id);

    let by_wamid = store
        .find_message_by_wamid(ids, "wamid.N1\0")
        .await
        .expect("find by wamid");
    assert!(by_wamid.is_none());
    let by_id = store
        .find_message(&MessageId("message\0".to_owned()))
        .await
        .expect("find by id");
    assert!(by_id.is_none());
    let by_conversation_id = ConversationRef::Id(ConversationId("conversation\0".to_owned()));
    let conversation = store
        .find_conversation(ids, &by_conversation_id)
        .await
        .expect("find conversation by id");
    assert!(conversation.is_none());
    let by_phone = ConversationRef::Phone("15551250040\0".to_owned());
    let conversation = store
        .find_conversation(ids, &by_phone)
        .await
        .expect("find conversation by phone");
    assert!(conversation.is_none());
}
