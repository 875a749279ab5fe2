//! Limits a log line that repeats to one per interval, with a count of the
//! lines left out since the last one.

use std::time::{Duration, Instant};

/// A limit of one log line per interval for a line that repeats.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    last_logged: Option<Instant>,
    left_out: u64,
}

impl LogThrottle {
    pub const fn new(interval: Duration) -> LogThrottle {
        LogThrottle {
            interval,
            last_logged: None,
            left_out: 0,
        }
    }

    /// Returns, when the line is due at `now`, how many were left out
    /// since the last one, and counts it as left out otherwise.
    pub fn due(&mut self, now: Instant) -> Option<u64> {
        if !self.is_due(now) {
            self.left_out += 1;
            return None;
        }
        self.last_logged = Some(now);
        Some(std::mem::take(&mut self.left_out))
    }

    /// Returns whether the line would be logged at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.last_logged
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_until_due() {
        let minute = Duration::from_secs(60);
        let mut throttle = LogThrottle::new(minute);
        let start = Instant::now();

        assert_eq!(throttle.due(start), Some(0));
        assert_eq!(throttle.due(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.due(start + Duration::from_secs(59)), None);
        assert_eq!(throttle.due(start + minute), Some(2));
        assert_eq!(throttle.due(start + minute), None);
        assert_eq!(throttle.due(start + 3 * minute), Some(1));
    }
}
