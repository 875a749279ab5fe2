//! Renewal of a running job's lease. A job may run longer than its lease,
//! such as a large media download on a slow link, so its worker extends
//! the lease while the job runs. Another worker claims the job only after
//! this worker stopped renewing, because it crashed or lost the database
//! for longer than a lease.

use std::time::Duration;

use crate::store::{DynStore, Job};

/// Extends the lease of `job` every third of `lease` while the claim that
/// counted `job.attempts` owns the job, and returns once another claim
/// took it or it was finished. A failed extension is logged and tried
/// again at the next renewal, because the lease outlasts two renewals.
pub(super) async fn renew_while_claimed(store: &DynStore, job: &Job, lease: Duration) {
    let interval = (lease / 3).max(Duration::from_secs(1));
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(interval).await;
        let now = chrono::Utc::now().timestamp();
        match store
            .extend_job_lease(&job.id, job.attempts, now, lease_seconds)
            .await
        {
            Ok(true) => tracing::debug!(job_id = %job.id, kind = %job.kind, "job lease extended"),
            Ok(false) => return,
            Err(error) => tracing::warn!(job_id = %job.id, kind = %job.kind, %error,
                "extending the job's lease failed; trying again at the next renewal"),
        }
    }
}

/// Tells whether this worker still holds `job`'s claim, and extends the
/// lease by `lease` so that it keeps the claim while it records the
/// outcome. A worker that stalled past its lease (a paused process, say)
/// may find that another claim took the job, and then records nothing. A
/// store error counts as still held, so the outcome is recorded.
pub(super) async fn still_claimed(store: &DynStore, job: &Job, lease: Duration) -> bool {
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    let now = chrono::Utc::now().timestamp();
    match store
        .extend_job_lease(&job.id, job.attempts, now, lease_seconds)
        .await
    {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(job_id = %job.id, kind = %job.kind, %error,
                "checking the job's claim failed; recording its outcome anyway");
            true
        }
    }
}
