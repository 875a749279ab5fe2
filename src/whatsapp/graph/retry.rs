//! Retries of Graph API calls: exponential backoff with jitter, a bounded
//! number of attempts, and the rule that a send is repeated only when the
//! error proves Meta did not execute it.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::GraphError;

/// Whether repeating a call can cause a second effect at Meta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads and mark-as-read: repeating them is harmless.
    Idempotent,
    /// Sends: a repeat after Meta executed the first call would deliver the
    /// message twice.
    NotIdempotent,
}

/// How often and how long to wait before repeating a failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included; 1 disables retries.
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further retry.
    pub base_delay: Duration,
    /// Upper bound of one pause.
    pub max_delay: Duration,
    /// Pause before the first retry after the pair rate limit (131056);
    /// multiplied by 4 for each further retry.
    pub pair_limit_base_delay: Duration,
    /// Upper bound of one pause after the pair rate limit.
    pub pair_limit_max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts. The pauses are about 0.5 s and 1 s, or 4 s and 16 s
    /// after the pair rate limit, because integrators report that limit at
    /// about one message to a user every 6 s.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            pair_limit_base_delay: Duration::from_secs(4),
            pair_limit_max_delay: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// Builds a policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decides whether `error` may be retried for a call of `idempotency`.
    pub fn should_retry(&self, error: &GraphError, idempotency: Idempotency) -> bool {
        match idempotency {
            Idempotency::Idempotent => error.is_retryable(),
            Idempotency::NotIdempotent => error.proves_not_executed(),
        }
    }

    /// Computes the pause after failed attempt number `attempt` (1 for the first),
    /// between half and all of the exponential value, so that clients
    /// hitting the same limit do not retry in step.
    pub fn delay(&self, attempt: u32, error: &GraphError) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let full = if error.is_pair_rate_limit() {
            scale(self.pair_limit_base_delay, 4u32.saturating_pow(exponent))
                .min(self.pair_limit_max_delay)
        } else {
            scale(self.base_delay, 2u32.saturating_pow(exponent)).min(self.max_delay)
        };
        let half = full / 2;
        let jitter_ms = half.as_millis().min(u64::MAX as u128) as u64;
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }
}

fn scale(delay: Duration, factor: u32) -> Duration {
    delay.checked_mul(factor).unwrap_or(Duration::MAX)
}

/// Runs `call` until it succeeds, fails in a way that must not be retried,
/// or the attempts run out; returns the last error then. When an earlier
/// attempt lost its response and the last error does not show that, the
/// error is wrapped in [`GraphError::AfterLostResponse`].
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    operation: &'static str,
    idempotency: Idempotency,
    mut call: F,
) -> Result<T, GraphError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GraphError>>,
{
    let mut attempt = 1;
    let mut lost_before = false;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let lost = error.may_have_executed();
        match pause_before_retry(policy, operation, idempotency, attempt, error).await {
            Ok(()) => lost_before |= lost,
            Err(last) if lost_before && !last.may_have_executed() => {
                return Err(GraphError::AfterLostResponse(Box::new(last)));
            }
            Err(last) => return Err(last),
        }
        attempt += 1;
    }
}

/// Returns `error` when failed attempt number `attempt` (1 for the first)
/// must not be retried. Otherwise logs the failure, sleeps the policy's
/// delay and returns `Ok`, so the caller makes the next attempt.
pub(crate) async fn pause_before_retry(
    policy: &RetryPolicy,
    operation: &'static str,
    idempotency: Idempotency,
    attempt: u32,
    error: GraphError,
) -> Result<(), GraphError> {
    if attempt >= policy.max_attempts || !policy.should_retry(&error, idempotency) {
        return Err(error);
    }
    let delay = policy.delay(attempt, &error);
    tracing::warn!(
        operation,
        attempt,
        code = error.code(),
        delay_ms = delay.as_millis() as u64,
        error = %error,
        "Graph API call failed; retrying"
    );
    tokio::time::sleep(delay).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout() -> GraphError {
        GraphError::Timeout { operation: "test" }
    }

    #[test]
    fn delay_grows_and_stays_bounded() {
        let policy = RetryPolicy::default();
        for attempt in 1..=20 {
            let delay = policy.delay(attempt, &timeout());
            let full = (policy.base_delay * 2u32.pow((attempt - 1).min(16))).min(policy.max_delay);
            assert!(delay >= full / 2, "{attempt}: {delay:?}");
            assert!(delay <= full, "{attempt}: {delay:?}");
        }
    }

    #[test]
    fn sends_retry_only_when_not_executed() {
        let policy = RetryPolicy::default();
        assert!(!policy.should_retry(&timeout(), Idempotency::NotIdempotent));
        assert!(policy.should_retry(&timeout(), Idempotency::Idempotent));
        let refused = GraphError::Connect {
            operation: "send message",
            reason: "connection refused".into(),
        };
        assert!(policy.should_retry(&refused, Idempotency::NotIdempotent));
    }

    /// Runs an idempotent call whose attempts fail with `errors` in order.
    async fn last_error(errors: Vec<GraphError>) -> GraphError {
        let policy = RetryPolicy {
            max_attempts: u32::try_from(errors.len()).unwrap(),
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        };
        let mut errors = errors.into_iter();
        let result: Result<(), GraphError> =
            with_retries(&policy, "test", Idempotency::Idempotent, || {
                let error = errors.next().expect("an error per attempt");
                async move { Err(error) }
            })
            .await;
        result.expect_err("every attempt failed")
    }

    fn refused_connection() -> GraphError {
        GraphError::Connect {
            operation: "test",
            reason: "connection refused".into(),
        }
    }

    #[tokio::test]
    async fn earlier_lost_response_is_kept() {
        let error = last_error(vec![timeout(), refused_connection()]).await;
        assert!(error.may_have_executed(), "{error}");
        assert!(
            matches!(&error, GraphError::AfterLostResponse(last) if matches!(**last, GraphError::Connect { .. })),
            "{error}"
        );
    }

    #[tokio::test]
    async fn refusals_alone_stay_unwrapped() {
        let error = last_error(vec![refused_connection(), refused_connection()]).await;
        assert!(matches!(error, GraphError::Connect { .. }), "{error}");
    }
}
