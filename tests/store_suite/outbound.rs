//! Outbound messages: pending, sent, failed, and what they change in the
//! conversation.

use pons::store::{
    AccountId, ArchiveFilter, ConversationRef, Direction, DynStore, InboundReaction, IngestItem,
    MessageId, MessageStatus, MetaError, SentMessage, StoreError,
};

use super::{
    T0, WINDOW, conversation, ingest, outbound_text, send_text, status, status_of, tenant, text,
};

fn sent(wamid: &str, wa_id: Option<&str>) -> SentMessage {
    SentMessage {
        wamid: wamid.to_owned(),
        wa_id: wa_id.map(str::to_owned),
    }
}

pub async fn outbound_pending_sent_delivered(store: DynStore) {
    let t = tenant(&store, "out-flow").await;
    let to = "15551310001";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, to, "wamid.IN", T0, "hi",
        ))],
    )
    .await;
    let ids = std::slice::from_ref(&t.account.id);
    assert_eq!(
        store
            .list_unanswered(ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .len(),
        1
    );

    let pending = store
        .insert_outbound(outbound_text(&t.account, to, T0 + 10, "hello back"))
        .await
        .expect("insert outbound");
    assert_eq!(pending.status, MessageStatus::Pending);
    assert_eq!(pending.direction, Direction::Outbound);
    assert_eq!(pending.wamid, None);
    assert_eq!(pending.kind, "text");
    assert_eq!(pending.text.as_deref(), Some("hello back"));
    assert_eq!(pending.timestamp, T0 + 10);

    let shown = conversation(&store, &t.account, to).await;
    assert_eq!(shown.id, pending.conversation_id);
    assert_eq!(shown.last_message_direction, Some(Direction::Outbound));
    assert_eq!(shown.last_message_preview.as_deref(), Some("hello back"));
    assert_eq!(shown.last_message_type.as_deref(), Some("text"));
    assert_eq!(shown.last_message_at, Some(T0 + 10));
    assert_eq!(shown.last_message_wamid, None);
    assert_eq!(shown.unread_count, 1, "outbound never raises unread");
    assert_eq!(
        shown.window_expires_at,
        Some(T0 + WINDOW),
        "outbound never extends the window"
    );
    assert!(
        store
            .list_unanswered(ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .is_empty(),
        "an answered conversation leaves list_unanswered"
    );

    let marked = store
        .mark_outbound_sent(&pending.id, sent("wamid.O1", Some(to)), T0 + 11)
        .await
        .expect("mark sent");
    assert_eq!(marked.status, MessageStatus::Sent);
    assert_eq!(marked.wamid.as_deref(), Some("wamid.O1"));
    let shown = conversation(&store, &t.account, to).await;
    assert_eq!(shown.last_message_wamid.as_deref(), Some("wamid.O1"));
    assert_eq!(shown.unread_count, 1);
    assert_eq!(shown.window_expires_at, Some(T0 + WINDOW));

    let delivered = status(&t.account, "wamid.O1", MessageStatus::Delivered, T0 + 12);
    let report = ingest(&store, vec![IngestItem::Status(delivered)]).await;
    assert_eq!(report.statuses_applied, 1);
    assert_eq!(
        status_of(&store, &t.account.id, "wamid.O1").await,
        MessageStatus::Delivered
    );
}

pub async fn outbound_to_new_contact(store: DynStore) {
    let t = tenant(&store, "out-new").await;
    let to = "15551310002";
    let mut image = outbound_text(&t.account, to, T0, "unused");
    image.kind = "image".to_owned();
    image.text = None;
    image.caption = Some("  ".to_owned());
    image.media = Some(pons::store::MediaRef {
        url: Some("https://example.com/cat.jpg".to_owned()),
        mime_type: Some("image/jpeg".to_owned()),
        ..Default::default()
    });
    let pending = store.insert_outbound(image).await.expect("insert outbound");
    let media = pending.media.expect("media stored");
    assert_eq!(media.url.as_deref(), Some("https://example.com/cat.jpg"));
    assert_eq!(
        media.download_status, None,
        "media sent by link is not downloaded"
    );

    let shown = conversation(&store, &t.account, to).await;
    assert_eq!(shown.wa_id, to);
    assert_eq!(shown.unread_count, 0);
    assert_eq!(shown.window_expires_at, None);
    assert_eq!(shown.last_message_preview.as_deref(), Some("[image]"));
    assert_eq!(shown.last_message_direction, Some(Direction::Outbound));
    let ids = std::slice::from_ref(&t.account.id);
    assert_eq!(
        store
            .list_conversations(ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        store
            .list_unanswered(ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn outbound_older_keeps_last_message(store: DynStore) {
    let t = tenant(&store, "out-old").await;
    let to = "15551310003";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, to, "wamid.IN", T0, "hi",
        ))],
    )
    .await;
    store
        .insert_outbound(outbound_text(&t.account, to, T0 - 100, "old"))
        .await
        .expect("insert outbound");
    let shown = conversation(&store, &t.account, to).await;
    assert_eq!(shown.last_message_direction, Some(Direction::Inbound));
    assert_eq!(shown.last_message_preview.as_deref(), Some("hi"));
    assert_eq!(shown.last_message_at, Some(T0));
}

pub async fn outbound_status_before_sent(store: DynStore) {
    let t = tenant(&store, "out-early").await;
    let to = "15551310004";
    let pending = store
        .insert_outbound(outbound_text(&t.account, to, T0, "fast"))
        .await
        .expect("insert outbound");
    // The status webhooks arrive before Meta's HTTP response, read first.
    let early = vec![
        IngestItem::Status(status(&t.account, "wamid.E1", MessageStatus::Read, T0 + 3)),
        IngestItem::Status(status(
            &t.account,
            "wamid.E1",
            MessageStatus::Delivered,
            T0 + 2,
        )),
    ];
    assert_eq!(ingest(&store, early).await.statuses_deferred, 2);

    let marked = store
        .mark_outbound_sent(&pending.id, sent("wamid.E1", Some(to)), T0 + 1)
        .await
        .expect("mark sent");
    assert_eq!(marked.status, MessageStatus::Read);

    // The kept statuses were used up: the same status now finds its message.
    let again = IngestItem::Status(status(&t.account, "wamid.E1", MessageStatus::Read, T0 + 3));
    let report = ingest(&store, vec![again]).await;
    assert_eq!(report.statuses_deferred, 0);
    assert_eq!(report.statuses_applied, 0);
}

fn meta_error() -> MetaError {
    MetaError {
        code: Some(131026),
        title: Some("Message undeliverable".to_owned()),
        message: Some("Message undeliverable".to_owned()),
        details: Some("The recipient cannot receive this message".to_owned()),
    }
}

pub async fn outbound_failed_keeps_meta_error(store: DynStore) {
    let t = tenant(&store, "out-failed").await;
    let pending = store
        .insert_outbound(outbound_text(&t.account, "15551310005", T0, "nope"))
        .await
        .expect("insert outbound");
    let failed = store
        .mark_outbound_failed(&pending.id, meta_error(), T0 + 1)
        .await
        .expect("mark failed");
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.error, Some(meta_error()));
    assert_eq!(failed.wamid, None);

    let read = store
        .find_message(&pending.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(read.0, t.account.id);
    assert_eq!(read.1.status, MessageStatus::Failed);
    assert_eq!(read.1.error, Some(meta_error()));
}

pub async fn unconfirmed_sends_marked_failed(store: DynStore) {
    let t = tenant(&store, "out-unconfirmed").await;
    let stale = store
        .insert_outbound(outbound_text(&t.account, "15551310010", T0, "stale"))
        .await
        .expect("insert stale");
    let recent = store
        .insert_outbound(outbound_text(&t.account, "15551310011", T0 + 600, "recent"))
        .await
        .expect("insert recent");
    let confirmed = send_text(&store, &t.account, "15551310012", "wamid.U1", T0).await;
    let error = MetaError {
        code: None,
        title: Some("Send not confirmed".to_owned()),
        message: Some("Pons stopped before Meta confirmed this send".to_owned()),
        details: None,
    };

    let marked = store
        .fail_unconfirmed_sends(T0 + 300, error.clone(), T0 + 900)
        .await
        .expect("fail unconfirmed sends");
    assert_eq!(marked, vec![stale.id.clone()]);

    let (_, stale_now) = store.find_message(&stale.id).await.unwrap().unwrap();
    assert_eq!(stale_now.status, MessageStatus::Failed);
    assert_eq!(stale_now.error, Some(error.clone()));
    let (_, recent_now) = store.find_message(&recent.id).await.unwrap().unwrap();
    assert_eq!(recent_now.status, MessageStatus::Pending);
    let (_, confirmed_now) = store.find_message(&confirmed.id).await.unwrap().unwrap();
    assert_eq!(confirmed_now.status, MessageStatus::Sent);

    let again = store
        .fail_unconfirmed_sends(T0 + 300, error, T0 + 901)
        .await
        .expect("fail unconfirmed sends again");
    assert!(again.is_empty(), "{again:?}");
}

pub async fn outbound_failed_after_delivered_ignored(store: DynStore) {
    let t = tenant(&store, "out-late-fail").await;
    let message = send_text(&store, &t.account, "15551310006", "wamid.D1", T0).await;
    let delivered = status(&t.account, "wamid.D1", MessageStatus::Delivered, T0 + 2);
    ingest(&store, vec![IngestItem::Status(delivered)]).await;

    let after = store
        .mark_outbound_failed(&message.id, meta_error(), T0 + 3)
        .await
        .expect("mark failed");
    assert_eq!(after.status, MessageStatus::Delivered);
    assert_eq!(after.error, None);
}

pub async fn outbound_wamid_conflicts(store: DynStore) {
    let t = tenant(&store, "out-conflict").await;
    let to = "15551310007";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            to,
            "wamid.IN7",
            T0,
            "hi",
        ))],
    )
    .await;
    let first = send_text(&store, &t.account, to, "wamid.C1", T0 + 1).await;
    let second = store
        .insert_outbound(outbound_text(&t.account, to, T0 + 5, "second"))
        .await
        .expect("insert outbound");

    for taken in ["wamid.C1", "wamid.IN7"] {
        let result = store
            .mark_outbound_sent(&second.id, sent(taken, None), T0 + 6)
            .await;
        assert!(
            matches!(result, Err(StoreError::Conflict(_))),
            "{taken}: {result:?}"
        );
    }
    let unchanged = store
        .find_message(&second.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(unchanged.1.status, MessageStatus::Pending);
    assert_eq!(unchanged.1.wamid, None);

    // The same wamid again is a no-op; another one is a conflict.
    let again = store
        .mark_outbound_sent(&first.id, sent("wamid.C1", None), T0 + 9)
        .await
        .expect("repeat mark sent");
    assert_eq!(again.wamid.as_deref(), Some("wamid.C1"));
    let other = store
        .mark_outbound_sent(&first.id, sent("wamid.C2", None), T0 + 9)
        .await;
    assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");
}

pub async fn outbound_adopts_meta_wa_id(store: DynStore) {
    let t = tenant(&store, "out-waid").await;
    let dialled = "5511987654321";
    let reported = "551187654321";
    let pending = store
        .insert_outbound(outbound_text(&t.account, dialled, T0, "oi"))
        .await
        .expect("insert outbound");
    store
        .mark_outbound_sent(&pending.id, sent("wamid.W1", Some(reported)), T0 + 1)
        .await
        .expect("mark sent");

    let shown = conversation(&store, &t.account, reported).await;
    assert_eq!(shown.id, pending.conversation_id);
    let by_dialled = store
        .find_conversation(
            std::slice::from_ref(&t.account.id),
            &ConversationRef::Phone(dialled.to_owned()),
        )
        .await
        .expect("find");
    assert!(by_dialled.is_none(), "the contact now has Meta's wa_id");

    // The customer's reply lands in the same conversation.
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            reported,
            "wamid.R1",
            T0 + 5,
            "ok",
        ))],
    )
    .await;
    let ids = std::slice::from_ref(&t.account.id);
    assert_eq!(
        store
            .list_conversations(ids, ArchiveFilter::Any, None, 10)
            .await
            .expect("list")
            .len(),
        1
    );
}

pub async fn outbound_keeps_wa_id_when_taken(store: DynStore) {
    let t = tenant(&store, "out-taken").await;
    let dialled = "5511987650000";
    let reported = "551187650000";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account, reported, "wamid.K0", T0, "hi",
        ))],
    )
    .await;
    let pending = store
        .insert_outbound(outbound_text(&t.account, dialled, T0 + 1, "oi"))
        .await
        .expect("insert outbound");
    let marked = store
        .mark_outbound_sent(&pending.id, sent("wamid.K1", Some(reported)), T0 + 2)
        .await
        .expect("mark sent");
    assert_eq!(marked.status, MessageStatus::Sent);
    assert_eq!(marked.conversation_id, pending.conversation_id);
    assert_eq!(
        conversation(&store, &t.account, dialled).await.id,
        pending.conversation_id
    );
    assert_ne!(
        conversation(&store, &t.account, reported).await.id,
        pending.conversation_id
    );
}

pub async fn outbound_rejects_unknown_and_inbound(store: DynStore) {
    let t = tenant(&store, "out-reject").await;
    let mut stranger = outbound_text(&t.account, "15551310008", T0, "x");
    stranger.account_id = AccountId::generate();
    let result = store.insert_outbound(stranger).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");

    let unknown = MessageId::generate();
    let result = store
        .mark_outbound_sent(&unknown, sent("wamid.X", None), T0)
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    let result = store.mark_outbound_failed(&unknown, meta_error(), T0).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");

    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            "15551310008",
            "wamid.I8",
            T0,
            "hi",
        ))],
    )
    .await;
    let (_, inbound) = store
        .find_message_by_wamid(std::slice::from_ref(&t.account.id), "wamid.I8")
        .await
        .expect("find")
        .expect("stored");
    let result = store
        .mark_outbound_sent(&inbound.id, sent("wamid.X", None), T0)
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    let result = store
        .mark_outbound_failed(&inbound.id, meta_error(), T0)
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
}

pub async fn outbound_reaction_before_sent(store: DynStore) {
    let t = tenant(&store, "out-react").await;
    let to = "15551310009";
    let pending = store
        .insert_outbound(outbound_text(&t.account, to, T0, "like this"))
        .await
        .expect("insert outbound");
    let reaction = IngestItem::Reaction(InboundReaction {
        account_id: t.account.id.clone(),
        from: to.to_owned(),
        wamid: "wamid.reaction".to_owned(),
        target_wamid: "wamid.RX".to_owned(),
        emoji: Some("👍".to_owned()),
        timestamp: T0 + 2,
    });
    ingest(&store, vec![reaction]).await;
    let marked = store
        .mark_outbound_sent(&pending.id, sent("wamid.RX", Some(to)), T0 + 1)
        .await
        .expect("mark sent");
    assert_eq!(marked.reaction.as_deref(), Some("👍"));
}

pub async fn outbound_last_wamid_only_when_newest(store: DynStore) {
    let t = tenant(&store, "out-last").await;
    let to = "15551310010";
    let pending = store
        .insert_outbound(outbound_text(&t.account, to, T0, "first"))
        .await
        .expect("insert outbound");
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            to,
            "wamid.NEWER",
            T0 + 5,
            "reply",
        ))],
    )
    .await;
    store
        .mark_outbound_sent(&pending.id, sent("wamid.L1", Some(to)), T0 + 6)
        .await
        .expect("mark sent");
    let shown = conversation(&store, &t.account, to).await;
    assert_eq!(shown.last_message_wamid.as_deref(), Some("wamid.NEWER"));
    assert_eq!(shown.last_message_direction, Some(Direction::Inbound));
}

pub async fn find_message_by_id_and_wamid(store: DynStore) {
    let a = tenant(&store, "find-msg-a").await;
    let b = tenant(&store, "find-msg-b").await;
    let from = "15551310012";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &a.account, from, "wamid.F1", T0, "hi",
        ))],
    )
    .await;
    let both = [a.account.id.clone(), b.account.id.clone()];
    let (account, message) = store
        .find_message_by_wamid(&both, "wamid.F1")
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(account, a.account.id);
    assert_eq!(message.text.as_deref(), Some("hi"));

    let by_id = store
        .find_message(&message.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(by_id.0, a.account.id);
    assert_eq!(by_id.1.wamid.as_deref(), Some("wamid.F1"));

    let only_b = std::slice::from_ref(&b.account.id);
    assert!(
        store
            .find_message_by_wamid(only_b, "wamid.F1")
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_message_by_wamid(&[], "wamid.F1")
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_message(&MessageId::generate())
            .await
            .expect("find")
            .is_none()
    );
}

pub async fn find_messages_by_wamid_in_each_account(store: DynStore) {
    let a = tenant(&store, "dup-wamid-a").await;
    let b = tenant(&store, "dup-wamid-b").await;
    let c = tenant(&store, "dup-wamid-c").await;
    let from = "15551310013";
    for (account, body) in [(&a.account, "to a"), (&b.account, "to b")] {
        ingest(
            &store,
            vec![IngestItem::Message(text(
                account,
                from,
                "wamid.DUP",
                T0,
                body,
            ))],
        )
        .await;
    }
    let all = [
        a.account.id.clone(),
        b.account.id.clone(),
        c.account.id.clone(),
    ];

    let found = store
        .find_messages_by_wamid(&all, "wamid.DUP")
        .await
        .expect("find");
    let mut holders: Vec<&str> = found.iter().map(|(account, _)| account.as_str()).collect();
    holders.sort();
    let mut expected = vec![a.account.id.as_str(), b.account.id.as_str()];
    expected.sort();
    assert_eq!(holders, expected, "one message per account that stores it");
    for (account, message) in &found {
        let body = if *account == a.account.id {
            "to a"
        } else {
            "to b"
        };
        assert_eq!(message.text.as_deref(), Some(body));
        assert_eq!(message.wamid.as_deref(), Some("wamid.DUP"));
    }

    let first = store
        .find_message_by_wamid(&all, "wamid.DUP")
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(first.0, found[0].0, "the single lookup returns the oldest");

    let only_a = store
        .find_messages_by_wamid(std::slice::from_ref(&a.account.id), "wamid.DUP")
        .await
        .expect("find");
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].0, a.account.id);

    let only_c = store
        .find_messages_by_wamid(std::slice::from_ref(&c.account.id), "wamid.DUP")
        .await
        .expect("find");
    assert!(only_c.is_empty(), "{only_c:?}");
    let none = store
        .find_messages_by_wamid(&[], "wamid.DUP")
        .await
        .expect("find");
    assert!(none.is_empty(), "{none:?}");
}

/// Phone numbers of the conversations `list_unanswered` returns.
async fn unanswered(store: &DynStore, account: &AccountId) -> Vec<String> {
    store
        .list_unanswered(std::slice::from_ref(account), ArchiveFilter::Any, None, 10)
        .await
        .expect("list unanswered")
        .into_iter()
        .map(|conversation| conversation.wa_id)
        .collect()
}

pub async fn failed_reply_leaves_conversation_unanswered(store: DynStore) {
    let t = tenant(&store, "failed-reply").await;
    let (failed_only, answered_before) = ("15551310011", "15551310012");
    ingest(
        &store,
        vec![
            IngestItem::Message(text(&t.account, failed_only, "wamid.W1", T0, "hi")),
            IngestItem::Message(text(&t.account, answered_before, "wamid.W2", T0, "hey")),
        ],
    )
    .await;
    send_text(&store, &t.account, answered_before, "wamid.R2", T0 + 5).await;
    for to in [failed_only, answered_before] {
        for at in [T0 + 10, T0 + 11] {
            let pending = store
                .insert_outbound(outbound_text(&t.account, to, at, "reply"))
                .await
                .expect("insert outbound");
            store
                .mark_outbound_failed(&pending.id, meta_error(), at + 1)
                .await
                .expect("mark failed");
        }
    }
    assert_eq!(
        unanswered(&store, &t.account.id).await,
        [failed_only],
        "only the customer whose every reply failed waits"
    );

    send_text(&store, &t.account, failed_only, "wamid.R1", T0 + 20).await;
    assert!(unanswered(&store, &t.account.id).await.is_empty());
}
