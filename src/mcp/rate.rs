//! Per-credential rate limit of tool calls: a token bucket per API key that
//! holds `per_minute` calls and refills one every `60 / per_minute` seconds.
//! The limit is per instance, so several instances each allow the full rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::store::ApiKeyId;

/// Above this many tracked keys, keys whose bucket is full again are dropped.
const PRUNE_AT: usize = 1024;

/// The tool-call limiter shared by every request of one instance.
pub(super) struct ToolRateLimit {
    limiter: DefaultKeyedRateLimiter<ApiKeyId>,
    per_minute: u32,
}

impl ToolRateLimit {
    /// Builds the limiter, or `None` when `per_minute` is 0 (no limit).
    pub(super) fn new(per_minute: u32) -> Option<ToolRateLimit> {
        let burst = NonZeroU32::new(per_minute)?;
        Some(ToolRateLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(burst)),
            per_minute,
        })
    }

    /// Counts one call of `key`. Over the limit, returns how long to wait
    /// until the next call is allowed.
    pub(super) fn check(&self, key: &ApiKeyId) -> Result<(), Duration> {
        if self.limiter.len() > PRUNE_AT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Builds the tool error text for a call refused after `wait`.
    pub(super) fn message(&self, wait: Duration) -> String {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        format!(
            "rate limit exceeded: this credential may make {} tool calls per minute; retry in \
             {} second(s)",
            self.per_minute,
            seconds.max(1)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_counts_per_key() {
        let limit = ToolRateLimit::new(2).unwrap();
        let first = ApiKeyId("a".into());
        let second = ApiKeyId("b".into());
        assert!(limit.check(&first).is_ok());
        assert!(limit.check(&first).is_ok());
        let wait = limit.check(&first).unwrap_err();
        assert!(wait <= Duration::from_secs(30), "{wait:?}");
        assert!(
            limit.check(&second).is_ok(),
            "another key has its own bucket"
        );
        let text = limit.message(wait);
        assert!(text.contains("2 tool calls per minute"), "{text}");
        assert!(text.contains("retry in"), "{text}");
    }

    #[test]
    fn zero_disables_the_limit() {
        assert!(ToolRateLimit::new(0).is_none());
    }
}
