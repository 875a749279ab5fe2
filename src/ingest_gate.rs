//! One large webhook body at a time past its signature check.
//!
//! A signed body is parsed into a JSON tree and then into store items, and
//! both take many times the body's size: a 3 MB batch of 28,000 statuses
//! took about 40 MB while it was stored. The in-flight limit counts only
//! the bodies' bytes, so 16 such batches at once took 670 MB. Large bodies
//! therefore wait for each other here, with their bytes still counted by
//! the in-flight limit. Small ones never wait. On SQLite this costs no
//! throughput, because its writer stores one batch at a time anyway.

use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Bodies of at least this many bytes are parsed one at a time. A webhook
/// with a few messages or statuses takes a few KB.
pub const LARGE_BODY_BYTES: usize = 256 * 1024;

/// The gate that large bodies pass one at a time.
#[derive(Clone)]
pub struct ParseGate {
    large: Arc<Semaphore>,
}

impl Default for ParseGate {
    fn default() -> ParseGate {
        ParseGate {
            large: Arc::new(Semaphore::new(1)),
        }
    }
}

impl ParseGate {
    /// Waits until a body of `bytes` bytes may be parsed, and returns what
    /// keeps the gate for it until dropped: nothing for a small body.
    pub async fn enter(&self, bytes: usize) -> Option<SemaphorePermit<'_>> {
        if bytes < LARGE_BODY_BYTES {
            return None;
        }
        // The semaphore is never closed, so acquiring cannot fail.
        self.large.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_bodies_pass_one_at_a_time() {
        let gate = ParseGate::default();
        let first = gate.enter(LARGE_BODY_BYTES).await;
        assert!(first.is_some());

        let mut second = Box::pin(gate.enter(LARGE_BODY_BYTES));
        assert!(
            futures::poll!(second.as_mut()).is_pending(),
            "a second large body waits"
        );
        assert!(
            gate.enter(LARGE_BODY_BYTES - 1).await.is_none(),
            "a small body passes while a large one holds the gate"
        );

        drop(first);
        assert!(
            second.await.is_some(),
            "the second passes once the first is done"
        );
    }
}
