//! Measures how many single-message webhook batches per second the SQLite
//! store commits, with many concurrent callers as the HTTP server has.
//!
//! Usage: `cargo run --example sqlite_ingest -- [BATCHES] [CALLERS]`
//! (defaults 20000 and 256). The database is a fresh file in a temporary
//! directory. Build it in the profile you want to measure: a debug build
//! compiles SQLite without optimization and is several times slower.

use std::sync::Arc;
use std::time::Instant;

use pons::store::{
    ContactSeen, DynStore, InboundMessage, IngestItem, NewAccount, NewUser, NewWebhookLog,
    WebhookBatch,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let batches: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let callers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let store = pons::store::connect(path.to_str().unwrap_or("bench.db")).await?;
    let account = setup(&store).await?;

    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let (store, account, next) = (store.clone(), account.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= batches {
                    return Ok::<_, pons::store::StoreError>(());
                }
                store.ingest(webhook(&account, n)).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    println!(
        "{batches} batches from {callers} callers in {:.2} s: {:.0} batches/s",
        elapsed.as_secs_f64(),
        batches as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn setup(store: &DynStore) -> anyhow::Result<pons::store::AccountId> {
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

/// Builds a webhook with one contact and one text message from one of
/// 1000 customers, with a body of about 1.2 KB.
fn webhook(account: &pons::store::AccountId, n: usize) -> WebhookBatch {
    let from = format!("1555{:07}", n % 1000);
    let wamid = format!("wamid.bench.{n}");
    let text = format!("Hello, I would like to know the status of order number {n}");
    let body = format!(
        "{{\"object\":\"whatsapp_business_account\",\"entry\":[{{\"changes\":[{{\"value\":\
         {{\"contacts\":[{{\"wa_id\":\"{from}\"}}],\"messages\":[{{\"id\":\"{wamid}\",\
         \"text\":{{\"body\":\"{text}\"}}}}]}}}}]}}],\"padding\":\"{}\"}}",
        "x".repeat(900)
    );
    WebhookBatch {
        log: NewWebhookLog {
            received_at: 1_700_000_000 + n as i64,
            account_id: Some(account.clone()),
            headers_json: "{\"content-type\":\"application/json\"}".to_owned(),
            body: body.into_bytes().into(),
            outcome: "processed".to_owned(),
            detail: None,
        },
        items: vec![
            IngestItem::Contact(ContactSeen {
                account_id: account.clone(),
                wa_id: from.clone(),
                profile_name: Some(format!("Customer {}", n % 1000)),
                user_id: None,
            }),
            IngestItem::Message(InboundMessage {
                account_id: account.clone(),
                from,
                wamid,
                timestamp: 1_700_000_000 + n as i64,
                kind: "text".to_owned(),
                text: Some(text.clone()),
                caption: None,
                media: None,
                context_wamid: None,
                content_json: format!("{{\"body\":\"{text}\"}}"),
                raw_json: "{}".to_owned(),
                errors: Vec::new(),
            }),
        ],
    }
}
