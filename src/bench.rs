//! `pons bench ingest`: a load generator that posts signed single-message
//! webhooks over N keep-alive connections to a running server and reports
//! acknowledged webhooks per second with latency percentiles, beside the
//! ceiling of a route that only answers 200 measured in the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes_body::full;
use clap::Args;
use http::{Method, Request, StatusCode};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

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

/// Results of one measured phase.
#[derive(Debug)]
pub struct PhaseResult {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let secret = std::fs::read_to_string(&args.app_secret_file).with_context(|| {
        format!(
            "cannot read --app-secret-file {}",
            args.app_secret_file.display()
        )
    })?;
    let target = Target::parse(&args.url)?;
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let secret = Arc::new(secret.trim().to_owned());
    let counter = Arc::new(AtomicU64::new(0));

    let ceiling = run_phase(&target, &args, |_| RequestSpec::healthz()).await?;
    let factory = {
        let (secret, counter, phone_id) = (
            secret.clone(),
            counter.clone(),
            args.phone_number_id.clone(),
        );
        let customers = args.customers.max(1);
        move |_| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            RequestSpec::webhook(&secret, &phone_id, &run_id, n, customers)
        }
    };
    let ingest = run_phase(&target, &args, factory).await?;

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
        "{name:<38} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} errors)",
        r.per_second, r.p50_ms, r.p99_ms, r.requests, r.errors
    );
}

/// Host and port of the server under test.
struct Target {
    authority: String,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("invalid --url {url:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("invalid --url {url:?}: the benchmark speaks plain http to a local server");
        }
        let authority = uri.authority().context("--url has no host")?.to_string();
        Ok(Target { authority })
    }
}

/// One request to send.
struct RequestSpec {
    method: Method,
    path: &'static str,
    body: Vec<u8>,
    signature: Option<String>,
}

impl RequestSpec {
    fn healthz() -> RequestSpec {
        RequestSpec {
            method: Method::GET,
            path: "/healthz",
            body: Vec::new(),
            signature: None,
        }
    }

    fn webhook(secret: &str, phone_id: &str, run: &str, n: u64, customers: u64) -> RequestSpec {
        let customer = 15_550_100_000 + n % customers;
        let body = serde_json::json!({
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
        .into_bytes();
        let signature = Some(signature::sign(secret.as_bytes(), &body));
        RequestSpec {
            method: Method::POST,
            path: "/api/webhook",
            body,
            signature,
        }
    }
}

async fn run_phase<F>(target: &Target, args: &IngestArgs, make: F) -> anyhow::Result<PhaseResult>
where
    F: Fn(usize) -> RequestSpec + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let start = Instant::now();
    let warm_until = start + Duration::from_secs(args.warmup_seconds);
    let stop_at = warm_until + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for worker in 0..args.connections {
        let (make, authority) = (make.clone(), target.authority.clone());
        tasks.push(tokio::spawn(async move {
            drive_connection(&authority, worker, make.as_ref(), warm_until, stop_at).await
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (worker_latencies, worker_errors) = task.await??;
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    Ok(PhaseResult {
        requests: latencies.len() as u64,
        errors,
        per_second: latencies.len() as f64 / args.seconds as f64,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    })
}

/// Sends requests back to back on one connection; returns the latencies
/// (microseconds) of acknowledged requests in the measured window and the
/// count of failed ones.
async fn drive_connection<F>(
    authority: &str,
    worker: usize,
    make: &F,
    warm_until: Instant,
    stop_at: Instant,
) -> anyhow::Result<(Vec<u32>, u64)>
where
    F: Fn(usize) -> RequestSpec,
{
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut latencies = Vec::new();
    let mut errors = 0;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let spec = make(worker);
        let mut request = Request::builder()
            .method(spec.method)
            .uri(spec.path)
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(sig) = &spec.signature {
            request = request.header(signature::HEADER, sig);
        }
        let request = request.body(full(spec.body))?;
        sender.ready().await?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status();
        http_body_util::BodyExt::collect(response.into_body()).await?;
        if sent >= warm_until {
            if status == StatusCode::OK {
                latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            } else {
                errors += 1;
            }
        }
    }
    Ok((latencies, errors))
}

mod bytes_body {
    use axum::body::Bytes;
    use http_body_util::Full;

    pub fn full(body: Vec<u8>) -> Full<Bytes> {
        Full::new(Bytes::from(body))
    }
}
