//! The PostgreSQL backend against a real server. Each test runs in its own
//! fresh database; without `PONS_TEST_DATABASE_URL` the tests print that
//! they were not run and pass.

mod postgres_harness;

use pons::store::*;
use postgres_harness::TestDatabase;

/// Creates a database for the test, or returns from it when there is no server.
macro_rules! database {
    ($test:literal) => {
        match TestDatabase::create($test).await {
            Some(database) => database,
            None => return,
        }
    };
}

async fn owner(store: &dyn Store, email: &str) -> User {
    store
        .create_user(NewUser {
            email: email.to_owned(),
            password_hash: None,
        })
        .await
        .expect("create user")
}

fn new_account(owner: &User, phone_number_id: &str, waba_id: &str) -> NewAccount {
    NewAccount {
        name: format!("Account {phone_number_id}"),
        waba_id: waba_id.to_owned(),
        phone_number_id: phone_number_id.to_owned(),
        phone_number: format!("1555000{phone_number_id}"),
        display_name: None,
        access_token_encrypted: vec![1, 2, 3],
        app_secret_encrypted: vec![4, 5, 6],
        verify_token: format!("verify-{phone_number_id}"),
        owner: owner.id.clone(),
    }
}

fn log() -> NewWebhookLog {
    NewWebhookLog {
        received_at: 1_700_000_000,
        account_id: None,
        headers_json: "{}".to_owned(),
        body: b"{}".to_vec(),
        outcome: "processed".to_owned(),
        detail: None,
    }
}

fn text_message(
    account: &Account,
    from: &str,
    wamid: &str,
    ts: UnixTime,
    text: &str,
) -> InboundMessage {
    InboundMessage {
        account_id: account.id.clone(),
        from: from.to_owned(),
        wamid: wamid.to_owned(),
        timestamp: ts,
        kind: "text".to_owned(),
        text: Some(text.to_owned()),
        caption: None,
        media: None,
        context_wamid: None,
        content_json: format!("{{\"body\":{text:?}}}"),
        raw_json: "{}".to_owned(),
        errors: Vec::new(),
    }
}

async fn ingest(store: &dyn Store, items: Vec<IngestItem>) -> IngestReport {
    store
        .ingest(WebhookBatch { log: log(), items })
        .await
        .expect("ingest")
}

async fn count(database: &TestDatabase, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(database.store.pool())
        .await
        .expect(sql)
}

#[tokio::test]
async fn inbound_message_updates_conversation() {
    let database = database!("inbound_message_updates_conversation");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let contact = ContactSeen {
        account_id: account.id.clone(),
        wa_id: "4915112345678".to_owned(),
        profile_name: Some("Ada".to_owned()),
        user_id: None,
    };
    let message = text_message(
        &account,
        "4915112345678",
        "wamid.1",
        1_700_000_100,
        "hello there",
    );
    let report = ingest(
        &*store,
        vec![IngestItem::Contact(contact), IngestItem::Message(message)],
    )
    .await;
    assert_eq!(report.messages_inserted, 1);
    assert_eq!(report.duplicates, 0);

    let conversations = store
        .list_conversations(std::slice::from_ref(&account.id), 10)
        .await
        .unwrap();
    assert_eq!(conversations.len(), 1);
    let conversation = &conversations[0];
    assert_eq!(conversation.contact_name.as_deref(), Some("Ada"));
    assert_eq!(conversation.unread_count, 1);
    assert_eq!(
        conversation.last_message_preview.as_deref(),
        Some("hello there")
    );
    assert_eq!(
        conversation.last_message_direction,
        Some(Direction::Inbound)
    );
    assert_eq!(conversation.window_expires_at, Some(1_700_000_100 + 86_400));

    let messages = store
        .conversation_messages(&conversation.id, 10)
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status, MessageStatus::Received);
    assert_eq!(count(&database, "SELECT count(*) FROM events").await, 1);
    assert_eq!(
        count(&database, "SELECT count(*) FROM webhook_log").await,
        1
    );
}

#[tokio::test]
async fn duplicate_wamid_changes_nothing() {
    let database = database!("duplicate_wamid_changes_nothing");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let message = text_message(&account, "15550001", "wamid.1", 100, "first");
    ingest(&*store, vec![IngestItem::Message(message.clone())]).await;
    let report = ingest(&*store, vec![IngestItem::Message(message)]).await;
    assert_eq!(report.messages_inserted, 0);
    assert_eq!(report.duplicates, 1);
    let conversations = store
        .list_conversations(std::slice::from_ref(&account.id), 10)
        .await
        .unwrap();
    assert_eq!(conversations[0].unread_count, 1);
    assert_eq!(count(&database, "SELECT count(*) FROM events").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_store_one_message() {
    let database = database!("concurrent_duplicates_store_one_message");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let contact = ContactSeen {
        account_id: account.id.clone(),
        wa_id: "15550001".to_owned(),
        profile_name: Some("Bo".to_owned()),
        user_id: None,
    };
    let message = text_message(&account, "15550001", "wamid.race", 100, "once");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let items = vec![
                IngestItem::Contact(contact.clone()),
                IngestItem::Message(message.clone()),
            ];
            tokio::spawn(async move { store.ingest(WebhookBatch { log: log(), items }).await })
        })
        .collect();
    let mut inserted = 0;
    let mut duplicates = 0;
    for task in tasks {
        let report = task.await.expect("task").expect("ingest returns no error");
        inserted += report.messages_inserted;
        duplicates += report.duplicates;
    }
    assert_eq!(inserted, 1);
    assert_eq!(duplicates, 49);
    assert_eq!(count(&database, "SELECT count(*) FROM messages").await, 1);
    assert_eq!(count(&database, "SELECT count(*) FROM events").await, 1);
    assert_eq!(count(&database, "SELECT count(*) FROM contacts").await, 1);
    assert_eq!(
        count(&database, "SELECT count(*) FROM conversations").await,
        1
    );
    assert_eq!(
        count(&database, "SELECT count(*) FROM webhook_log").await,
        50
    );
}

#[tokio::test]
async fn failed_item_rolls_back_batch() {
    let database = database!("failed_item_rolls_back_batch");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let good = text_message(&account, "15550001", "wamid.ok", 100, "kept?");
    let mut missing_account = text_message(&account, "15550001", "wamid.bad", 101, "no");
    missing_account.account_id = AccountId("no-such-account".to_owned());
    let batch = WebhookBatch {
        log: log(),
        items: vec![
            IngestItem::Message(good),
            IngestItem::Message(missing_account),
        ],
    };
    let error = store
        .ingest(batch)
        .await
        .expect_err("a missing account fails the batch");
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert_eq!(count(&database, "SELECT count(*) FROM messages").await, 0);
    assert_eq!(
        count(&database, "SELECT count(*) FROM webhook_log").await,
        0
    );
}

#[tokio::test]
async fn reaction_before_message_is_applied() {
    let database = database!("reaction_before_message_is_applied");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let reaction = |emoji: Option<&str>, ts| InboundReaction {
        account_id: account.id.clone(),
        from: "15550001".to_owned(),
        wamid: format!("wamid.reaction.{ts}"),
        target_wamid: "wamid.target".to_owned(),
        emoji: emoji.map(str::to_owned),
        timestamp: ts,
    };
    let report = ingest(
        &*store,
        vec![IngestItem::Reaction(reaction(Some("👍"), 200))],
    )
    .await;
    assert_eq!(report.reactions, 1);
    // An older reaction arriving late does not replace the newer one.
    ingest(
        &*store,
        vec![IngestItem::Reaction(reaction(Some("😡"), 150))],
    )
    .await;
    assert_eq!(count(&database, "SELECT count(*) FROM messages").await, 0);

    let message = text_message(&account, "15550001", "wamid.target", 100, "target");
    ingest(&*store, vec![IngestItem::Message(message)]).await;
    let conversation = store
        .list_conversations(std::slice::from_ref(&account.id), 1)
        .await
        .unwrap();
    let messages = store
        .conversation_messages(&conversation[0].id, 10)
        .await
        .unwrap();
    assert_eq!(messages[0].reaction.as_deref(), Some("👍"));

    ingest(&*store, vec![IngestItem::Reaction(reaction(None, 300))]).await;
    let messages = store
        .conversation_messages(&conversation[0].id, 10)
        .await
        .unwrap();
    assert_eq!(messages[0].reaction, None);
}

#[tokio::test]
async fn status_for_unknown_wamid_is_deferred_once() {
    let database = database!("status_for_unknown_wamid_is_deferred_once");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let status = StatusUpdate {
        account_id: account.id.clone(),
        wamid: "wamid.out".to_owned(),
        status: MessageStatus::Delivered,
        timestamp: 100,
        recipient_id: Some("15550001".to_owned()),
        error: None,
    };
    let report = ingest(&*store, vec![IngestItem::Status(status.clone())]).await;
    assert_eq!(report.statuses_deferred, 1);
    let report = ingest(&*store, vec![IngestItem::Status(status)]).await;
    assert_eq!(report.statuses_deferred, 1);
    assert_eq!(
        count(&database, "SELECT count(*) FROM pending_statuses").await,
        1
    );
}

#[tokio::test]
async fn search_treats_operators_as_text() {
    let database = database!("search_treats_operators_as_text");
    let store = database.dyn_store();
    let user = owner(&*store, "a@example.com").await;
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let other = store
        .create_account(new_account(&user, "2", "w2"))
        .await
        .unwrap();
    let items = vec![
        IngestItem::Message(text_message(
            &account,
            "15550001",
            "w.1",
            100,
            "Crème brûlée tonight",
        )),
        IngestItem::Message(text_message(
            &account,
            "15550001",
            "w.2",
            101,
            "invoice ready",
        )),
        IngestItem::Message(text_message(
            &other,
            "15550002",
            "w.3",
            102,
            "invoice elsewhere",
        )),
    ];
    ingest(&*store, items).await;
    let accounts = [account.id.clone()];
    for query in [
        "\"",
        "a & b | !c",
        "(invoice",
        "'invoice'",
        "-",
        "<->",
        "*:",
        "",
    ] {
        store
            .search_messages(&accounts, query, 10)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
    }
    let hits = store
        .search_messages(&accounts, "\"INVOICE", 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "only the searched account's message");
    assert_eq!(hits[0].message.wamid.as_deref(), Some("w.2"));
    let hits = store
        .search_messages(&accounts, "creme brulee", 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "diacritics are folded");
    assert!(
        store
            .search_messages(&[], "invoice", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn connecting_again_keeps_data() {
    let database = database!("connecting_again_keeps_data");
    let store = database.dyn_store();
    owner(&*store, "a@example.com").await;
    let again = connect(&database.url())
        .await
        .expect("connect runs migrations again");
    assert!(
        again
            .find_user_by_email("A@EXAMPLE.COM")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn admin_conflicts_and_lookups() {
    let database = database!("admin_conflicts_and_lookups");
    let store = database.dyn_store();
    let user = owner(&*store, "Someone@Example.com").await;
    let taken = store
        .create_user(NewUser {
            email: "someone@example.COM".to_owned(),
            password_hash: None,
        })
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let account = store
        .create_account(new_account(&user, "1", "w1"))
        .await
        .unwrap();
    let duplicate = store.create_account(new_account(&user, "1", "w1")).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let reachable = store.reachable_accounts(&user.id, &[]).await.unwrap();
    assert_eq!(reachable.len(), 1, "the owner is a member");
    let missing = store
        .upsert_member(&account.id, &UserId("nobody".to_owned()), Role::Member)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let key = |hash: u8| NewApiKey {
        user_id: user.id.clone(),
        name: format!("key {hash}"),
        key_hash: [hash; 32],
        prefix: "pons_abcdefg".to_owned(),
        scopes: vec!["read".to_owned(), "send".to_owned()],
        expires_at: None,
        accounts: vec![account.id.clone()],
    };
    let first = store.create_api_key(key(1)).await.unwrap();
    assert_eq!(first.scopes, ["read", "send"]);
    assert_eq!(first.accounts, std::slice::from_ref(&account.id));
    store.create_api_key(key(2)).await.unwrap();
    let ambiguous = store.revoke_api_key("pons_abcdefg", 5).await;
    assert!(
        matches!(ambiguous, Err(StoreError::Conflict(_))),
        "{ambiguous:?}"
    );
    let revoked = store.revoke_api_key(first.id.as_str(), 5).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(5));
    let found = store.find_api_key_by_hash(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(5));
}
