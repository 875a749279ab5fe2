//! Ingest of inbound messages, contacts, templates and whole batches.

use std::sync::Arc;

use pons::store::{
    AccountId, ArchiveFilter, ContactSeen, ConversationRef, Direction, DynStore, IngestItem,
    IngestReport, MediaRef, MessageStatus, StoreError, TemplateStatusUpdate,
};

use super::{
    T0, WINDOW, batch, conversation, ingest, message, messages, new_account, tenant, text,
    webhook_log,
};

pub async fn message_duplicate_changes_nothing(store: DynStore) {
    let t = tenant(&store, "dup").await;
    let item = IngestItem::Message(text(&t.account, "15551230001", "wamid.A", T0, "hello"));

    let first = ingest(&store, vec![item.clone()]).await;
    assert_eq!(
        first,
        IngestReport {
            messages_inserted: 1,
            ..IngestReport::default()
        }
    );
    let again = ingest(&store, vec![item]).await;
    assert_eq!(
        again,
        IngestReport {
            duplicates: 1,
            ..IngestReport::default()
        }
    );

    let stored = messages(&store, &t.account, "15551230001").await;
    assert_eq!(stored.len(), 1);
    let conversation = conversation(&store, &t.account, "15551230001").await;
    assert_eq!(conversation.unread_count, 1);
}

pub async fn message_fields_stored(store: DynStore) {
    let t = tenant(&store, "fields").await;
    let mut image = text(&t.account, "15551230002", "wamid.IMG", T0, "");
    image.kind = "image".to_owned();
    image.text = Some("a cat".to_owned());
    image.caption = Some("a cat".to_owned());
    image.context_wamid = Some("wamid.PREV".to_owned());
    image.media = Some(MediaRef {
        media_id: Some("media-1".to_owned()),
        mime_type: Some("image/jpeg".to_owned()),
        sha256: Some("abc".to_owned()),
        filename: None,
        url: None,
        ..MediaRef::default()
    });
    ingest(&store, vec![IngestItem::Message(image)]).await;

    let stored = message(&store, &t.account, "15551230002", "wamid.IMG").await;
    assert_eq!(stored.direction, Direction::Inbound);
    assert_eq!(stored.status, MessageStatus::Received);
    assert_eq!(stored.kind, "image");
    assert_eq!(stored.text.as_deref(), Some("a cat"));
    assert_eq!(stored.caption.as_deref(), Some("a cat"));
    assert_eq!(stored.timestamp, T0);
    assert_eq!(stored.context_wamid.as_deref(), Some("wamid.PREV"));
    assert!(stored.error.is_none());
    assert!(stored.reaction.is_none());
    let media = stored.media.expect("media stored");
    assert_eq!(media.media_id.as_deref(), Some("media-1"));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(media.sha256.as_deref(), Some("abc"));
}

pub async fn late_message_keeps_window_and_preview(store: DynStore) {
    let t = tenant(&store, "late").await;
    let from = "15551230003";
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            from,
            "wamid.NEW",
            T0 + 1000,
            "newer",
        ))],
    )
    .await;
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            from,
            "wamid.OLD",
            T0,
            "older",
        ))],
    )
    .await;

    let conversation = conversation(&store, &t.account, from).await;
    assert_eq!(conversation.unread_count, 2);
    assert_eq!(conversation.last_message_at, Some(T0 + 1000));
    assert_eq!(conversation.last_message_preview.as_deref(), Some("newer"));
    assert_eq!(
        conversation.last_message_wamid.as_deref(),
        Some("wamid.NEW")
    );
    assert_eq!(
        conversation.last_message_direction,
        Some(Direction::Inbound)
    );
    assert_eq!(conversation.last_message_type.as_deref(), Some("text"));
    assert_eq!(conversation.window_expires_at, Some(T0 + 1000 + WINDOW));

    let order: Vec<_> = messages(&store, &t.account, from)
        .await
        .into_iter()
        .map(|m| m.wamid)
        .collect();
    assert_eq!(
        order,
        vec![Some("wamid.OLD".to_owned()), Some("wamid.NEW".to_owned())]
    );
}

pub async fn preview_falls_back_to_caption_and_type(store: DynStore) {
    let t = tenant(&store, "preview").await;
    let cases = [
        ("15551230010", Some("body"), None, "text", "body"),
        ("15551230011", None, Some("caption"), "image", "caption"),
        ("15551230012", None, None, "sticker", "[sticker]"),
        ("15551230013", Some(""), None, "audio", "[audio]"),
    ];
    for (from, body, caption, kind, expected) in cases {
        let mut message = text(&t.account, from, &format!("wamid.{from}"), T0, "");
        message.text = body.map(str::to_owned);
        message.caption = caption.map(str::to_owned);
        message.kind = kind.to_owned();
        ingest(&store, vec![IngestItem::Message(message)]).await;
        let conversation = conversation(&store, &t.account, from).await;
        assert_eq!(
            conversation.last_message_preview.as_deref(),
            Some(expected),
            "preview of a {kind} message"
        );
    }
}

pub async fn contact_name_never_blanked(store: DynStore) {
    let t = tenant(&store, "names").await;
    let from = "15551230020";
    let seen = |name: Option<&str>| {
        IngestItem::Contact(ContactSeen {
            account_id: t.account.id.clone(),
            wa_id: from.to_owned(),
            profile_name: name.map(str::to_owned),
            user_id: None,
        })
    };

    let first = IngestItem::Message(text(&t.account, from, "wamid.N0", T0, "hello"));
    ingest(&store, vec![seen(Some("Alice")), first]).await;
    let created = conversation(&store, &t.account, from).await;
    assert_eq!(created.contact_name.as_deref(), Some("Alice"));
    assert_eq!(created.unread_count, 1);

    ingest(&store, vec![seen(None)]).await;
    let message = IngestItem::Message(text(&t.account, from, "wamid.N1", T0, "hi"));
    ingest(&store, vec![message]).await;
    let kept = conversation(&store, &t.account, from).await;
    assert_eq!(kept.contact_name.as_deref(), Some("Alice"));
    assert_eq!(kept.id, created.id, "one conversation per contact");

    ingest(&store, vec![seen(Some("Alicia"))]).await;
    let renamed = conversation(&store, &t.account, from).await;
    assert_eq!(renamed.contact_name.as_deref(), Some("Alicia"));
}

pub async fn contact_renamed_within_batch(store: DynStore) {
    let t = tenant(&store, "renames").await;
    let from = "15551230025";
    let seen = |name: Option<&str>| {
        IngestItem::Contact(ContactSeen {
            account_id: t.account.id.clone(),
            wa_id: from.to_owned(),
            profile_name: name.map(str::to_owned),
            user_id: None,
        })
    };
    let message = |wamid: &str| IngestItem::Message(text(&t.account, from, wamid, T0, "hi"));

    ingest(
        &store,
        vec![
            seen(Some("Alice")),
            message("wamid.R1"),
            seen(None),
            seen(Some("Bob")),
            message("wamid.R2"),
        ],
    )
    .await;
    let renamed = conversation(&store, &t.account, from).await;
    assert_eq!(renamed.contact_name.as_deref(), Some("Bob"));
    assert_eq!(renamed.unread_count, 2);

    // The batch stores Bob again, then Alice, then Bob: the last one wins
    // although the batch stored Bob before.
    ingest(
        &store,
        vec![seen(Some("Bob")), seen(Some("Alice")), seen(Some("Bob"))],
    )
    .await;
    let back = conversation(&store, &t.account, from).await;
    assert_eq!(back.contact_name.as_deref(), Some("Bob"));
    assert_eq!(back.id, renamed.id, "one conversation per contact");
}

pub async fn contact_alone_creates_nothing(store: DynStore) {
    let t = tenant(&store, "contact-alone").await;
    let seen = |wa_id: &str, name: &str| {
        IngestItem::Contact(ContactSeen {
            account_id: t.account.id.clone(),
            wa_id: wa_id.to_owned(),
            profile_name: Some(name.to_owned()),
            user_id: Some(format!("US.{wa_id}")),
        })
    };
    let ids = std::slice::from_ref(&t.account.id);
    let lone = "15551230050";
    let writer = "15551230051";

    // A webhook whose only message was skipped leaves its contact alone.
    ingest(&store, vec![seen(lone, "Lone")]).await;
    let found = store
        .find_conversation(ids, &ConversationRef::Phone(lone.to_owned()))
        .await
        .expect("find conversation");
    assert!(found.is_none(), "{found:?}");
    let listed = store
        .list_conversations(ids, ArchiveFilter::Any, None, 10)
        .await
        .expect("list conversations");
    assert!(listed.is_empty(), "{listed:?}");

    // The same batch stores the contact of a customer whose message it
    // stores, and still not the other one.
    ingest(
        &store,
        vec![
            seen(lone, "Lone"),
            seen(writer, "Writer"),
            IngestItem::Message(text(&t.account, writer, "wamid.CA1", T0, "hi")),
        ],
    )
    .await;
    let stored = conversation(&store, &t.account, writer).await;
    assert_eq!(stored.contact_name.as_deref(), Some("Writer"));
    assert_eq!(stored.unread_count, 1);
    let listed = store
        .list_conversations(ids, ArchiveFilter::Any, None, 10)
        .await
        .expect("list conversations");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].wa_id, writer);

    // A later message creates the contact without the name that came
    // alone before.
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            lone,
            "wamid.CA2",
            T0 + 1,
            "late",
        ))],
    )
    .await;
    let later = conversation(&store, &t.account, lone).await;
    assert_eq!(later.contact_name, None);
    assert_eq!(later.unread_count, 1);
}

pub async fn failing_batch_rolls_back_alone(store: DynStore) {
    let t = tenant(&store, "rollback").await;
    let from = "15551230030";
    // The second message names an account that does not exist, which the
    // foreign keys reject after the first message was written.
    let stray = AccountId::generate();
    let mut orphan = text(&t.account, from, "wamid.ORPHAN", T0, "orphan");
    orphan.account_id = stray;
    let bad = batch(vec![
        IngestItem::Message(text(&t.account, from, "wamid.BAD1", T0, "rolled back")),
        IngestItem::Message(orphan),
    ]);
    let good = batch(vec![IngestItem::Message(text(
        &t.account,
        from,
        "wamid.GOOD",
        T0 + 1,
        "kept",
    ))]);

    let (bad_result, good_result) = tokio::join!(store.ingest(bad), store.ingest(good));
    let error = bad_result.expect_err("batch with an unknown account must fail");
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert_eq!(good_result.expect("good batch").messages_inserted, 1);

    let wamids: Vec<_> = messages(&store, &t.account, from)
        .await
        .into_iter()
        .map(|m| m.wamid)
        .collect();
    assert_eq!(wamids, vec![Some("wamid.GOOD".to_owned())]);
    assert_eq!(conversation(&store, &t.account, from).await.unread_count, 1);

    // Nothing of the failed batch remains, so a retry stores it anew.
    let retry = ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            from,
            "wamid.BAD1",
            T0,
            "rolled back",
        ))],
    )
    .await;
    assert_eq!(retry.messages_inserted, 1);
}

pub async fn parallel_same_wamid_stored_once(store: DynStore) {
    let t = tenant(&store, "parallel").await;
    let from = "15551230040";
    let item = IngestItem::Message(text(&t.account, from, "wamid.SAME", T0, "once"));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let item = item.clone();
            tokio::spawn(async move { store.ingest(batch(vec![item])).await })
        })
        .collect();
    let mut inserted = 0;
    let mut duplicates = 0;
    for task in tasks {
        let report = task.await.expect("join").expect("ingest");
        inserted += report.messages_inserted;
        duplicates += report.duplicates;
    }
    assert_eq!(inserted, 1);
    assert_eq!(duplicates, 49);
    assert_eq!(messages(&store, &t.account, from).await.len(), 1);
    assert_eq!(conversation(&store, &t.account, from).await.unread_count, 1);
}

pub async fn template_status_per_account(store: DynStore) {
    let t = tenant(&store, "tpl").await;
    // A second number on the same WhatsApp Business Account.
    let mut sibling = new_account(&t.owner, "tpl-sibling");
    sibling.waba_id = t.account.waba_id.clone();
    store
        .create_account(sibling)
        .await
        .expect("sibling account");

    let update = |status: &str, waba: &str| {
        IngestItem::TemplateStatus(TemplateStatusUpdate {
            waba_id: waba.to_owned(),
            meta_template_id: "tmpl-1".to_owned(),
            name: Some("welcome".to_owned()),
            language: Some("en_US".to_owned()),
            status: status.to_owned(),
            reason: None,
        })
    };
    let report = ingest(&store, vec![update("APPROVED", &t.account.waba_id)]).await;
    assert_eq!(report.templates_updated, 2);
    let report = ingest(&store, vec![update("PAUSED", &t.account.waba_id)]).await;
    assert_eq!(report.templates_updated, 2);
    let report = ingest(&store, vec![update("APPROVED", "waba-unknown")]).await;
    assert_eq!(report.templates_updated, 0);
}

pub async fn record_webhook_alone(store: DynStore) {
    let t = tenant(&store, "log").await;
    let mut log = webhook_log(Some(&t.account.id));
    log.outcome = "ignored".to_owned();
    log.detail = Some("no supported field".to_owned());
    store.record_webhook(log).await.expect("record webhook");
    store
        .record_webhook(webhook_log(None))
        .await
        .expect("record webhook without account");
}
