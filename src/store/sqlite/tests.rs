//! Tests of private items: the database URL parser and the search index
//! triggers.

use std::path::PathBuf;

use super::{SqliteStore, path_from_url, reject_read_only};
use crate::store::{
    AccountId, InboundMessage, IngestItem, NewAccount, NewUser, NewWebhookLog, Store, WebhookBatch,
};

fn batch(items: Vec<IngestItem>) -> WebhookBatch {
    WebhookBatch {
        log: NewWebhookLog {
            received_at: 1,
            account_id: None,
            headers_json: "{}".to_owned(),
            body: bytes::Bytes::new(),
            outcome: "processed".to_owned(),
            detail: None,
        },
        items,
    }
}

async fn account(store: &SqliteStore) -> AccountId {
    account_numbered(store, 0).await
}

/// Creates account `number`, with its own owner, Meta ids and phone number.
async fn account_numbered(store: &SqliteStore, number: u8) -> AccountId {
    let owner = store
        .create_user(NewUser {
            email: format!("owner{number}@example.com"),
            password_hash: None,
        })
        .await
        .expect("user");
    let account = store
        .create_account(NewAccount {
            name: format!("Shop {number}"),
            waba_id: format!("waba{number}"),
            phone_number_id: format!("pnid{number}"),
            phone_number: format!("1555000000{number}"),
            display_name: None,
            access_token_encrypted: vec![1],
            app_secret_encrypted: vec![2],
            verify_token: "verify".to_owned(),
            owner: owner.id,
        })
        .await
        .expect("account");
    account.id
}

fn inbound(account: &AccountId) -> IngestItem {
    IngestItem::Message(InboundMessage {
        account_id: account.clone(),
        from: "15551112222".to_owned(),
        wamid: "wamid.IN".to_owned(),
        timestamp: 100,
        kind: "text".to_owned(),
        text: Some("hi".to_owned()),
        caption: None,
        media: None,
        context_wamid: None,
        content_json: "{}".to_owned(),
        raw_json: "{}".to_owned(),
        errors: Vec::new(),
    })
}

#[test]
fn path_from_url_accepts_paths() {
    let cases = [
        ("sqlite:///var/lib/pons/pons.db", "/var/lib/pons/pons.db"),
        ("sqlite://data/pons.db", "data/pons.db"),
        ("sqlite:pons.db", "pons.db"),
        ("/tmp/pons.db", "/tmp/pons.db"),
        ("pons.db", "pons.db"),
        ("postgres.db", "postgres.db"),
        ("postgres/pons.db", "postgres/pons.db"),
        ("sqlite:./file:y.db", "./file:y.db"),
    ];
    for (url, path) in cases {
        let parsed = path_from_url(url).expect(url);
        assert_eq!(parsed, PathBuf::from(path), "{url}");
    }
}

#[test]
fn directory_as_database_rejected() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("pons.db");
    std::fs::create_dir(&path).expect("create directory");

    let error = match SqliteStore::open(&path) {
        Ok(_) => panic!("a directory opened as a database"),
        Err(error) => format!("{error:#}"),
    };

    let expected = format!(
        "SQLite database {} is a directory, not a file",
        path.display()
    );
    assert!(error.contains(&expected), "{error}");
    assert!(error.contains("move it away"), "{error}");
    assert!(!error.contains("unable to open"), "{error}");
    assert!(path.is_dir(), "the directory stays as it was");
}

#[test]
fn path_from_url_rejects_unusable() {
    for url in [
        "",
        "sqlite://",
        "sqlite::memory:",
        ":memory:",
        "sqlite://pons.db?mode=ro",
        "mysql://db.example/pons",
        "postgres//pons:secret@127.0.0.1/pons",
        "postgres:/pons@127.0.0.1/pons",
        "PostgreSQL:pons@db/pons",
    ] {
        assert!(path_from_url(url).is_err(), "{url:?} must be rejected");
    }
}

#[test]
fn path_from_url_rejects_odd_paths() {
    let cases = [
        ("sqlite::", "starts with ':'"),
        ("sqlite:::", "starts with ':'"),
        ("sqlite://:", "starts with ':'"),
        (":", "starts with ':'"),
        ("sqlite: ", "blank file path"),
        ("sqlite:/", "ends in '/'"),
        ("sqlite:///", "ends in '/'"),
        ("sqlite://pons-data/", "ends in '/'"),
        ("sqlite:sqlite:pons.db", "repeats the sqlite: scheme"),
        ("file:y.db", "SQLite URI file names are not supported"),
        (
            "sqlite:file:y.db",
            "SQLite URI file names are not supported",
        ),
        (
            "sqlite://file:y.db",
            "SQLite URI file names are not supported",
        ),
    ];
    for (url, problem) in cases {
        let error = match path_from_url(url) {
            Ok(path) => panic!("{url:?} was accepted as {}", path.display()),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(&format!("{url:?}")), "{error}");
        assert!(error.contains(problem), "{error}");
        assert!(error.contains("sqlite://PATH"), "{error}");
    }
}

#[test]
fn url_errors_hide_the_password() {
    for url in [
        "postgres//pons:secret@127.0.0.1/pons",
        "mysql://pons:secret@db.example/pons",
    ] {
        let error = path_from_url(url).unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }
}

/// Runs FTS5's integrity check of the index's own structure, and checks
/// that the index contains every message, under its rowid negated, and
/// nothing else. Which words each message is found by is left to searches.
fn check_search_index(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
        [],
    )?;
    let unindexed: i64 = conn.query_row(
        "SELECT count(*) FROM messages m \
         WHERE NOT EXISTS (SELECT 1 FROM messages_fts_docsize d WHERE d.id = -m.rowid)",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(unindexed, 0, "messages missing from the search index");
    let stale: i64 = conn.query_row(
        "SELECT count(*) FROM messages_fts_docsize d \
         WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.rowid = -d.id)",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(stale, 0, "index rows left for removed messages");
    Ok(())
}

/// Builds an inbound text message of `account` with this wamid and text.
fn text_message(account: &AccountId, wamid: &str, text: &str) -> IngestItem {
    let IngestItem::Message(mut message) = inbound(account) else {
        unreachable!("inbound builds a message");
    };
    message.wamid = wamid.to_owned();
    message.text = Some(text.to_owned());
    IngestItem::Message(message)
}

#[tokio::test]
async fn search_index_follows_edits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("pons.db")).expect("open");
    let account = account(&store).await;
    let message = |wamid: &str, text: &str| text_message(&account, wamid, text);
    let indexed = vec![message("w1", "alpha"), message("w2", "bravo")];
    store
        .ingest(batch(indexed))
        .await
        .expect("indexed messages");

    let account_id = account.clone();
    store
        .writer
        .write(move |tx| {
            // Messages of this transaction are still waiting to be indexed.
            tx.execute(
                "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, \
                     text, status, timestamp, created_at) \
                 SELECT 'm3', account_id, conversation_id, 'w3', 'inbound', 'text', 'charlie', \
                     'received', 1, 1 FROM messages WHERE wamid = 'w1'",
                [],
            )?;
            tx.execute("UPDATE messages SET text = 'delta' WHERE wamid = 'w3'", [])?;
            tx.execute(
                "INSERT INTO messages (id, account_id, conversation_id, wamid, direction, type, \
                     text, status, timestamp, created_at) \
                 SELECT 'm4', account_id, conversation_id, 'w4', 'inbound', 'text', 'echo', \
                     'received', 1, 1 FROM messages WHERE wamid = 'w1'",
                [],
            )?;
            tx.execute("DELETE FROM messages WHERE wamid = 'w4'", [])?;
            // Messages indexed by an earlier transaction.
            tx.execute(
                "UPDATE messages SET text = 'foxtrot' WHERE wamid = 'w1'",
                [],
            )?;
            tx.execute("DELETE FROM messages WHERE wamid = 'w2'", [])?;
            Ok(())
        })
        .await
        .expect("edits");
    store
        .writer
        .write(|tx| check_search_index(tx).map_err(Into::into))
        .await
        .expect("search index matches messages");

    let ids = [account_id];
    let found = |query: &'static str| {
        let store = &store;
        let ids = &ids;
        async move {
            store
                .search_messages(ids, query, 10)
                .await
                .expect("search")
                .into_iter()
                .filter_map(|hit| hit.message.wamid)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("foxtrot").await, vec!["w1".to_owned()]);
    assert_eq!(found("delta").await, vec!["w3".to_owned()]);
    for gone in ["alpha", "bravo", "charlie", "echo"] {
        assert!(found(gone).await.is_empty(), "{gone} must not be found");
    }
}

/// Returns FTS5's token count of every indexed row, by rowid.
fn index_token_counts(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<(i64, u64)>> {
    conn.prepare("SELECT -id, sz FROM messages_fts_docsize ORDER BY -id")?
        .query_map([], |row| {
            let record: Vec<u8> = row.get(1)?;
            Ok((
                row.get(0)?,
                super::token_counts::docsize_count(&record).unwrap_or(0),
            ))
        })?
        .collect()
}

#[tokio::test]
async fn token_counts_in_memory_follow_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pons.db");
    let store = SqliteStore::open(&path).expect("open");
    let account = account(&store).await;
    let message = |wamid: &str, text: &str| text_message(&account, wamid, text);
    let texts = [
        ("w1", "one"),
        ("w2", "two words"),
        ("w3", "three words here"),
    ];
    let messages = texts
        .iter()
        .map(|(wamid, text)| message(wamid, text))
        .collect();
    store.ingest(batch(messages)).await.expect("ingest");
    store
        .writer
        .write(|tx| {
            tx.execute(
                "UPDATE messages SET text = 'now five words long here' WHERE wamid = 'w1'",
                [],
            )?;
            tx.execute("DELETE FROM messages WHERE wamid = 'w2'", [])?;
            Ok(())
        })
        .await
        .expect("edits");

    let indexed = store
        .writer
        .write(|tx| index_token_counts(tx).map_err(Into::into))
        .await
        .expect("index counts");
    assert_eq!(
        indexed.iter().map(|(_, count)| *count).collect::<Vec<_>>(),
        [5, 3]
    );
    for (rowid, count) in &indexed {
        assert_eq!(
            store.counts.get(*rowid).map(u64::from),
            Some(*count),
            "rowid {rowid}"
        );
    }

    // A store opened later reads the same counts from the index.
    drop(store);
    let reopened = SqliteStore::open(&path).expect("reopen");
    for (rowid, count) in &indexed {
        assert_eq!(
            reopened.counts.get(*rowid).map(u64::from),
            Some(*count),
            "rowid {rowid}"
        );
    }
}

/// Returns the wamids that a search for "parcel" by a key limited to
/// `account` finds.
async fn parcels_found(store: &SqliteStore, account: &AccountId) -> Vec<String> {
    store
        .search_messages(std::slice::from_ref(account), "parcel", 10)
        .await
        .expect("search")
        .into_iter()
        .map(|hit| hit.message.wamid.unwrap_or_default())
        .collect()
}

/// Returns the rowid of each message and of its account, by wamid.
fn message_account_rowids(
    conn: &rusqlite::Connection,
) -> rusqlite::Result<std::collections::HashMap<String, (i64, i64)>> {
    conn.prepare(
        "SELECT m.wamid, m.rowid, a.rowid FROM messages m JOIN accounts a ON a.id = m.account_id",
    )?
    .query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))?
    .collect()
}

#[tokio::test]
async fn limited_search_uses_message_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pons.db");
    let store = SqliteStore::open(&path).expect("open");
    let first = account_numbered(&store, 1).await;
    let second = account_numbered(&store, 2).await;
    store
        .ingest(batch(vec![
            text_message(&first, "w1", "parcel one"),
            text_message(&second, "w2", "parcel two"),
        ]))
        .await
        .expect("ingest");
    let stored = store
        .writer
        .write(|tx| message_account_rowids(tx).map_err(Into::into))
        .await
        .expect("account rowids");
    let (w1, first_rowid) = stored["w1"];
    let (w2, _) = stored["w2"];
    for (rowid, account) in stored.values() {
        assert_eq!(store.message_accounts.get(*rowid), Some(*account));
    }

    assert_eq!(parcels_found(&store, &first).await, ["w1"]);
    assert_eq!(parcels_found(&store, &second).await, ["w2"]);

    // A message whose account is not known here is read from its row.
    store.message_accounts.clear(w1);
    assert_eq!(parcels_found(&store, &first).await, ["w1"]);

    // A wrong entry hides nothing of the key's own account and never shows
    // a message of another account.
    store.message_accounts.set(w2, first_rowid);
    assert_eq!(parcels_found(&store, &first).await, ["w1"]);

    // A store opened later reads every message's account.
    drop(store);
    let reopened = SqliteStore::open(&path).expect("reopen");
    for (rowid, account) in stored.values() {
        assert_eq!(reopened.message_accounts.get(*rowid), Some(*account));
    }
}

#[tokio::test]
async fn index_merge_keeps_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("pons.db")).expect("open");
    let account = account(&store).await;
    // Each webhook is a transaction of its own and adds a segment.
    for index in 0..12 {
        let wamid = format!("w{index}");
        let text = format!("order ORD-{index} shipped");
        store
            .ingest(batch(vec![text_message(&account, &wamid, &text)]))
            .await
            .expect("ingest");
    }
    async fn segment_pages(store: &SqliteStore) -> Vec<u64> {
        store
            .writer
            .write(|tx| {
                Ok(super::index_merge::read_segments(tx)?
                    .expect("structure record")
                    .page_counts())
            })
            .await
            .expect("segments")
    }
    let before = segment_pages(&store).await;
    assert!(
        before.len() > 1,
        "twelve writes leave one segment: {before:?}"
    );

    let mut steps = 0;
    while store
        .writer
        .write(|tx| super::index_merge::merge_step(tx))
        .await
        .expect("merge step")
    {
        steps += 1;
        assert!(steps < 100, "the merge must end");
    }
    let after = segment_pages(&store).await;
    assert_eq!(after.len(), 1, "merged from {before:?}");
    // Nothing further is due.
    assert!(
        !store
            .writer
            .write(|tx| super::index_merge::merge_step(tx))
            .await
            .expect("merge step")
    );

    let ids = [account];
    let hits = store
        .search_messages(&ids, "order", 20)
        .await
        .expect("search");
    assert_eq!(hits.len(), 12);
    let code = store
        .search_messages(&ids, "ORD-7", 20)
        .await
        .expect("search");
    let wamids: Vec<_> = code
        .into_iter()
        .filter_map(|hit| hit.message.wamid)
        .collect();
    assert_eq!(wamids, vec!["w7".to_owned()]);
}

#[cfg(unix)]
#[test]
fn new_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pons.db");
    let _store = SqliteStore::open(&path).unwrap();

    for name in ["pons.db", "pons.db-wal", "pons.db-shm"] {
        let file = directory.path().join(name);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[cfg(unix)]
#[test]
fn database_created_through_a_link_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("elsewhere.db");
    let path = directory.path().join("pons.db");
    std::os::unix::fs::symlink("elsewhere.db", &path).unwrap();
    let _store = SqliteStore::open(&path).unwrap();

    for name in ["elsewhere.db", "elsewhere.db-wal", "elsewhere.db-shm"] {
        let file = directory.path().join(name);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    assert!(target.exists());
}

#[test]
fn read_only_database_is_rejected() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pons.db");
    drop(SqliteStore::open(&path).unwrap());
    // SQLite opens a file that the process may not write this way.
    let read_only =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let writable = rusqlite::Connection::open(&path).unwrap();

    let error = reject_read_only(&read_only, &path).unwrap_err().to_string();
    assert!(error.contains("read-only"), "{error}");
    assert!(error.contains("pons.db"), "{error}");
    assert!(reject_read_only(&writable, &path).is_ok());
}

#[cfg(unix)]
#[test]
fn unopenable_file_gets_a_hint() {
    // SQLite cannot create a file through a link whose target's folder is
    // missing. A folder as the database gets its own error, tested in
    // `directory_as_database_rejected`.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pons.db");
    std::os::unix::fs::symlink(directory.path().join("missing/pons.db"), &path).unwrap();

    let error = SqliteStore::open(&path)
        .err()
        .expect("an unopenable file is rejected");
    let message = format!("{error:#}");
    assert!(message.contains("opening SQLite database"), "{message}");
    assert!(message.contains("may read and write"), "{message}");
}

#[test]
fn damaged_database_gets_a_hint() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("pons.db");
    drop(SqliteStore::open(&path).unwrap());
    // Moves every page from the write-ahead log into the file.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let whole = std::fs::read(&path).unwrap();
    let garbage = vec![0x5a; 8192];
    // A file cut after its first pages, and a file that is no SQLite file.
    for (case, bytes) in [
        ("truncated", &whole[..whole.len() / 2]),
        ("foreign", &garbage[..]),
    ] {
        let _ = std::fs::remove_file(directory.path().join("pons.db-wal"));
        let _ = std::fs::remove_file(directory.path().join("pons.db-shm"));
        std::fs::write(&path, bytes).unwrap();

        let error = SqliteStore::open(&path)
            .err()
            .expect("a damaged file is rejected");
        let message = format!("{error:#}");
        assert!(message.contains("is damaged"), "{case}: {message}");
        assert!(
            message.contains("restore it from a backup"),
            "{case}: {message}"
        );
        assert!(message.contains("pons.db"), "{case}: {message}");
    }
}
