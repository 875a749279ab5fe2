//! Runs the store suite on a fresh SQLite file per test, plus checks of
//! rows the `Store` trait does not read back (events, templates, logs).

#[macro_use]
mod store_suite;

use std::path::{Path, PathBuf};

use pons::store::{DynStore, IngestItem, MessageStatus, MetaError, NewJob, TemplateStatusUpdate};
use rusqlite::{Connection, OptionalExtension};
use store_suite::{
    Harness, T0, batch, ingest, outbound_text, send_text, status, tenant, text, webhook_log,
};
use tempfile::TempDir;

/// A store on `pons.db` in a directory that is removed on drop.
struct SqliteHarness {
    _dir: TempDir,
    path: PathBuf,
    store: DynStore,
}

async fn open_sqlite() -> SqliteHarness {
    let dir = tempfile::tempdir().expect("tempdir");
    // A missing parent directory is created by the store.
    let path = dir.path().join("data").join("pons.db");
    let url = format!("sqlite://{}", path.display());
    let store = pons::store::connect(&url).await.expect("open SQLite store");
    SqliteHarness {
        _dir: dir,
        path,
        store,
    }
}

impl Harness for SqliteHarness {
    fn store(&self) -> DynStore {
        self.store.clone()
    }
}

/// Opens a separate read-write connection for checking and seeding rows.
fn connection(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open database file");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    conn
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0))
        .expect("count query")
}

store_suite_tests!(open_sqlite);

#[tokio::test]
async fn open_configures_wal_and_schema() {
    let harness = open_sqlite().await;
    let conn = connection(&harness.path);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user version");
    assert_eq!(version, 7);

    // Opening the same file again applies no migration and keeps the data.
    let t = tenant(&harness.store, "reopen").await;
    let again = pons::store::connect(harness.path.to_str().expect("UTF-8 path"))
        .await
        .expect("reopen");
    let found = again
        .find_account(t.account.id.as_str())
        .await
        .expect("find");
    assert!(found.is_some());
}

#[tokio::test]
async fn duplicate_message_stores_one_event() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    let t = tenant(store, "events").await;
    let item = IngestItem::Message(text(&t.account, "15551280001", "wamid.EV", T0, "hello"));
    ingest(store, vec![item.clone()]).await;
    ingest(store, vec![item]).await;

    let conn = connection(&harness.path);
    let payload: String = conn
        .query_row(
            "SELECT payload_json FROM events WHERE type = 'message.inbound.received'",
            [],
            |row| row.get(0),
        )
        .expect("exactly one inbound event");
    let payload: serde_json::Value = serde_json::from_str(&payload).expect("JSON payload");
    assert_eq!(payload["wamid"], "wamid.EV");
    assert_eq!(payload["from"], "15551280001");
    assert_eq!(payload["type"], "text");
    assert_eq!(payload["text"], "hello");
    assert_eq!(payload["timestamp"], "2023-11-14T22:13:20Z");
    assert!(payload["messageId"].is_string());
    assert!(payload["conversationId"].is_string());
    assert_eq!(count(&conn, "SELECT count(*) FROM webhook_log"), 2);
}

#[tokio::test]
async fn early_status_is_consumed_by_message() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    let t = tenant(store, "pending").await;
    let early = status(&t.account, "wamid.P1", MessageStatus::Delivered, T0);
    ingest(store, vec![IngestItem::Status(early.clone())]).await;
    ingest(store, vec![IngestItem::Status(early)]).await;

    let conn = connection(&harness.path);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pending_statuses"),
        1,
        "identical status kept once"
    );

    ingest(
        store,
        vec![IngestItem::Message(text(
            &t.account,
            "15551280002",
            "wamid.P1",
            T0,
            "hi",
        ))],
    )
    .await;
    assert_eq!(count(&conn, "SELECT count(*) FROM pending_statuses"), 0);
}

#[tokio::test]
async fn template_update_keeps_unsent_fields() {
    let harness = open_sqlite().await;
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
    ingest(
        store,
        vec![update("REJECTED", Some("promo"), Some("INVALID_FORMAT"))],
    )
    .await;
    ingest(store, vec![update("APPROVED", None, None)]).await;

    let conn = connection(&harness.path);
    let row: (String, Option<String>, Option<String>, Option<String>) = conn
        .query_row(
            "SELECT status, rejected_reason, name, language FROM templates \
             WHERE account_id = ?1 AND meta_template_id = 'tmpl-9'",
            [t.account.id.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("template row");
    assert_eq!(row.0, "APPROVED");
    assert_eq!(row.1, None);
    assert_eq!(row.2.as_deref(), Some("promo"));
    assert_eq!(row.3.as_deref(), Some("en_US"));
}

#[tokio::test]
async fn failed_batch_leaves_no_rows() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    let t = tenant(store, "norows").await;
    let mut orphan = text(&t.account, "15551280003", "wamid.X2", T0, "orphan");
    orphan.account_id = pons::store::AccountId::generate();
    let result = store
        .ingest(batch(vec![
            IngestItem::Message(text(&t.account, "15551280003", "wamid.X1", T0, "first")),
            IngestItem::Message(orphan),
        ]))
        .await;
    assert!(result.is_err());

    let conn = connection(&harness.path);
    for table in [
        "webhook_log",
        "messages",
        "messages_fts_pending",
        "contacts",
        "conversations",
        "events",
    ] {
        let rows = count(&conn, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(rows, 0, "table {table} after a failed batch");
    }
    let indexed: Option<i64> = conn
        .query_row(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'first'",
            [],
            |row| row.get(0),
        )
        .optional()
        .expect("search index");
    assert_eq!(indexed, None);
}

/// FTS5's unicode61 tokenizer keeps `ß` as a letter of its own, so `ß`
/// and `ss` do not find each other, unlike on PostgreSQL (see the README's
/// limitations).
#[tokio::test]
async fn search_keeps_eszett_apart_from_ss() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    let t = tenant(store, "eszett-apart").await;
    let from = "15551280011";
    let items = vec![
        IngestItem::Message(text(&t.account, from, "wamid.E1", T0, "Hauptstraße 5")),
        IngestItem::Message(text(&t.account, from, "wamid.E2", T0 + 1, "Hauptstrasse 7")),
    ];
    ingest(store, items).await;

    let accounts = [t.account.id.clone()];
    for (query, expected) in [("Hauptstraße", "wamid.E1"), ("hauptstrasse", "wamid.E2")] {
        let hits = store
            .search_messages(&accounts, query, 10)
            .await
            .expect("search");
        let wamids: Vec<_> = hits
            .iter()
            .filter_map(|h| h.message.wamid.as_deref())
            .collect();
        assert_eq!(wamids, [expected], "search for {query:?}");
    }
}

#[tokio::test]
async fn outbound_events_stored() {
    let harness = open_sqlite().await;
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

    let conn = connection(&harness.path);
    let payload = |kind: &str| -> serde_json::Value {
        let text: String = conn
            .query_row(
                "SELECT payload_json FROM events WHERE type = ?1",
                [kind],
                |row| row.get(0),
            )
            .unwrap_or_else(|error| panic!("one {kind} event: {error}"));
        serde_json::from_str(&text).expect("JSON payload")
    };
    let sent_event = payload("message.outbound.sent");
    assert_eq!(sent_event["messageId"], sent.id.as_str());
    assert_eq!(sent_event["wamid"], "wamid.OE1");
    assert_eq!(sent_event["conversationId"], sent.conversation_id.as_str());
    assert_eq!(sent_event["to"], to);
    assert_eq!(sent_event["type"], "text");
    assert_eq!(sent_event["text"], "reply");
    assert_eq!(sent_event["timestamp"], "2023-11-14T22:13:21Z");
    let failed_event = payload("message.outbound.failed");
    assert_eq!(failed_event["messageId"], pending.id.as_str());
    assert_eq!(failed_event["wamid"], serde_json::Value::Null);
    assert_eq!(failed_event["error"]["code"], 131026);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM events WHERE type = 'message.status.updated'"
        ),
        2,
        "sent and failed each change a status"
    );
}

#[tokio::test]
async fn expired_last_attempt_marked_failed() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    store
        .enqueue_job(NewJob {
            kind: "test_job".to_owned(),
            account_id: None,
            payload_json: "{}".to_owned(),
            run_at: T0,
            max_attempts: 1,
            dedupe_key: None,
        })
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

    let conn = connection(&harness.path);
    let (state, error, attempts): (String, Option<String>, i64) = conn
        .query_row("SELECT state, last_error, attempts FROM jobs", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("job row");
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("lease")));
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn unmatched_callback_data_noted_in_log() {
    let harness = open_sqlite().await;
    let store = &harness.store;
    let t = tenant(store, "callback-note").await;
    let mut unknown = status(&t.account, "wamid.N1", MessageStatus::Sent, T0);
    unknown.biz_opaque_callback_data = Some("no-such-message".to_owned());
    let mut log = webhook_log(Some(&t.account.id));
    log.detail = Some("earlier note".to_owned());
    let report = store
        .ingest(pons::store::WebhookBatch {
            log,
            items: vec![IngestItem::Status(unknown)],
        })
        .await
        .expect("ingest");
    assert_eq!(report.statuses_deferred, 1);

    let conn = connection(&harness.path);
    let detail: String = conn
        .query_row("SELECT detail FROM webhook_log", [], |row| row.get(0))
        .expect("one log row");
    assert!(detail.starts_with("earlier note; "), "{detail}");
    assert!(detail.contains("wamid.N1"), "{detail}");
    assert!(
        detail.contains("no outbound message has the id \"no-such-message\""),
        "{detail}"
    );
}
