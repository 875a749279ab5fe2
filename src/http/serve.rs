//! The accept loop. Hyper serves each connection with a timer, so the
//! server closes a connection whose client stops sending request headers,
//! stops sending a request body, or stops reading responses. axum's own
//! `serve` sets none of these limits.

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::log_throttle::LogThrottle;

/// How often a failure to accept a connection is logged while failures go
/// on. Without a limit, a server out of file descriptors logs one line per
/// retry, 20 a second.
const ACCEPT_FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits
/// for the open connections to finish their current request.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let app = app.layer(RequestBodyTimeoutLayer::new(read_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    let graceful = GracefulShutdown::new();
    let mut accept_failures = LogThrottle::new(ACCEPT_FAILURE_LOG_INTERVAL);
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Running out of file descriptors passes; pause instead of spinning.
                    log_accept_failure(&mut accept_failures, std::time::Instant::now(), &error);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        // A write that cannot proceed for `read_timeout` fails, and hyper
        // then closes the connection.
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(read_timeout));
        let stream = TokioIo::new(Box::pin(stream));
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(stream, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Returns whether reading a request body failed because the client paused
/// longer than the read timeout, anywhere in the error's source chain.
pub fn body_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Logs the failure `error` to accept a connection at `now`, unless
/// `throttle` leaves it out, and then counts it for the next line.
fn log_accept_failure(throttle: &mut LogThrottle, now: std::time::Instant, error: &std::io::Error) {
    match throttle.due(now) {
        Some(similar_before) => tracing::warn!(
            %error,
            similar_before,
            "failed to accept a connection; failures like this are logged once a minute"
        ),
        None => tracing::debug!(%error, "failed to accept a connection"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_logged_once_a_minute() {
        let mut throttle = LogThrottle::new(ACCEPT_FAILURE_LOG_INTERVAL);
        let start = std::time::Instant::now();
        let error = std::io::Error::from_raw_os_error(libc::EMFILE);

        let first_minute = crate::test_log::capture(|| {
            for _ in 0..1_000 {
                log_accept_failure(&mut throttle, start, &error);
            }
        });
        let next_minute = crate::test_log::capture(|| {
            log_accept_failure(&mut throttle, start + ACCEPT_FAILURE_LOG_INTERVAL, &error);
        });

        let warnings = |log: &str| {
            log.lines()
                .filter(|line| line.contains("WARN") && line.contains("failed to accept"))
                .count()
        };
        assert_eq!(warnings(&first_minute), 1, "{first_minute}");
        assert_eq!(warnings(&next_minute), 1, "{next_minute}");
        assert!(next_minute.contains("similar_before=999"), "{next_minute}");
    }
}
