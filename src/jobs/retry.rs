//! The pause before a failed job runs again: exponential, capped, and
//! jittered so that jobs failing together do not retry together.

use std::time::Duration;

use rand::Rng;

/// Computes the pause after failed attempt number `attempt` (1 for the
/// first): `base * 2^(attempt-1)` capped at `max`, then a random value
/// between half of that and all of it.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = base
        .checked_mul(1u32 << exponent)
        .unwrap_or(Duration::MAX)
        .min(max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_bounds() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        for attempt in 1..=30 {
            let full = (base * 2u32.pow((attempt - 1).min(20))).min(max);
            let delay = backoff_delay(attempt, base, max);
            assert!(delay >= full / 2, "attempt {attempt}: {delay:?}");
            assert!(delay <= full, "attempt {attempt}: {delay:?}");
        }
    }

    #[test]
    fn backoff_zero_base_is_zero() {
        let delay = backoff_delay(3, Duration::ZERO, Duration::from_secs(1));
        assert_eq!(delay, Duration::ZERO);
    }
}
