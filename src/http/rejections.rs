//! Warnings about rejected webhooks, and about stored ones with problems:
//! one line per kind and minute, with the count of lines of that kind left
//! out since the last.
//!
//! Anyone who can reach `/api/webhook` can send requests that are
//! rejected, so a line per request would let them fill the disk, and a
//! sender that repeats a malformed message would do the same. The
//! first line of each kind is logged at once, and the lines left out are
//! logged at DEBUG.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::log_throttle::LogThrottle;
use crate::whatsapp::signature::SignatureError;

/// How often a line of each kind is logged while rejections go on.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Kind of a rejected webhook request. Each kind has its own limit, so a
/// flood of one kind does not hide the first line of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rejection {
    UnknownVerifyToken,
    SignatureMissing,
    SignatureMalformed,
    SignatureMismatch,
    InvalidJson,
    UnknownAccount,
    NoAccounts,
    BodyTooLarge,
    InFlightLimit,
    BodyTimedOut,
    BodyTooSlow,
    BodyUnreadable,
    /// A signed webhook was stored, but its changes for unknown phone
    /// number ids were skipped.
    UnknownNumbersSkipped,
    /// A signed webhook was stored with problems noted in its log entry.
    StoredWithProblems,
}

impl From<&SignatureError> for Rejection {
    fn from(error: &SignatureError) -> Rejection {
        match error {
            SignatureError::Missing => Rejection::SignatureMissing,
            SignatureError::Malformed => Rejection::SignatureMalformed,
            SignatureError::Mismatch => Rejection::SignatureMismatch,
        }
    }
}

/// Limits of the rejection lines of one server, shared by every request.
#[derive(Clone)]
pub struct Rejections {
    interval: Duration,
    lines: Arc<Mutex<HashMap<Rejection, LogThrottle>>>,
}

impl Default for Rejections {
    fn default() -> Rejections {
        Rejections::new(LOG_INTERVAL)
    }
}

impl Rejections {
    /// Creates limits of one line per `interval` for each kind. Servers use
    /// [`LOG_INTERVAL`], and tests pass a shorter one.
    pub fn new(interval: Duration) -> Rejections {
        Rejections {
            interval,
            lines: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Returns, when a line of `kind` is due, how many lines of that kind
    /// were left out since the last one, and counts this one as left out
    /// otherwise.
    pub fn due(&self, kind: Rejection) -> Option<u64> {
        let now = Instant::now().into_std();
        // The counts stay consistent whatever a panicking holder did.
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines
            .entry(kind)
            .or_insert_with(|| LogThrottle::new(self.interval))
            .due(now)
    }
}

/// Logs a rejection line: at WARN with the field `similar_before` (the
/// lines of the same kind left out since the last one) when the line of
/// that kind is due, and at DEBUG otherwise. The arguments after the kind
/// are those of `tracing::warn!`.
macro_rules! log_rejection {
    ($rejections:expr, $kind:expr, $($fields:tt)+) => {
        match $rejections.due($kind) {
            Some(similar_before) => tracing::warn!(similar_before, $($fields)+),
            None => tracing::debug!($($fields)+),
        }
    };
}

pub(super) use log_rejection;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_kind_has_its_own_limit() {
        let rejections = Rejections::default();
        assert_eq!(rejections.due(Rejection::SignatureMissing), Some(0));
        assert_eq!(rejections.due(Rejection::SignatureMissing), None);
        assert_eq!(rejections.due(Rejection::SignatureMissing), None);
        assert_eq!(
            rejections.due(Rejection::SignatureMismatch),
            Some(0),
            "the first line of another kind is logged at once"
        );

        tokio::time::advance(LOG_INTERVAL).await;
        assert_eq!(rejections.due(Rejection::SignatureMissing), Some(2));
        assert_eq!(rejections.due(Rejection::SignatureMismatch), Some(0));
    }

    #[test]
    fn signature_errors_map_to_their_own_kinds() {
        assert_eq!(
            Rejection::from(&SignatureError::Missing),
            Rejection::SignatureMissing
        );
        assert_eq!(
            Rejection::from(&SignatureError::Malformed),
            Rejection::SignatureMalformed
        );
        assert_eq!(
            Rejection::from(&SignatureError::Mismatch),
            Rejection::SignatureMismatch
        );
    }
}
