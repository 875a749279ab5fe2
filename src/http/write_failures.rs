//! Webhooks the database failed to store: one log line per minute instead
//! of one per webhook, and `/readyz` failing while they last.
//!
//! A full disk or a lost database fails every webhook in the same way.
//! Meta retries each one, so a line per failure would flood the log
//! without saying more than the first. `/readyz` returns 503 for a while
//! after a failure, so that a monitor or a load balancer detects it, and
//! 200 again once a webhook was stored or that time has passed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::log_throttle::LogThrottle;

/// How often a failure, and a recovery, is logged while they go on.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How long after a failure `/readyz` returns 503.
pub const NOT_READY_FOR: Duration = Duration::from_secs(30);

/// Failures to store webhooks, shared by every request.
#[derive(Clone)]
pub struct WriteFailures {
    inner: Arc<Mutex<Failures>>,
}

impl Default for WriteFailures {
    fn default() -> WriteFailures {
        WriteFailures {
            inner: Arc::new(Mutex::new(Failures {
                last_failure: None,
                since_stored: 0,
                failure_lines: LogThrottle::new(LOG_INTERVAL),
                recovery_lines: LogThrottle::new(LOG_INTERVAL),
            })),
        }
    }
}

struct Failures {
    /// When the last webhook failed to be stored, if none was stored since.
    last_failure: Option<Instant>,
    /// Failures since the last webhook that was stored.
    since_stored: u64,
    /// Limits of the failure and the recovery lines. A database that fails
    /// and recovers in turn logs each once a minute, not at every change.
    failure_lines: LogThrottle,
    recovery_lines: LogThrottle,
}

impl WriteFailures {
    /// Records that storing a webhook failed with `error`, and logs it
    /// unless a failure was logged less than a minute ago.
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        let now = Instant::now();
        let mut failures = self.lock();
        failures.last_failure = Some(now);
        failures.since_stored += 1;
        let due = failures.failure_lines.due(now.into_std());
        drop(failures);
        match due {
            Some(similar_before) => tracing::error!(
                %error,
                similar_before,
                "webhook not stored and answered 503; Meta will retry. Failures like this are \
                 logged once a minute, and /readyz returns 503 until a webhook is stored"
            ),
            None => tracing::debug!(%error, "webhook not stored; Meta will retry"),
        }
    }

    /// Records that a webhook was stored, which ends a run of failures.
    pub fn stored(&self) {
        let mut failures = self.lock();
        if failures.last_failure.take().is_none() {
            return;
        }
        let failed = std::mem::take(&mut failures.since_stored);
        let due = failures.recovery_lines.due(Instant::now().into_std());
        drop(failures);
        match due {
            Some(_) => tracing::info!(failed, "webhooks are stored again"),
            None => tracing::debug!(failed, "webhooks are stored again"),
        }
    }

    /// Returns how long ago a webhook failed to be stored, when that was
    /// less than [`NOT_READY_FOR`] ago and none was stored since.
    pub fn recent(&self) -> Option<Duration> {
        let last = self.lock().last_failure?;
        let ago = Instant::now().duration_since(last);
        (ago < NOT_READY_FOR).then_some(ago)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failures> {
        // The state stays consistent whatever a panicking holder did.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn full() -> StoreError {
        StoreError::Backend("database or disk is full".into())
    }

    /// Returns whether the next failure line would be logged.
    fn failure_line_due(failures: &WriteFailures) -> bool {
        failures
            .lock()
            .failure_lines
            .is_due(Instant::now().into_std())
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_logged_once_a_minute() {
        let failures = WriteFailures::default();
        assert!(failure_line_due(&failures));
        failures.failed(&full());
        assert!(!failure_line_due(&failures));
        failures.failed(&full());

        tokio::time::advance(LOG_INTERVAL).await;
        assert!(
            failure_line_due(&failures),
            "a minute later the next one is logged"
        );
        assert_eq!(failures.lock().since_stored, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn recovery_keeps_the_failure_limit() {
        let failures = WriteFailures::default();
        failures.failed(&full());
        failures.stored();
        assert_eq!(failures.lock().since_stored, 0);
        assert!(
            !failure_line_due(&failures),
            "a database that fails again right after a stored webhook is not logged again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_follows_failures() {
        let failures = WriteFailures::default();
        assert_eq!(failures.recent(), None);

        failures.failed(&full());
        assert_eq!(failures.recent(), Some(Duration::ZERO));
        tokio::time::advance(NOT_READY_FOR - Duration::from_secs(1)).await;
        assert!(failures.recent().is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(failures.recent(), None, "ready again after the interval");

        failures.failed(&full());
        failures.stored();
        assert_eq!(
            failures.recent(),
            None,
            "ready again once a webhook is stored"
        );
    }
}
