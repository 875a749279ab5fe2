//! `pons bench ingest`: posts signed single-message webhooks over N
//! keep-alive connections to a running server and reports acknowledged
//! webhooks per second with latency percentiles, beside the ceiling of a
//! route that only answers 200 measured in the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use clap::Args;
use http::{Method, Request};

use super::load::{Body, PhaseConfig, PhaseResult, Target, run_phase, status_ok};
use crate::whatsapp::signature;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Base URL of the running server (loopback only is sensible).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// File holding the app secret of the account the webhooks are for.
    #[arg(long, value_name = "PATH")]
    pub app_secret_file: PathBuf,
    /// Phone number id of that account.
    #[arg(long, value_name = "ID")]
    pub phone_number_id: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds of unmeasured warm-up before each phase.
    #[arg(long, default_value_t = 3)]
    pub warmup_seconds: u64,
    /// Distinct customers the messages come from.
    #[arg(long, default_value_t = 1000)]
    pub customers: u64,
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let secret = std::fs::read_to_string(&args.app_secret_file).with_context(|| {
        format!(
            "cannot read --app-secret-file {}",
            args.app_secret_file.display()
        )
    })?;
    let target = Arc::new(Target::parse(&args.url)?);
    let config = PhaseConfig {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_seconds),
        measured: Duration::from_secs(args.seconds),
        server_pid: None,
    };
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let secret = Arc::new(secret.trim().to_owned());

    let healthz = {
        let target = target.clone();
        move |_, _| {
            Ok(target
                .request(Method::GET, "/healthz")
                .body(Body::default())?)
        }
    };
    let ceiling = run_phase(&target, config, healthz, status_ok).await?;
    let webhook = {
        let (target, phone_id) = (target.clone(), args.phone_number_id.clone());
        let customers = args.customers.max(1);
        // Spreads request numbers so that no two connections repeat a wamid.
        let stride = args.connections as u64;
        move |worker: usize, sequence: u64| {
            let n = sequence * stride + worker as u64;
            let body = webhook_body(&phone_id, &run_id, n, customers);
            let sig = signature::sign(secret.as_bytes(), &body);
            signed_request(&target, body, &sig)
        }
    };
    let ingest = run_phase(&target, config, webhook, status_ok).await?;

    println!(
        "connections: {}, measured seconds: {}",
        args.connections, args.seconds
    );
    print_row("GET /healthz (answers 200 only)", &ceiling);
    print_row("POST /api/webhook (signed, stored)", &ingest);
    if ingest.errors > 0 {
        bail!(
            "{} webhook requests were not acknowledged with 200",
            ingest.errors
        );
    }
    Ok(())
}

fn print_row(name: &str, r: &PhaseResult) {
    println!(
        "{name:<38} {:>9.0} req/s  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  \
         ({} requests, {} errors)",
        r.per_second, r.p50_ms, r.p95_ms, r.p99_ms, r.requests, r.errors
    );
}

/// Builds a single-message webhook body from customer `n % customers`.
fn webhook_body(phone_id: &str, run: &str, n: u64, customers: u64) -> Vec<u8> {
    let customer = 15_550_100_000 + n % customers;
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_id},
            "contacts": [{"profile": {"name": format!("Customer {}", n % customers)}, "wa_id": customer.to_string()}],
            "messages": [{"from": customer.to_string(), "id": format!("wamid.bench.{run}.{n}"),
                "timestamp": (1_750_000_000 + n).to_string(), "type": "text",
                "text": {"body": format!("Hello, is order {n} ready for pickup today?")}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn signed_request(target: &Target, body: Vec<u8>, sig: &str) -> anyhow::Result<Request<Body>> {
    Ok(target
        .request(Method::POST, "/api/webhook")
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(signature::HEADER, sig)
        .body(Body::new(Bytes::from(body)))?)
}
