//! Runs the store suite on a fresh PostgreSQL database per test, plus
//! checks of rows the `Store` trait does not read back (events, templates,
//! logs) and of PostgreSQL-only behaviour. Without `PONS_TEST_DATABASE_URL`
//! every test prints that it was not run and passes.

#[macro_use]
mod store_suite;
mod postgres_harness;

use std::sync::Arc;

use async_trait::async_trait;
use pons::store::{
    ContactSeen, DynStore, IngestItem, MessageStatus, TemplateStatusUpdate, WebhookBatch,
};
use postgres_harness::TestDatabase;
use sqlx::PgPool;
use store_suite::{
    Harness, OutboundSeed, OutboundSeeder, T0, batch, ingest, status, tenant, text, webhook_log,
};

/// A store on a database that is dropped with the harness.
struct PostgresHarness {
    database: TestDatabase,
    store: DynStore,
}

impl PostgresHarness {
    fn pool(&self) -> &PgPool {
        self.database.store.pool()
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }
}

async fn open_postgres() -> Option<PostgresHarness> {
    let database = TestDatabase::create().await?;
    let store: DynStore = Arc::new(database.store.clone());
    Some(PostgresHarness { database, store })
}

/// Opens a harness, or ends the test when no server is configured.
macro_rules! harness {
    () => {
        match open_postgres().await {
            Some(harness) => harness,
            None => return,
        }
    };
}

impl Harness for PostgresHarness {
    fn store(&self) -> DynStore {
        self.store.clone()
    }
}

#[async_trait]
impl OutboundSeeder for PostgresHarness {
    async fn insert_outbound(&self, seed: OutboundSeed) {
        sqlx::query(
            "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, text, \
                 status, status_at, timestamp, created_at) \
             VALUES ($1, $2, $3, $4, 'outbound', 'text', 'reply', $5, $6, $6, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(seed.account_id.as_str())
        .bind(seed.conversation.id.as_str())
        .bind(&seed.wamid)
        .bind(seed.status.as_str())
        .bind(seed.timestamp)
        .execute(self.pool())
        .await
        .expect("insert outbound message");
    }
}

store_suite_tests!(optional open_postgres);

#[tokio::test]
async fn duplicate_message_stores_one_event() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "events").await;
    let item = IngestItem::Message(text(&t.account, "15551280001", "wamid.EV", T0, "hello"));
    ingest(store, vec![item.clone()]).await;
    ingest(store, vec![item]).await;

    let payload: String = sqlx::query_scalar(
        "SELECT payload_json FROM events WHERE type = 'message.inbound.received'",
    )
    .fetch_one(harness.pool())
    .await
    .expect("exactly one inbound event");
    let payload: serde_json::Value = serde_json::from_str(&payload).expect("JSON payload");
    assert_eq!(payload["wamid"], "wamid.EV");
    assert_eq!(payload["from"], "15551280001");
    assert_eq!(payload["type"], "text");
    assert_eq!(payload["text"], "hello");
    assert_eq!(payload["timestamp"], "2023-11-14T22:13:20Z");
    assert!(payload["messageId"].is_string());
    assert!(payload["conversationId"].is_string());
    assert_eq!(harness.count("SELECT count(*) FROM webhook_log").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_batches_store_one_event() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "race").await;
    let contact = IngestItem::Contact(ContactSeen {
        account_id: t.account.id.clone(),
        wa_id: "15551280009".to_owned(),
        profile_name: Some("Bo".to_owned()),
        user_id: None,
    });
    let message = IngestItem::Message(text(&t.account, "15551280009", "wamid.R", T0, "once"));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(store);
            let items = vec![contact.clone(), message.clone()];
            tokio::spawn(async move { store.ingest(batch(items)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("no caller sees an error");
    }

    for (table, expected) in [
        ("messages", 1),
        ("events", 1),
        ("contacts", 1),
        ("conversations", 1),
        ("webhook_log", 50),
    ] {
        let rows = harness
            .count(&format!("SELECT count(*) FROM {table}"))
            .await;
        assert_eq!(rows, expected, "rows in {table}");
    }
}

#[tokio::test]
async fn early_status_is_consumed_by_message() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "pending").await;
    let early = status(&t.account, "wamid.P1", MessageStatus::Delivered, T0);
    ingest(store, vec![IngestItem::Status(early.clone())]).await;
    ingest(store, vec![IngestItem::Status(early)]).await;
    let pending = harness.count("SELECT count(*) FROM pending_statuses").await;
    assert_eq!(pending, 1, "identical status kept once");

    let message = text(&t.account, "15551280002", "wamid.P1", T0, "hi");
    ingest(store, vec![IngestItem::Message(message)]).await;
    let pending = harness.count("SELECT count(*) FROM pending_statuses").await;
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn template_update_keeps_unsent_fields() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "templates").await;
    let update = |status: &str, name: Option<&str>, reason: Option<&str>| {
        IngestItem::TemplateStatus(TemplateStatusUpdate {
            waba_id: t.account.waba_id.clone(),
            meta_template_id: "tmpl-9".to_owned(),
            name: name.map(str::to_owned),
            language: name.map(|_| "en_US".to_owned()),
            status: status.to_owned(),
            reason: reason.map(str::to_owned),
        })
    };
    let rejected = update("REJECTED", Some("promo"), Some("INVALID_FORMAT"));
    ingest(store, vec![rejected]).await;
    ingest(store, vec![update("APPROVED", None, None)]).await;

    let row: (String, Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT status, rejected_reason, name, language FROM templates \
         WHERE account_id = $1 AND meta_template_id = 'tmpl-9'",
    )
    .bind(t.account.id.as_str())
    .fetch_one(harness.pool())
    .await
    .expect("template row");
    assert_eq!(row.0, "APPROVED");
    assert_eq!(row.1, None);
    assert_eq!(row.2.as_deref(), Some("promo"));
    assert_eq!(row.3.as_deref(), Some("en_US"));
}

#[tokio::test]
async fn failed_batch_leaves_no_rows() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "norows").await;
    let mut orphan = text(&t.account, "15551280003", "wamid.X2", T0, "orphan");
    orphan.account_id = pons::store::AccountId::generate();
    let first = text(&t.account, "15551280003", "wamid.X1", T0, "first");
    let result = store
        .ingest(WebhookBatch {
            log: webhook_log(Some(&t.account.id)),
            items: vec![IngestItem::Message(first), IngestItem::Message(orphan)],
        })
        .await;
    assert!(
        matches!(result, Err(pons::store::StoreError::Backend(_))),
        "{result:?}"
    );

    for table in [
        "webhook_log",
        "messages",
        "contacts",
        "conversations",
        "events",
    ] {
        let rows = harness
            .count(&format!("SELECT count(*) FROM {table}"))
            .await;
        assert_eq!(rows, 0, "table {table} after a failed batch");
    }
}

#[tokio::test]
async fn search_folds_case_and_diacritics() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "accents").await;
    let message = text(
        &t.account,
        "15551280004",
        "wamid.A1",
        T0,
        "Crème BRÛLÉE à Zürich",
    );
    ingest(store, vec![IngestItem::Message(message)]).await;

    let accounts = [t.account.id.clone()];
    for query in ["creme brulee", "CRÈME", "zurich", "Zürich"] {
        let hits = store
            .search_messages(&accounts, query, 10)
            .await
            .expect("search");
        assert_eq!(hits.len(), 1, "search for {query:?}");
    }
}

#[tokio::test]
async fn connect_again_keeps_data() {
    let harness = harness!();
    let t = tenant(&harness.store, "reopen").await;
    // `store::connect` routes the URL to PostgreSQL and finds nothing to migrate.
    let again = pons::store::connect(&harness.database.url())
        .await
        .expect("connect again");
    let found = again
        .find_account(t.account.id.as_str())
        .await
        .expect("find");
    assert!(found.is_some());
    let migrations = harness.count("SELECT count(*) FROM _sqlx_migrations").await;
    assert_eq!(migrations, 1);
}
