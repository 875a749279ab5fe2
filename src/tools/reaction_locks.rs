//! One lock per message reacted to, so that concurrent reactions to the
//! same message reach Meta and the store in the same order. The locks are
//! kept by this process only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::OwnedMutexGuard;

use crate::store::AccountId;

type MessageLock = tokio::sync::Mutex<()>;

/// Locks of the messages whose reactions are being sent.
#[derive(Default)]
pub(super) struct ReactionLocks {
    in_flight: Mutex<HashMap<(AccountId, String), Weak<MessageLock>>>,
}

impl ReactionLocks {
    /// Waits until no other reaction to message `wamid` of `account` is
    /// being sent, and keeps the message locked until the guard is dropped.
    pub(super) async fn lock(&self, account: &AccountId, wamid: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Entries whose last guard and waiter are gone are dropped here,
            // so the map contains only messages with reactions in flight.
            in_flight.retain(|_, lock| lock.strong_count() > 0);
            let key = (account.clone(), wamid.to_owned());
            match in_flight.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(MessageLock::default());
                    in_flight.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn same_message_waits() {
        let locks = ReactionLocks::default();
        let account = AccountId("acc-1".to_owned());
        let first = locks.lock(&account, "wamid.A").await;
        let second = locks.lock(&account, "wamid.A");
        let waited = tokio::time::timeout(Duration::from_millis(50), second).await;
        assert!(waited.is_err(), "the second reaction waits for the first");
        drop(first);
        let _second = locks.lock(&account, "wamid.A").await;
    }

    #[tokio::test]
    async fn other_messages_do_not_wait() {
        let locks = ReactionLocks::default();
        let account = AccountId("acc-1".to_owned());
        let _first = locks.lock(&account, "wamid.A").await;
        let _other = locks.lock(&account, "wamid.B").await;
        let _other_account = locks.lock(&AccountId("acc-2".to_owned()), "wamid.A").await;
    }

    #[tokio::test]
    async fn released_locks_are_forgotten() {
        let locks = ReactionLocks::default();
        let account = AccountId("acc-1".to_owned());
        drop(locks.lock(&account, "wamid.A").await);
        drop(locks.lock(&account, "wamid.B").await);
        let in_flight = locks.in_flight.lock().unwrap().len();
        assert!(in_flight <= 1, "{in_flight} entries kept");
    }
}
