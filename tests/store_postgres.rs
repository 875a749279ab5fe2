//! Runs the store suite on a fresh PostgreSQL database per test, plus
//! checks of rows the `Store` trait does not read back (events, templates,
//! logs) and of PostgreSQL-only behaviour. Without `PONS_TEST_DATABASE_URL`
//! every test fails and names the variable.

#[macro_use]
mod store_suite;
mod postgres_harness;

use std::sync::Arc;

use pons::store::postgres::PostgresStore;
use pons::store::{
    AccountId, ContactSeen, DynStore, IngestItem, MessageStatus, MetaError, NewJob,
    TemplateStatusUpdate, WebhookBatch,
};
use postgres_harness::{EmptyDatabase, TestDatabase};
use sqlx::{Connection, PgConnection, PgPool};
use store_suite::{
    Harness, T0, batch, ingest, outbound_text, send_text, status, tenant, text, webhook_log,
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

async fn open_postgres() -> PostgresHarness {
    let database = TestDatabase::create().await;
    let store: DynStore = Arc::new(database.store.clone());
    PostgresHarness { database, store }
}

/// Opens a harness on a fresh database.
macro_rules! harness {
    () => {
        open_postgres().await
    };
}

impl Harness for PostgresHarness {
    fn store(&self) -> DynStore {
        self.store.clone()
    }
}

store_suite_tests!(open_postgres);

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

/// Connections opened while the database was read-only are replaced once
/// it accepts writes again, instead of failing every write until the pool
/// retires them.
#[tokio::test]
async fn writes_resume_after_read_only_database() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "readonly").await;
    let message =
        |wamid: &str| IngestItem::Message(text(&t.account, "15551280004", wamid, T0, "hello"));
    ingest(store, vec![message("wamid.RO1")]).await;

    let mut admin = PgConnection::connect(&harness.database.url())
        .await
        .expect("connect the admin session");
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut admin)
        .await
        .expect("read the database name");
    let alter = |setting: &str| format!("ALTER DATABASE \"{name}\" {setting}");
    sqlx::query(sqlx::AssertSqlSafe(alter(
        "SET default_transaction_read_only = on",
    )))
    .execute(&mut admin)
    .await
    .expect("make the database read-only");
    // The pool's sessions end, and the ones it opens next are read-only.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .expect("end the pool's sessions");

    let mut errors = Vec::new();
    for attempt in 0..5 {
        let wamid = format!("wamid.RO-failed-{attempt}");
        let error = store
            .ingest(batch(vec![message(&wamid)]))
            .await
            .expect_err("a read-only database rejects the batch");
        let read_only = error.to_string().contains("read-only");
        errors.push(error.to_string());
        if read_only {
            break;
        }
    }
    assert!(
        errors
            .last()
            .is_some_and(|error| error.contains("read-only")),
        "{errors:?}"
    );

    sqlx::query(sqlx::AssertSqlSafe(alter(
        "RESET default_transaction_read_only",
    )))
    .execute(&mut admin)
    .await
    .expect("make the database writable");
    // The pool hands out its idle connections in turn, so as many batches
    // as it has connections meet every one opened while read-only.
    for index in 0..harness.pool().size().max(1) {
        let wamid = format!("wamid.RO-stored-{index}");
        let stored = store.ingest(batch(vec![message(&wamid)])).await;
        assert!(stored.is_ok(), "batch {index}: {stored:?}");
    }
}

/// A batch of more statuses than PostgreSQL's lock table has room for
/// (64 locks per connection by default) is stored whole.
#[tokio::test]
async fn batch_of_many_statuses_is_stored() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "manystatuses").await;
    let max_connections: i64 =
        sqlx::query_scalar("SELECT current_setting('max_connections')::bigint")
            .fetch_one(harness.pool())
            .await
            .expect("read max_connections");
    let locks_per_transaction: i64 =
        sqlx::query_scalar("SELECT current_setting('max_locks_per_transaction')::bigint")
            .fetch_one(harness.pool())
            .await
            .expect("read max_locks_per_transaction");
    // Four times the lock table's nominal size: PostgreSQL lends a lock
    // table spare shared memory, so a little more than its size still fits.
    let count = max_connections * locks_per_transaction * 4;
    let items = (0..count)
        .map(|index| {
            IngestItem::Status(status(
                &t.account,
                &format!("wamid.MANY{index:08}"),
                MessageStatus::Delivered,
                T0,
            ))
        })
        .collect();

    let stored = store.ingest(batch(items)).await;

    assert!(stored.is_ok(), "{stored:?}");
    let pending = harness.count("SELECT count(*) FROM pending_statuses").await;
    assert_eq!(pending, count);
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

/// PostgreSQL's unaccent folds `ß` to `ss`, so each spelling finds the
/// other, unlike on SQLite (see the README's limitations).
#[tokio::test]
async fn search_folds_eszett_to_ss() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "eszett-folded").await;
    let from = "15551280011";
    let items = vec![
        IngestItem::Message(text(&t.account, from, "wamid.E1", T0, "Hauptstraße 5")),
        IngestItem::Message(text(&t.account, from, "wamid.E2", T0 + 1, "Hauptstrasse 7")),
    ];
    ingest(store, items).await;

    let accounts = [t.account.id.clone()];
    for query in ["Hauptstraße", "hauptstrasse"] {
        let hits = store
            .search_messages(&accounts, query, 10)
            .await
            .expect("search");
        assert_eq!(hits.len(), 2, "search for {query:?}");
    }
}

/// The last migration that indexed messages with the default text search
/// parser, which keeps `ORD-123456` and e-mail addresses whole.
const BEFORE_SEARCH_SPLITS_PUNCTUATION: i64 = 5;

/// The migrations leave an empty messages table unanalyzed. Analyzed empty,
/// PostgreSQL plans for an empty table until the next ANALYZE, and without
/// autovacuum each webhook then read every stored message.
#[tokio::test]
async fn new_database_not_analyzed_empty() {
    let database = EmptyDatabase::create().await;
    let store = PostgresStore::connect(&database.url())
        .await
        .expect("connect and migrate");
    let row_estimate: f32 =
        sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = 'messages'")
            .fetch_one(store.pool())
            .await
            .expect("read the row estimate");
    assert!(
        row_estimate < 0.0,
        "messages must be unanalyzed (-1), not analyzed empty: {row_estimate}"
    );
}

/// A database that does not exist on a running server gets the command
/// that creates it.
#[tokio::test]
async fn missing_database_gets_createdb_hint() {
    let server_url = std::env::var(postgres_harness::URL_VARIABLE).expect("test server URL");
    let name = format!("pons_missing_{}", uuid::Uuid::new_v4().simple());
    let url = postgres_harness::database_url(&server_url, &name);

    let error = PostgresStore::connect(&url)
        .await
        .expect_err("a missing database is rejected");

    let message = format!("{error:#}");
    assert!(message.contains("createdb -h "), "{message}");
    assert!(message.contains(&name), "{message}");
}

/// The hint quotes a database name with shell metacharacters, so that the
/// command it suggests creates that name and runs nothing else.
#[tokio::test]
async fn createdb_hint_quotes_database_name() {
    let server_url = std::env::var(postgres_harness::URL_VARIABLE).expect("test server URL");
    let name = format!("pons_missing_{}\";drop 'it'", uuid::Uuid::new_v4().simple());
    let encoded = name
        .replace('"', "%22")
        .replace(';', "%3B")
        .replace(' ', "%20")
        .replace('\'', "%27");
    let url = postgres_harness::database_url(&server_url, &encoded);

    let error = PostgresStore::connect(&url)
        .await
        .expect_err("a missing database is rejected");

    let message = format!("{error:#}");
    let quoted = format!("'{}'", name.replace('\'', "'\\''"));
    assert!(
        message.contains(&format!(" {quoted}`")),
        "expected {quoted} in: {message}"
    );
}

/// The hint ends createdb's options before a database name that starts
/// with `-`, so that createdb does not read the name as an option.
#[tokio::test]
async fn createdb_hint_ends_options_before_dash_name() {
    let server_url = std::env::var(postgres_harness::URL_VARIABLE).expect("test server URL");
    let name = format!("-pons_missing_{}", uuid::Uuid::new_v4().simple());
    let url = postgres_harness::database_url(&server_url, &name);

    let error = PostgresStore::connect(&url)
        .await
        .expect_err("a missing database is rejected");

    let message = format!("{error:#}");
    assert!(
        message.contains(&format!(" -- {name}`")),
        "expected `-- {name}` in: {message}"
    );
}

/// Tables in a schema other than the one Pons migrates cannot collide with
/// Pons's, so they do not stop it.
#[tokio::test]
async fn tables_in_other_schema_accepted() {
    let database = EmptyDatabase::create().await;
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    sqlx::query("CREATE SCHEMA billing")
        .execute(&pool)
        .await
        .expect("create a schema");
    sqlx::query("CREATE TABLE billing.invoices (id integer PRIMARY KEY)")
        .execute(&pool)
        .await
        .expect("create a table in it");

    let store = PostgresStore::connect(&database.url()).await;

    assert!(store.is_ok(), "{:#}", store.err().unwrap());
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'accounts'",
    )
    .fetch_one(&pool)
    .await
    .expect("find Pons's accounts table");
    assert_eq!(schema, "public", "Pons migrated the current schema");
    pool.close().await;
}

/// A database whose schema contains another application's tables is left
/// alone, with an error that names the tables and the fix.
#[tokio::test]
async fn foreign_tables_are_not_migrated() {
    let database = EmptyDatabase::create().await;
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    sqlx::query("CREATE TABLE invoices (id integer PRIMARY KEY)")
        .execute(&pool)
        .await
        .expect("create a foreign table");

    let error = PostgresStore::connect(&database.url())
        .await
        .expect_err("a foreign schema is rejected");
    let message = format!("{error:#}");
    assert!(
        message
            .contains("tables or views that Pons did not create (invoices) in schema \"public\""),
        "{message}"
    );
    assert!(message.contains("PONS_DATABASE_URL"), "{message}");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY table_name",
    )
    .fetch_all(&pool)
    .await
    .expect("list tables");
    assert_eq!(tables, ["invoices"], "nothing was added");
    pool.close().await;
}

/// Creates a database whose sqlx migration table has one row, as another
/// application's sqlx writes it, and returns the error of opening it.
async fn connect_with_migration_record(version: i64, description: &str) -> String {
    let database = EmptyDatabase::create().await;
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    sqlx::query(
        "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, \
         installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, \
         checksum bytea NOT NULL, execution_time bigint NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create the migration table");
    sqlx::query("INSERT INTO _sqlx_migrations VALUES ($1, $2, now(), true, '\\x00', 1)")
        .bind(version)
        .bind(description)
        .execute(&pool)
        .await
        .expect("record a migration");
    pool.close().await;

    let error = PostgresStore::connect(&database.url())
        .await
        .expect_err("a foreign migration record is rejected");
    format!("{error:#}")
}

/// Views that an extension adds to the schema belong to the database, not
/// to another application.
#[tokio::test]
async fn extension_views_are_accepted() {
    let database = EmptyDatabase::create().await;
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    sqlx::query("CREATE EXTENSION pg_stat_statements")
        .execute(&pool)
        .await
        .expect("create an extension with views");
    pool.close().await;

    PostgresStore::connect(&database.url())
        .await
        .expect("a schema with extension views is migrated");
}

/// A migration record that sqlx wrote for another application is rejected,
/// whatever its versions, even without other tables.
#[tokio::test]
async fn foreign_migration_record_is_rejected() {
    for (version, description) in [
        (1, "create invoices"),
        (20200101000000, "init"),
        (1, "init"),
    ] {
        let message = connect_with_migration_record(version, description).await;
        assert!(
            message.contains("migrations of another application"),
            "{version} {description}: {message}"
        );
        assert!(
            message.contains(&format!("version {version}, \"{description}\"")),
            "{version} {description}: {message}"
        );
    }

    // Pons's own database opens again after its migrations ran.
    let own = EmptyDatabase::create().await;
    drop(
        PostgresStore::connect(&own.url())
            .await
            .expect("first start"),
    );
    PostgresStore::connect(&own.url())
        .await
        .expect("a second start accepts Pons's own tables");
}

/// Messages stored before the migration that splits words at punctuation
/// are indexed again by it, so their codes and addresses are found.
#[tokio::test]
async fn search_migration_reindexes_messages() {
    let database = EmptyDatabase::create().await;
    let pool = PgPool::connect(&database.url()).await.expect("connect");
    sqlx::migrate!("migrations/postgres")
        .run_to(BEFORE_SEARCH_SPLITS_PUNCTUATION, &pool)
        .await
        .expect("migrate to the schema before the search change");
    let account = "0190d5a0-0000-7000-8000-000000000001";
    let setup = [
        "INSERT INTO accounts (id, name, waba_id, phone_number_id, phone_number, \
         access_token_encrypted, app_secret_encrypted, verify_token, created_at) \
         VALUES ($1, 'Shop', 'waba-1', 'pnid-1', \
         '15550001111', '\\x00', '\\x00', 'verify', 0)",
        "INSERT INTO contacts (id, account_id, wa_id, created_at, updated_at) \
         VALUES ('contact-1', $1, '15551280012', 0, 0)",
        "INSERT INTO conversations (id, account_id, contact_id, created_at) \
         VALUES ('conversation-1', $1, 'contact-1', 0)",
        "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, text, \
         status, timestamp, created_at) \
         SELECT 'message-' || n, $1, 'conversation-1', \
         'wamid.M' || n, 'inbound', 'text', body, 'received', n, n \
         FROM (VALUES (1, 'Your order ORD-123456 has shipped'), \
                      (2, 'Write to sales@example.com'), \
                      (3, 'Reference 123456'), \
                      (4, NULL)) AS m (n, body)",
    ];
    for statement in setup {
        sqlx::query(statement)
            .bind(account)
            .execute(&pool)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    // The old index finds the code only whole: the bare number misses it.
    let old_matches: Vec<String> = sqlx::query_scalar(
        "SELECT wamid FROM messages WHERE search @@ plainto_tsquery('pons_text', '123456') \
         ORDER BY wamid",
    )
    .fetch_all(&pool)
    .await
    .expect("search the old index");
    assert_eq!(old_matches, ["wamid.M3"]);
    pool.close().await;

    let store = PostgresStore::connect(&database.url())
        .await
        .expect("connect and apply the search migration");
    let pool = store.pool().clone();
    let store: DynStore = Arc::new(store);
    let accounts = [AccountId(account.to_owned())];
    let cases: [(&str, &[&str]); 5] = [
        ("123456", &["wamid.M1", "wamid.M3"]),
        ("ORD 123456", &["wamid.M1"]),
        ("ORD-123456", &["wamid.M1"]),
        ("example.com", &["wamid.M2"]),
        ("sales@example.com", &["wamid.M2"]),
    ];
    for (query, expected) in cases {
        let hits = store
            .search_messages(&accounts, query, 10)
            .await
            .expect("search");
        let mut wamids: Vec<String> = hits.into_iter().filter_map(|h| h.message.wamid).collect();
        wamids.sort();
        assert_eq!(wamids, expected, "search for {query:?}");
    }
    let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE search IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("count indexed messages");
    assert_eq!(
        indexed, 4,
        "every message, the one without text too, has a vector"
    );
    let analyzed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE tablename = 'messages' AND attname = 'search'",
    )
    .fetch_one(&pool)
    .await
    .expect("read column statistics");
    assert_eq!(analyzed, 1, "the migration analyzes the new column");
}

/// The search condition compares the column with a constant tsquery that
/// PostgreSQL computes while planning, so a rare code is looked up in the
/// GIN index and a common word is not.
#[tokio::test]
async fn search_rare_code_uses_gin_index() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "gin").await;
    let message = text(
        &t.account,
        "15551280013",
        "wamid.G1",
        T0,
        "Your order ORD-123456",
    );
    ingest(store, vec![IngestItem::Message(message)]).await;
    // Many messages of one account without the code, copied from the
    // first. With 5,000 copies PostgreSQL 15 reads the whole table instead.
    sqlx::query(
        "INSERT INTO messages (id, account_id, conversation_id, direction, type, text, status, \
         timestamp, created_at) \
         SELECT 'filler-' || n, account_id, conversation_id, direction, type, \
         'order ' || (200000 + n) || ' is packed and ready', status, timestamp - n, created_at \
         FROM messages, generate_series(1, 50000) AS n",
    )
    .execute(harness.pool())
    .await
    .expect("copy messages");
    sqlx::query("ANALYZE messages")
        .execute(harness.pool())
        .await
        .expect("analyze");

    let plan = |terms: &'static str| {
        let explain = format!(
            "EXPLAIN SELECT m.id FROM messages m WHERE m.account_id = '{}' \
             AND m.search @@ pons_search_query(ARRAY[{terms}]) \
             ORDER BY m.timestamp DESC, m.id DESC LIMIT 1000",
            t.account.id
        );
        let pool = harness.pool().clone();
        async move {
            let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
                .fetch_all(&pool)
                .await
                .expect("explain");
            lines.join("\n")
        }
    };
    let rare = plan("'ORD-123456'").await;
    assert!(
        rare.contains("Bitmap Index Scan on messages_search"),
        "{rare}"
    );
    assert!(
        rare.contains("'''ord'' <-> ''123456'''::tsquery"),
        "the query is a constant when planned: {rare}"
    );
    // A word in every message is cheaper to find by walking the account's
    // messages newest first. The planner chooses that from the tsquery that
    // the same function returns for the word.
    let common = plan("'order'").await;
    assert!(common.contains("messages_account_recent"), "{common}");

    let hits = store
        .search_messages(std::slice::from_ref(&t.account.id), "ORD-123456", 10)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
}

/// A search that joins each of the 1,000 most recent matches to its
/// conversation and contact before ranking, as search once did. The
/// store's search must return the same hits in the same order.
const SEARCH_WHOLE_ROWS: &str = "SELECT m.id, ts_rank(m.search, q)::float8 AS rank \
     FROM (SELECT m.* FROM (SELECT DISTINCT unnest($1::text[]) AS id) AS a \
           CROSS JOIN LATERAL (SELECT m.* FROM messages m \
               WHERE m.account_id = a.id \
               AND m.search @@ pons_search_query($2::text[]) \
               ORDER BY m.timestamp DESC, m.id DESC LIMIT 1000) AS m \
           ORDER BY m.timestamp DESC, m.id DESC LIMIT 1000) AS m \
     JOIN conversations c ON c.id = m.conversation_id \
     JOIN contacts ct ON ct.id = c.contact_id, \
     pons_search_query($2::text[]) AS q \
     ORDER BY rank DESC, m.timestamp DESC, m.id DESC LIMIT $3";

/// Copies the one message of `account` into `count` messages numbered
/// from 1 as `n`, with the text and timestamp that the SQL expressions
/// compute from `n`.
async fn copy_messages(
    pool: &PgPool,
    account: &AccountId,
    count: i32,
    text: &str,
    timestamp: &str,
) {
    let sql = format!(
        "INSERT INTO messages (id, account_id, conversation_id, direction, type, text, status, \
         timestamp, created_at) \
         SELECT m.id || '-' || n, m.account_id, m.conversation_id, m.direction, m.type, {text}, \
         m.status, {timestamp}, m.created_at \
         FROM messages m, generate_series(1, $2) AS n WHERE m.account_id = $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .bind(count)
        .execute(pool)
        .await
        .expect("copy messages");
}

/// Search ranks matches before reading their rows in full. It returns the
/// hits, ranks and order of `SEARCH_WHOLE_ROWS` for words with more and
/// fewer than 1,000 matches, for many messages that share a timestamp,
/// for far-off timestamps and for several accounts at once.
#[tokio::test]
async fn search_matches_whole_row_ranking() {
    let harness = harness!();
    let store = &harness.store;
    let pool = harness.pool();
    let mut accounts = Vec::new();
    for (tag, from) in [
        ("rank-a", "15551280020"),
        ("rank-b", "15551280021"),
        ("rank-c", "15551280022"),
        ("rank-d", "15551280023"),
    ] {
        let t = tenant(store, tag).await;
        let first = text(
            &t.account,
            from,
            &format!("wamid.{tag}"),
            T0,
            "alpha opening",
        );
        ingest(store, vec![IngestItem::Message(first)]).await;
        accounts.push(t.account.id);
    }
    // Seven messages share each timestamp. `alpha` is in every third
    // message and twice in some. `beta` is dense in the older two thirds
    // and sparse after them. `gamma` is in two of every five messages, and
    // `delta` in four.
    copy_messages(
        pool,
        &accounts[0],
        3_000,
        "concat_ws(' ', CASE WHEN n % 3 = 0 THEN 'alpha' END, \
         CASE WHEN n % 37 = 0 THEN 'alpha beta' END, \
         CASE WHEN (n < 2000 AND n % 2 = 0) OR n % 50 = 0 THEN 'beta' END, \
         CASE WHEN n % 5 < 2 THEN 'gamma' END, \
         CASE WHEN n % 701 = 0 THEN 'delta delta' END, \
         repeat('word ', n % 4), 'filler')",
        &format!("{T0}::bigint + 1 + (n / 7) * 600"),
    )
    .await;
    // A later and shorter history, every second message with `alpha`.
    copy_messages(
        pool,
        &accounts[1],
        600,
        "concat_ws(' ', CASE WHEN n % 2 = 0 THEN 'alpha' END, \
         CASE WHEN n % 3 = 0 THEN 'gamma gamma' END, 'filler')",
        &format!("{T0}::bigint + 1500000 + n * 60"),
    )
    .await;
    // Two messages far from the others in time.
    copy_messages(
        pool,
        &accounts[2],
        1_500,
        "concat_ws(' ', CASE WHEN n % 2 = 0 THEN 'alpha' END, \
         CASE WHEN n % 3 = 0 THEN 'beta' END, CASE WHEN n % 11 = 0 THEN 'alpha' END, 'filler')",
        &format!(
            "CASE n WHEN 1 THEN {T0}::bigint - 1000000000 WHEN 2 THEN {T0}::bigint + 1000000000 \
             ELSE {T0}::bigint + n * 1000 END"
        ),
    )
    .await;
    // A hundred messages a second, so the 1,000th match shares its
    // timestamp with others.
    copy_messages(
        pool,
        &accounts[3],
        3_000,
        "concat_ws(' ', CASE WHEN n % 3 = 0 THEN 'alpha' END, \
         CASE WHEN n % 4 = 0 THEN 'beta beta' END, 'filler')",
        &format!("{T0}::bigint + n / 100"),
    )
    .await;
    sqlx::query("ANALYZE messages")
        .execute(pool)
        .await
        .expect("analyze");

    let (a, b, c, d) = (&accounts[0], &accounts[1], &accounts[2], &accounts[3]);
    let account_sets: [Vec<AccountId>; 8] = [
        vec![a.clone()],
        vec![b.clone()],
        vec![c.clone()],
        vec![d.clone()],
        vec![d.clone(), a.clone()],
        vec![a.clone(), b.clone()],
        vec![c.clone(), a.clone(), b.clone()],
        vec![c.clone(), c.clone()],
    ];
    let queries = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "alpha gamma",
        "beta alpha",
        "filler",
        "absent",
    ];
    let mut full_rankings = 0;
    for set in &account_sets {
        for query in queries {
            for limit in [1_000_u32, 7] {
                let hits = store
                    .search_messages(set, query, limit)
                    .await
                    .expect("search");
                let found: Vec<(String, f64)> = hits
                    .iter()
                    .map(|hit| (hit.message.id.as_str().to_owned(), hit.rank))
                    .collect();
                let ids: Vec<&str> = set.iter().map(AccountId::as_str).collect();
                let terms: Vec<&str> = query.split(' ').collect();
                let expected: Vec<(String, f64)> = sqlx::query_as(SEARCH_WHOLE_ROWS)
                    .bind(&ids)
                    .bind(&terms)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await
                    .expect("search with whole rows");
                assert_eq!(
                    found, expected,
                    "search for {query:?} in {set:?}, limit {limit}"
                );
                if found.len() == 1_000 {
                    full_rankings += 1;
                }
            }
        }
    }
    assert!(full_rankings >= 4, "some searches rank 1,000 matches");
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
    assert_eq!(migrations, 8);
}

#[tokio::test]
async fn outbound_events_stored() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "out-events").await;
    let to = "15551280010";
    let sent = send_text(store, &t.account, to, "wamid.OE1", T0).await;
    let pending = store
        .insert_outbound(outbound_text(&t.account, to, T0 + 5, "lost"))
        .await
        .expect("insert outbound");
    let error = MetaError {
        code: Some(131026),
        ..MetaError::default()
    };
    store
        .mark_outbound_failed(&pending.id, error, T0 + 6)
        .await
        .expect("mark failed");

    let pool = harness.pool().clone();
    let payload = |kind: &'static str| {
        let pool = pool.clone();
        async move {
            let text: String =
                sqlx::query_scalar("SELECT payload_json FROM events WHERE type = $1")
                    .bind(kind)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or_else(|error| panic!("one {kind} event: {error}"));
            serde_json::from_str::<serde_json::Value>(&text).expect("JSON payload")
        }
    };
    let sent_event = payload("message.outbound.sent").await;
    assert_eq!(sent_event["messageId"], sent.id.as_str());
    assert_eq!(sent_event["wamid"], "wamid.OE1");
    assert_eq!(sent_event["conversationId"], sent.conversation_id.as_str());
    assert_eq!(sent_event["to"], to);
    assert_eq!(sent_event["type"], "text");
    assert_eq!(sent_event["text"], "reply");
    assert_eq!(sent_event["timestamp"], "2023-11-14T22:13:21Z");
    let failed_event = payload("message.outbound.failed").await;
    assert_eq!(failed_event["messageId"], pending.id.as_str());
    assert_eq!(failed_event["wamid"], serde_json::Value::Null);
    assert_eq!(failed_event["error"]["code"], 131026);
    let updates = harness
        .count("SELECT count(*) FROM events WHERE type = 'message.status.updated'")
        .await;
    assert_eq!(updates, 2, "sent and failed each change a status");
}

fn test_job(name: &str, max_attempts: u32) -> NewJob {
    NewJob {
        kind: "test_job".to_owned(),
        account_id: None,
        payload_json: format!("{{\"n\":\"{name}\"}}"),
        run_at: T0,
        max_attempts,
        dedupe_key: None,
    }
}

#[tokio::test]
async fn expired_last_attempt_marked_failed() {
    let harness = harness!();
    let store = &harness.store;
    store
        .enqueue_job(test_job("once", 1))
        .await
        .expect("enqueue");
    assert_eq!(
        store
            .claim_jobs(&["test_job"], T0, 10, 5)
            .await
            .expect("claim")
            .len(),
        1
    );
    assert!(
        store
            .claim_jobs(&["test_job"], T0 + 11, 10, 5)
            .await
            .expect("claim")
            .is_empty()
    );

    let (state, error, attempts): (String, Option<String>, i64) =
        sqlx::query_as("SELECT state, last_error, attempts FROM jobs")
            .fetch_one(harness.pool())
            .await
            .expect("job row");
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("lease")));
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn claim_skips_locked_rows() {
    let harness = harness!();
    let store = &harness.store;
    for name in ["first", "second", "third"] {
        store.enqueue_job(test_job(name, 3)).await.expect("enqueue");
    }
    // Another connection locks the first job, as a claimer does mid-transaction.
    let mut other = PgConnection::connect(&harness.database.url())
        .await
        .expect("second connection");
    let mut held = other.begin().await.expect("begin");
    let locked: String = sqlx::query_scalar(
        "SELECT id FROM jobs ORDER BY run_at, created_at, id LIMIT 1 FOR UPDATE",
    )
    .fetch_one(&mut *held)
    .await
    .expect("lock first job");

    // Without SKIP LOCKED the claim would wait for the lock until the end.
    let claimed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store.claim_jobs(&["test_job"], T0, 60, 10),
    )
    .await
    .expect("the claim must not wait for the locked row")
    .expect("claim while a row is locked");
    let ids: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(!ids.contains(&locked.as_str()), "the locked job is skipped");

    held.rollback().await.expect("release the lock");
    let rest = store
        .claim_jobs(&["test_job"], T0, 60, 10)
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id.as_str(), locked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_claim_disjoint() {
    let harness = harness!();
    const JOBS: usize = 60;
    for n in 0..JOBS {
        harness
            .store
            .enqueue_job(test_job(&n.to_string(), 3))
            .await
            .expect("enqueue");
    }
    // Two stores model two Pons processes on one database.
    let second: DynStore = Arc::new(
        PostgresStore::connect(&harness.database.url())
            .await
            .expect("second store"),
    );
    let workers: Vec<_> = [harness.store.clone(), second]
        .into_iter()
        .flat_map(|store| [store.clone(), store])
        .map(|store| {
            tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    let jobs = store
                        .claim_jobs(&["test_job"], T0, 60, 2)
                        .await
                        .expect("claim");
                    if jobs.is_empty() {
                        return taken;
                    }
                    taken.extend(jobs.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("join worker"));
    }
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), JOBS, "every job claimed");
    assert_eq!(distinct.len(), JOBS, "no job claimed twice");
}

/// Two instances that start at once on one database with different keys:
/// one stores its key verifier and the other is rejected, whichever runs
/// first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_store_one_key_verifier() {
    use base64::Engine;
    let harness = harness!();
    let second: DynStore = Arc::new(
        PostgresStore::connect(&harness.database.url())
            .await
            .expect("second store"),
    );
    let key = |byte: u8| {
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        pons::crypto::SecretBox::from_base64(&text, "test key").expect("valid key")
    };
    let (first_key, second_key) = (key(1), key(2));
    let key_file =
        &pons::config::KeyFile::new("encryption.key", pons::config::KeyFileChoice::Default);
    use pons::key_check::KeyCheck;

    let (first, second) = tokio::join!(
        pons::key_check::check_key(&harness.store, &first_key, key_file, KeyCheck::Full),
        pons::key_check::check_key(&second, &second_key, key_file, KeyCheck::Full),
    );

    assert!(
        first.is_ok() != second.is_ok(),
        "exactly one key wins: {first:?} {second:?}"
    );
    let winner = if first.is_ok() {
        &first_key
    } else {
        &second_key
    };
    let rows = harness
        .count("SELECT count(*) FROM encryption_key_verifier")
        .await;
    assert_eq!(rows, 1);
    let sealed = harness
        .store
        .key_verifier()
        .await
        .expect("read verifier")
        .expect("verifier stored");
    assert!(pons::key_check::opens_verifier(winner, &sealed));
}

#[tokio::test]
async fn unmatched_callback_data_noted_in_log() {
    let harness = harness!();
    let store = &harness.store;
    let t = tenant(store, "callback-note").await;
    let mut unknown = status(&t.account, "wamid.N1", MessageStatus::Sent, T0);
    unknown.biz_opaque_callback_data = Some("no-such-message".to_owned());
    let mut log = webhook_log(Some(&t.account.id));
    log.detail = Some("earlier note".to_owned());
    let report = store
        .ingest(WebhookBatch {
            log,
            items: vec![IngestItem::Status(unknown)],
        })
        .await
        .expect("ingest");
    assert_eq!(report.statuses_deferred, 1);

    let detail: String = sqlx::query_scalar("SELECT detail FROM webhook_log")
        .fetch_one(harness.pool())
        .await
        .expect("one log row");
    assert!(detail.starts_with("earlier note; "), "{detail}");
    assert!(detail.contains("wamid.N1"), "{detail}");
    assert!(
        detail.contains("no outbound message has the id \"no-such-message\""),
        "{detail}"
    );
}

#[tokio::test]
async fn unreachable_server_is_named() {
    // Nothing listens on port 1 of the loopback address.
    let error = PostgresStore::connect("postgres://pons:secret@127.0.0.1:1/pons")
        .await
        .unwrap_err();
    let message = format!("{error:#}");

    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("\"pons\""), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn newer_schema_is_rejected() {
    let database = TestDatabase::create().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (999, 'from a newer release', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(database.store.pool())
    .await
    .unwrap();

    let error = PostgresStore::connect(&database.url()).await.unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("schema version 999 is newer"), "{message}");
    assert!(message.contains("run a newer Pons release"), "{message}");
}

/// Ends the connection that holds the database's advisory lock, as a
/// PostgreSQL restart would, and returns how many connections it ended.
async fn end_lock_connections(harness: &PostgresHarness) -> i64 {
    harness
        .count(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
             WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await
}

#[tokio::test]
async fn lock_taken_again_after_disconnect() {
    use pons::store::postgres::instance_lock::{LockCheck, lock_for_key_change, lock_for_server};

    let harness = harness!();
    let url = harness.database.url();
    let server = lock_for_server(&url).await.expect("server lock");
    assert_eq!(server.check().await, LockCheck::Held);

    assert_eq!(end_lock_connections(&harness).await, 1);
    assert_eq!(server.check().await, LockCheck::TakenAgain);
    assert_eq!(server.check().await, LockCheck::Held);
    let rejected = lock_for_key_change(&url, "pons encryption-key adopt")
        .await
        .err()
        .map(|error| format!("{error:#}"))
        .expect("the server holds the lock again");
    assert!(rejected.contains("a `pons serve` is using"), "{rejected}");
    server.release().await;
}

#[tokio::test]
async fn key_change_reported_after_lost_lock() {
    use pons::store::postgres::instance_lock::{LockCheck, lock_for_key_change, lock_for_server};

    let harness = harness!();
    let url = harness.database.url();
    sqlx::query(
        "INSERT INTO encryption_key_verifier (id, sealed, created_at) VALUES (1, '\\x01', 0)",
    )
    .execute(harness.pool())
    .await
    .unwrap();
    let server = lock_for_server(&url).await.expect("server lock");

    assert_eq!(end_lock_connections(&harness).await, 1);
    let change = lock_for_key_change(&url, "pons encryption-key adopt")
        .await
        .expect("no lock is held while the server's connection is gone");
    let LockCheck::Lost(reason) = server.check().await else {
        panic!("a key change holds the lock");
    };
    assert!(reason.contains("changes the encryption key"), "{reason}");
    sqlx::query("UPDATE encryption_key_verifier SET sealed = '\\x02' WHERE id = 1")
        .execute(harness.pool())
        .await
        .unwrap();
    change.release().await;

    assert_eq!(server.check().await, LockCheck::TakenAgainAfterKeyChange);
    assert_eq!(server.check().await, LockCheck::Held);
    server.release().await;
}

#[tokio::test]
async fn key_change_waits_for_servers_on_the_database() {
    use pons::store::postgres::instance_lock::{lock_for_key_change, lock_for_server};

    let harness = harness!();
    let url = harness.database.url();
    let first = lock_for_server(&url).await.expect("first server");
    let second = lock_for_server(&url).await.expect("servers share the lock");
    let rejected = lock_for_key_change(&url, "pons encryption-key adopt")
        .await
        .err()
        .map(|error| format!("{error:#}"))
        .expect("a server holds the lock");
    assert!(rejected.contains("a `pons serve` is using"), "{rejected}");
    assert!(
        rejected.contains("on this machine or another"),
        "{rejected}"
    );
    assert!(rejected.contains("pons encryption-key adopt"), "{rejected}");

    first.release().await;
    second.release().await;
    let change = lock_for_key_change(&url, "pons encryption-key adopt")
        .await
        .expect("no server is left");
    let blocked = lock_for_server(&url)
        .await
        .err()
        .map(|error| format!("{error:#}"))
        .expect("a key change holds the lock");
    assert!(blocked.contains("changing the encryption key"), "{blocked}");
    change.release().await;
    lock_for_server(&url)
        .await
        .expect("the key change is over")
        .release()
        .await;
}
