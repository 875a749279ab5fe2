//! The load generator shared by the benchmarks: one task per keep-alive
//! HTTP/1.1 connection sends requests back to back for a warm-up and a
//! measured window, and the latencies of the measured requests are merged
//! into one percentile summary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use http::{Method, Request, StatusCode, request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request body as the load generator sends it.
pub(super) type Body = Full<Bytes>;

/// Host and port of the server under test.
pub(super) struct Target {
    authority: String,
}

impl Target {
    /// Parses a plain `http://host:port` base URL.
    pub(super) fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("invalid --url {url:?}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("invalid --url {url:?}: the benchmark speaks plain http to a local server");
        }
        let authority = uri.authority().context("--url has no host")?.to_string();
        Ok(Target { authority })
    }

    /// Starts a request to `path` on this target with its `Host` header set.
    pub(super) fn request(&self, method: Method, path: &str) -> request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.authority)
    }

    async fn connect(&self) -> anyhow::Result<http1::SendRequest<Body>> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends one request on a new connection and returns the status and body.
    pub(super) async fn send_once(
        &self,
        request: Request<Body>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut sender = self.connect().await?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Connections and timing of one measured phase.
#[derive(Clone, Copy, Debug)]
pub(super) struct PhaseConfig {
    pub connections: usize,
    pub warmup: Duration,
    pub measured: Duration,
    /// Process whose CPU time is read at the start and end of the measured
    /// window, normally the server under test.
    pub server_pid: Option<u32>,
}

/// Results of one measured phase.
#[derive(Debug)]
pub struct PhaseResult {
    /// Requests in the measured window that passed the response check.
    pub requests: u64,
    /// Requests in the measured window that failed the response check.
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time (user and system) per passed request, in
    /// milliseconds, when a server process was given.
    pub server_cpu_ms: Option<f64>,
    /// CPU time of this load generator per passed request, in
    /// milliseconds. It shares the machine with the server, so the two
    /// together bound the calls per second.
    pub generator_cpu_ms: Option<f64>,
}

/// Builds request number `sequence` of connection `worker`.
pub(super) trait MakeRequest:
    Fn(usize, u64) -> anyhow::Result<Request<Body>> + Send + Sync
{
}
impl<F: Fn(usize, u64) -> anyhow::Result<Request<Body>> + Send + Sync> MakeRequest for F {}

/// Decides from the status and body whether a response counts as a success.
pub(super) trait CheckResponse: Fn(StatusCode, &[u8]) -> bool + Send + Sync {}
impl<F: Fn(StatusCode, &[u8]) -> bool + Send + Sync> CheckResponse for F {}

/// Accepts exactly status 200, whatever the body.
pub(super) fn status_ok(status: StatusCode, _body: &[u8]) -> bool {
    status == StatusCode::OK
}

/// Runs `config.connections` connections for the warm-up and the measured
/// window, then merges their latencies.
pub(super) async fn run_phase<M, C>(
    target: &Arc<Target>,
    config: PhaseConfig,
    make: M,
    check: C,
) -> anyhow::Result<PhaseResult>
where
    M: MakeRequest + 'static,
    C: CheckResponse + 'static,
{
    let (make, check) = (Arc::new(make), Arc::new(check));
    let warm_until = Instant::now() + config.warmup;
    let stop_at = warm_until + config.measured;
    let cpu = tokio::spawn(cpu_between(config.server_pid, warm_until, stop_at));
    let mut tasks = Vec::new();
    for worker in 0..config.connections {
        let (target, make, check) = (target.clone(), make.clone(), check.clone());
        tasks.push(tokio::spawn(async move {
            let window = (warm_until, stop_at);
            drive_connection(&target, worker, make.as_ref(), check.as_ref(), window).await
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (worker_latencies, worker_errors) = task.await??;
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    let (server_seconds, generator_seconds) = cpu.await??;
    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    Ok(PhaseResult {
        requests,
        errors,
        per_second: requests as f64 / config.measured.as_secs_f64(),
        p50_ms: percentile_ms(&latencies, 0.50),
        p95_ms: percentile_ms(&latencies, 0.95),
        p99_ms: percentile_ms(&latencies, 0.99),
        server_cpu_ms: server_seconds.and_then(|s| per_request_ms(s, requests)),
        generator_cpu_ms: per_request_ms(generator_seconds, requests),
    })
}

/// Spreads `seconds` of CPU time over `requests`, in milliseconds each.
fn per_request_ms(seconds: f64, requests: u64) -> Option<f64> {
    (requests > 0).then(|| seconds * 1000.0 / requests as f64)
}

/// Returns the nearest-rank percentile of sorted microsecond latencies, in ms.
fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

/// Sends requests back to back on one connection; returns the latencies
/// (microseconds) of passed requests in the measured window and the count
/// of failed ones.
async fn drive_connection(
    target: &Target,
    worker: usize,
    make: &dyn MakeRequest,
    check: &dyn CheckResponse,
    (warm_until, stop_at): (Instant, Instant),
) -> anyhow::Result<(Vec<u32>, u64)> {
    let mut sender = target.connect().await?;
    let mut latencies = Vec::new();
    let mut errors = 0;
    for sequence in 0.. {
        if Instant::now() >= stop_at {
            break;
        }
        let request = make(worker, sequence)?;
        sender.ready().await?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let elapsed = sent.elapsed();
        if sent < warm_until || sent >= stop_at {
            continue;
        }
        if check(status, &body) {
            latencies.push(elapsed.as_micros().min(u128::from(u32::MAX)) as u32);
        } else {
            errors += 1;
        }
    }
    Ok((latencies, errors))
}

/// Linux reports process times in clock ticks of `USER_HZ`, which is 100 on
/// x86 and ARM.
// NOTE: an architecture with another USER_HZ would scale the CPU figures.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Sleeps until `from`, then returns the CPU seconds that the server
/// `server` (when given) and this process used between `from` and `until`.
async fn cpu_between(
    server: Option<u32>,
    from: Instant,
    until: Instant,
) -> anyhow::Result<(Option<f64>, f64)> {
    let own = std::process::id();
    tokio::time::sleep_until(from.into()).await;
    let server_start = server.map(process_cpu_ticks).transpose()?;
    let own_start = process_cpu_ticks(own)?;
    tokio::time::sleep_until(until.into()).await;
    let server_end = server.map(process_cpu_ticks).transpose()?;
    let own_end = process_cpu_ticks(own)?;
    let seconds = |start: u64, end: u64| end.saturating_sub(start) as f64 / CLOCK_TICKS_PER_SECOND;
    let server_seconds = server_start.zip(server_end).map(|(s, e)| seconds(s, e));
    Ok((server_seconds, seconds(own_start, own_end)))
}

/// Reads user plus system time of a process, its exited threads included,
/// from `/proc/PID/stat`.
fn process_cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name in parentheses may contain spaces; fields after it
    // are space-separated, and utime and stime are fields 14 and 15.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected format of {path}"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("unexpected format of {path}"))
    };
    // `fields[0]` is field 3 (state), so field N is at index N - 3.
    Ok(field(11)? + field(12)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&sorted, 0.50), 51.0);
        assert_eq!(percentile_ms(&sorted, 0.95), 95.0);
        assert_eq!(percentile_ms(&sorted, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        let ticks = process_cpu_ticks(std::process::id()).expect("read own stat");
        let again = process_cpu_ticks(std::process::id()).expect("read own stat");
        assert!(again >= ticks);
    }
}
