//! Measures how long the PostgreSQL store takes to store one webhook batch
//! of many inbound text messages, and one batch with a `delivered` status
//! for as many outbound messages.
//!
//! Usage: `cargo run --release --example postgres_batch_ingest -- [MESSAGES]
//! [CUSTOMERS] [RUNS]` (defaults 2000, 100 and 3). Every message comes with
//! its sender's contact item, as in Meta's `contacts[]`, and the senders
//! take turns. The outbound messages are sent to the same customers one at
//! a time before the status batch, untimed. Each run stores the batch into a fresh database, created on
//! the server named by `PONS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped afterwards.

use std::time::Instant;

use anyhow::Context;
use pons::store::postgres::PostgresStore;
use pons::store::{
    AccountId, ContactSeen, InboundMessage, IngestItem, MessageStatus, NewAccount,
    NewOutboundMessage, NewUser, NewWebhookLog, SentMessage, StatusUpdate, Store, WebhookBatch,
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
            "run {run}: {messages} messages from {customers} customers in one batch: {:.2} s \
             ({:.0} messages/s); {messages} statuses in one batch: {:.2} s ({:.0} statuses/s)",
            seconds.messages,
            messages as f64 / seconds.messages,
            seconds.statuses,
            messages as f64 / seconds.statuses
        );
    }
    Ok(())
}

/// Seconds that `Store::ingest` took for each batch of one run.
struct Seconds {
    messages: f64,
    statuses: f64,
}

/// Stores the message batch, sends the outbound messages and stores the
/// status batch, in the empty database at `url`.
async fn measure(url: &str, messages: usize, customers: usize) -> anyhow::Result<Seconds> {
    let store = PostgresStore::connect(url).await?;
    let account = setup(&store).await?;

    let batch = webhook(&account, messages, customers);
    let started = Instant::now();
    let report = store.ingest(batch).await?;
    let message_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.messages_inserted as usize == messages,
        "stored {} of {messages} messages",
        report.messages_inserted
    );

    send_outbound(&store, &account, messages, customers).await?;
    let batch = statuses(&account, messages, customers);
    let started = Instant::now();
    let report = store.ingest(batch).await?;
    let status_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.statuses_applied as usize == messages,
        "applied {} of {messages} statuses",
        report.statuses_applied
    );

    store.pool().close().await;
    Ok(Seconds {
        messages: message_seconds,
        statuses: status_seconds,
    })
}

/// Stores `messages` outbound texts, sent in turn to the customers, and
/// records Meta's acceptance of each as `wamid.sent.N`.
async fn send_outbound(
    store: &PostgresStore,
    account: &AccountId,
    messages: usize,
    customers: usize,
) -> anyhow::Result<()> {
    for n in 0..messages {
        let to = customer(n, customers);
        let pending = store
            .insert_outbound(NewOutboundMessage {
                account_id: account.clone(),
                wa_id: to.clone(),
                kind: "text".to_owned(),
                text: Some(format!("Order {n} ships tomorrow")),
                caption: None,
                media: None,
                context_wamid: None,
                content_json: "{}".to_owned(),
                timestamp: 1_700_050_000 + n as i64,
            })
            .await?;
        let sent = SentMessage {
            wamid: format!("wamid.sent.{n}"),
            wa_id: Some(to),
        };
        store
            .mark_outbound_sent(&pending.id, sent, 1_700_050_001 + n as i64)
            .await?;
    }
    Ok(())
}

/// Returns the wa_id of the customer who sends message `n`.
fn customer(n: usize, customers: usize) -> String {
    format!("1555{:07}", n % customers)
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
        let from = customer(n, customers);
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
    batch(account, items)
}

/// Builds one batch with a `delivered` status for each outbound message
/// that `send_outbound` sent.
fn statuses(account: &AccountId, messages: usize, customers: usize) -> WebhookBatch {
    let items = (0..messages)
        .map(|n| {
            IngestItem::Status(StatusUpdate {
                account_id: account.clone(),
                wamid: format!("wamid.sent.{n}"),
                status: MessageStatus::Delivered,
                timestamp: 1_700_100_000 + n as i64,
                recipient_id: Some(customer(n, customers)),
                error: None,
                biz_opaque_callback_data: None,
            })
        })
        .collect();
    batch(account, items)
}

fn batch(account: &AccountId, items: Vec<IngestItem>) -> WebhookBatch {
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
