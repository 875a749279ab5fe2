//! The template schedule: a `template_sync` job for every account at
//! start-up and then at a fixed interval. A sync already queued for an
//! account absorbs a new one (same dedupe key), so schedules of several
//! instances do not pile up.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::JobQueue;
use crate::store::{DynStore, jobs};

/// Enqueues a sync for every account now, then every `interval` until
/// `shutdown` is cancelled; `None` stops after the first round.
pub(super) async fn run_template_schedule(
    store: DynStore,
    queue: JobQueue,
    interval: Option<Duration>,
    shutdown: CancellationToken,
) {
    enqueue_all(&store, &queue).await;
    let Some(interval) = interval else {
        return;
    };
    let start = tokio::time::Instant::now() + interval;
    let mut ticks = tokio::time::interval_at(start, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => enqueue_all(&store, &queue).await,
        }
    }
}

async fn enqueue_all(store: &DynStore, queue: &JobQueue) {
    let accounts = match store.list_accounts().await {
        Ok(accounts) => accounts,
        Err(error) => {
            tracing::warn!(%error, "listing accounts for the template sync failed; next round retries");
            return;
        }
    };
    let now = chrono::Utc::now().timestamp();
    for account in accounts {
        if let Err(error) = queue.enqueue(jobs::template_sync(&account.id, now)).await {
            tracing::warn!(account_id = %account.id, %error, "enqueueing a template sync failed");
        }
    }
}
