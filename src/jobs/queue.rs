//! The in-process side of the job table: enqueueing wakes idle workers at
//! once instead of at their next poll.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::store::{DynStore, NewJob, StoreResult};

/// Enqueues jobs and wakes the workers of this process. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    store: DynStore,
    notify: Arc<Notify>,
}

impl JobQueue {
    pub fn new(store: DynStore) -> JobQueue {
        JobQueue {
            store,
            notify: Arc::new(Notify::new()),
        }
    }

    /// Stores the job, then wakes the workers.
    pub async fn enqueue(&self, job: NewJob) -> StoreResult<()> {
        self.store.enqueue_job(job).await?;
        self.wake();
        Ok(())
    }

    /// Wakes the idle workers, for jobs the store enqueued by itself (as
    /// ingest does inside its transaction).
    pub fn wake(&self) {
        self.notify.notify_waiters();
    }

    pub(super) fn notify(&self) -> &Notify {
        &self.notify
    }
}
