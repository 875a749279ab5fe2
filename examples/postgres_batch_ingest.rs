//! Measures how long the PostgreSQL store takes to store one webhook batch
//! of many inbound text messages.
//!
//! Usage: `cargo run --release --example postgres_batch_ingest -- [MESSAGES]
//! [CUSTOMERS] [RUNS]` (defaults 2000, 100 and 3). Every message comes with
//! its sender's contact item, as in Meta's `contacts[]`, and the senders
//! take turns. Each run stores the batch into a fresh database, created on
//! the server named by `PONS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards.

use std::time::Instant;

use anyhow::Context;
use pons::store::postgres::PostgresStore;
use pons::store::{
    AccountId, ContactSeen, InboundMessage, IngestItem, NewAccount, NewUser, NewWebhookLog, Store,
    WebhookBatch,
};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next_number = |default: usize| -> anyhow::Result<usize> {
        match args.next() {
            Some(arg) => arg
                .parse()
                .with_context(|| format!("invalid number {arg:?}")),
            None => Ok(default),
        }
    };
    let messages = next_number(2000)?;
    let customers = next_number(100)?.max(1);
    let runs = next_number(3)?;
    let server_url =
        std::env::var("PONS_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());

    for run in 1..=runs {
        let name = format!("pons_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url).await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        let measured = measure(&database_url(&server_url, &name), messages, customers).await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        let seconds = measured?;
        println!(
            "run {run}: {messages} messages from {customers} customers in one batch: {seconds:.2} s \
             ({:.0} messages/s)",
            messages as f64 / seconds
        );
    }
    Ok(())
}

/// Stores one batch into the empty database at `url` and returns the
/// seconds that `Store::ingest` took.
async fn measure(url: &str, messages: usize, customers: usize) -> anyhow::Result<f64> {
    let store = PostgresStore::connect(url).await?;
    let account = setup(&store).await?;
    let batch = webhook(&account, messages, customers);
    let started = Instant::now();
    let report = store.ingest(batch).await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.messages_inserted as usize == messages,
        "stored {} of {messages} messages",
        report.messages_inserted
    );
    store.pool().close().await;
    Ok(seconds)
}

async fn setup(store: &PostgresStore) -> anyhow::Result<AccountId> {
    let owner = store
        .create_user(NewUser {
            email: "bench@example.com".to_owned(),
            password_hash: None,
        })
        .await?;
    let account = store
        .create_account(NewAccount {
            name: "Bench".to_owned(),
            waba_id: "waba-bench".to_owned(),
            phone_number_id: "pnid-bench".to_owned(),
            phone_number: "15550000000".to_owned(),
            display_name: None,
            access_token_encrypted: vec![0; 64],
            app_secret_encrypted: vec![0; 64],
            verify_token: "verify".to_owned(),
            owner: owner.id,
        })
        .await?;
    Ok(account.id)
}

/// Builds one batch with a contact item and a text message for each of
/// `messages` messages, sent in turn by `customers` customers.
fn webhook(account: &AccountId, messages: usize, customers: usize) -> WebhookBatch {
    let mut items = Vec::with_capacity(2 * messages);
    for n in 0..messages {
        let from = format!("1555{:07}", n % customers);
        let text = format!("Hello, I would like to know the status of order number {n}");
        items.push(IngestItem::Contact(ContactSeen {
            account_id: account.clone(),
            wa_id: from.clone(),
            profile_name: Some(format!("Customer {}", n % customers)),
            user_id: None,
        }));
        items.push(IngestItem::Message(InboundMessage {
            account_id: account.clone(),
            from,
            wamid: format!("wamid.bench.{n}"),
            timestamp: 1_700_000_000 + n as i64,
            kind: "text".to_owned(),
            text: Some(text.clone()),
            caption: None,
            media: None,
            context_wamid: None,
            content_json: format!("{{\"body\":\"{text}\"}}"),
            raw_json: "{}".to_owned(),
            errors: Vec::new(),
        }));
    }
    WebhookBatch {
        log: NewWebhookLog {
            received_at: 1_700_000_000,
            account_id: Some(account.clone()),
            headers_json: "{\"content-type\":\"application/json\"}".to_owned(),
            body: b"{}".to_vec().into(),
            outcome: "processed".to_owned(),
            detail: None,
        },
        items,
    }
}

/// Replaces the database name in a PostgreSQL URL such as
/// `postgres://user@host:5432/test?sslmode=disable`, keeping its query.
fn database_url(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    match query {
        Some(query) => format!("{}/{database}?{query}", &base[..host_end]),
        None => format!("{}/{database}", &base[..host_end]),
    }
}
