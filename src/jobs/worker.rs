//! The worker pool: each worker claims one due job at a time, runs it
//! while renewing its lease, stops it after the maximum run time, and
//! records the outcome. The supervisor restarts a worker that died and
//! stops them all on shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{JobError, JobOutcome, JobQueue, JobReport, backoff_delay, lease};
use crate::config::JobSettings;
use crate::log_throttle::LogThrottle;
use crate::store::{AttemptUse, DynStore, Job, StoreError};

/// Runs the jobs of one kind.
#[async_trait]
pub(super) trait Handler: Send + Sync + 'static {
    /// Returns the job kind, as stored in the `kind` column.
    fn kind(&self) -> &'static str;

    /// Runs one attempt.
    async fn run(&self, job: &Job) -> Result<(), JobError>;

    /// Records the consequences of a job failing for good, before the job
    /// row is marked failed.
    async fn give_up(&self, job: &Job, reason: &str) -> Result<(), StoreError>;
}

/// The workers of one server.
pub(super) struct Pool {
    pub store: DynStore,
    pub queue: JobQueue,
    pub handlers: Arc<HashMap<&'static str, Arc<dyn Handler>>>,
    pub settings: JobSettings,
    pub events: broadcast::Sender<JobReport>,
    /// Failed claims of all workers. While the database is down every
    /// worker fails at each poll, so the warning comes once a minute.
    pub claim_failures: Mutex<LogThrottle>,
}

/// How often failed claims are logged while they go on.
const CLAIM_FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The end of one attempt at a job.
enum Attempt {
    /// The handler returned, failed, or was stopped by the maximum run time
    /// or the shutdown.
    Ended(Result<(), JobError>),
    /// Another claim took the job, so this worker must not record an
    /// outcome.
    ClaimLost,
}

impl Pool {
    pub fn new(
        store: DynStore,
        queue: JobQueue,
        handlers: HashMap<&'static str, Arc<dyn Handler>>,
        settings: JobSettings,
        events: broadcast::Sender<JobReport>,
    ) -> Pool {
        Pool {
            store,
            queue,
            handlers: Arc::new(handlers),
            settings,
            events,
            claim_failures: Mutex::new(LogThrottle::new(CLAIM_FAILURE_LOG_INTERVAL)),
        }
    }

    /// Runs the workers until `shutdown` is cancelled, restarting any that
    /// panics.
    pub async fn supervise(self, shutdown: CancellationToken) {
        let count = self.settings.workers;
        if count == 0 {
            tracing::info!("no job workers configured; jobs stay queued for other instances");
            return;
        }
        let pool = Arc::new(self);
        let mut workers = JoinSet::new();
        for number in 0..count {
            workers.spawn(pool.clone().work(number, shutdown.clone()));
        }
        tracing::info!(workers = count, "job workers started");
        while let Some(ended) = workers.join_next().await {
            match ended {
                Ok(number) if !shutdown.is_cancelled() => {
                    tracing::error!(
                        worker = number,
                        "job worker stopped unexpectedly; restarting it"
                    );
                    workers.spawn(pool.clone().work(number, shutdown.clone()));
                }
                Ok(_) => {}
                Err(error) if error.is_panic() && !shutdown.is_cancelled() => {
                    tracing::error!(%error, "job worker panicked; starting a new one");
                    workers.spawn(pool.clone().work(count, shutdown.clone()));
                }
                Err(error) => tracing::error!(%error, "job worker ended abnormally"),
            }
        }
        tracing::info!("job workers stopped");
    }

    /// Claims and runs jobs until `shutdown` is cancelled; returns `number`.
    async fn work(self: Arc<Self>, number: usize, shutdown: CancellationToken) -> usize {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let lease_seconds = i64::try_from(self.settings.lease.as_secs()).unwrap_or(i64::MAX);
        while !shutdown.is_cancelled() {
            // Registered before the claim, so a wake-up between an empty
            // claim and the wait is not lost.
            let woken = self.queue.notify().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            let now = chrono::Utc::now().timestamp();
            match self.store.claim_jobs(&kinds, now, lease_seconds, 1).await {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        self.execute(job, &shutdown).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    let due = self
                        .claim_failures
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .due(Instant::now());
                    match due {
                        Some(similar_before) => tracing::warn!(
                            worker = number,
                            %error,
                            similar_before,
                            "claiming jobs failed; further failures are logged once a minute"
                        ),
                        None => tracing::debug!(worker = number, %error, "claiming jobs failed"),
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = woken => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        number
    }

    /// Runs one claimed job and records its outcome.
    async fn execute(&self, job: Job, shutdown: &CancellationToken) {
        let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() else {
            // claim_jobs only returns the kinds asked for, so this is a bug.
            let error = format!("no handler for job kind {:?}", job.kind);
            self.finish(&job, Err(JobError::Permanent(error)), None)
                .await;
            return;
        };
        match self.attempt(handler.clone(), &job, shutdown).await {
            Attempt::Ended(result)
                if lease::still_claimed(&self.store, &job, self.settings.lease).await =>
            {
                self.finish(&job, result, Some(handler.as_ref())).await;
            }
            Attempt::Ended(_) | Attempt::ClaimLost => {
                tracing::warn!(job_id = %job.id, kind = %job.kind, account_id = account_of(&job),
                    attempt = job.attempts,
                    "job stopped: its lease ran out and another claim took it");
            }
        }
    }

    /// Runs the handler in its own task, so that a panic fails only this
    /// job, and renews the job's lease meanwhile. The task is stopped after
    /// the maximum run time, after the grace period once the server shuts
    /// down, and at once when another claim took the job.
    async fn attempt(
        &self,
        handler: Arc<dyn Handler>,
        job: &Job,
        shutdown: &CancellationToken,
    ) -> Attempt {
        let owned = job.clone();
        let task = tokio::spawn(async move { handler.run(&owned).await });
        let abort = task.abort_handle();
        tokio::select! {
            result = self.await_task(task, shutdown) => Attempt::Ended(result),
            () = lease::renew_while_claimed(&self.store, job, self.settings.lease) => {
                abort.abort();
                Attempt::ClaimLost
            }
        }
    }

    async fn await_task(
        &self,
        mut task: JoinHandle<Result<(), JobError>>,
        shutdown: &CancellationToken,
    ) -> Result<(), JobError> {
        let max_run_time = self.settings.max_run_time;
        let joined = tokio::select! {
            joined = tokio::time::timeout(max_run_time, &mut task) => joined,
            _ = shutdown.cancelled() => {
                tokio::time::timeout(self.settings.shutdown_grace, &mut task).await
            }
        };
        match joined {
            Ok(Ok(result)) => result,
            Ok(Err(error)) if error.is_panic() => {
                Err(JobError::transient("the job panicked; see the log"))
            }
            Ok(Err(error)) => Err(JobError::transient(format!("the job task failed: {error}"))),
            Err(_) => {
                task.abort();
                let reason = if shutdown.is_cancelled() {
                    "interrupted by server shutdown".to_owned()
                } else {
                    format!("timed out after {} seconds", max_run_time.as_secs())
                };
                Err(JobError::Transient(reason))
            }
        }
    }

    /// Completes, retries or fails the job row, logs, and publishes a report.
    async fn finish(&self, job: &Job, result: Result<(), JobError>, handler: Option<&dyn Handler>) {
        let now = chrono::Utc::now().timestamp();
        let outcome = match result {
            Ok(()) => {
                let recorded = self.store.complete_job(&job.id, now).await;
                self.log_store_error(job, "completing", recorded);
                tracing::info!(job_id = %job.id, kind = %job.kind, account_id = account_of(job),
                    attempt = job.attempts, "job completed");
                JobOutcome::Completed
            }
            Err(JobError::Transient(error)) if job.attempts < job.max_attempts => {
                let delay = backoff_delay(
                    job.attempts,
                    self.settings.retry_base_delay,
                    self.settings.retry_max_delay,
                );
                let run_at = now.saturating_add(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX));
                let recorded = self
                    .store
                    .retry_job(&job.id, &error, run_at, AttemptUse::Spent)
                    .await;
                self.log_store_error(job, "rescheduling", recorded);
                tracing::warn!(job_id = %job.id, kind = %job.kind, account_id = account_of(job),
                    attempt = job.attempts, max_attempts = job.max_attempts,
                    retry_in_seconds = delay.as_secs(), %error, "job failed; will retry");
                JobOutcome::Retrying { run_at, error }
            }
            Err(JobError::Transient(error)) => {
                let error = format!("gave up after {} attempts: {error}", job.attempts);
                self.fail(job, error, handler, now).await
            }
            Err(JobError::Permanent(error)) => self.fail(job, error, handler, now).await,
            Err(JobError::Waiting { until, reason }) => {
                let recorded = self
                    .store
                    .retry_job(&job.id, &reason, until, AttemptUse::Returned)
                    .await;
                self.log_store_error(job, "rescheduling", recorded);
                tracing::info!(job_id = %job.id, kind = %job.kind, account_id = account_of(job),
                    run_at = until, %reason, "job waits; this attempt does not count");
                JobOutcome::Retrying {
                    run_at: until,
                    error: reason,
                }
            }
        };
        let _ = self.events.send(JobReport {
            job_id: job.id.clone(),
            kind: job.kind.clone(),
            account_id: job.account_id.clone(),
            attempt: job.attempts,
            outcome,
        });
    }

    async fn fail(
        &self,
        job: &Job,
        error: String,
        handler: Option<&dyn Handler>,
        now: i64,
    ) -> JobOutcome {
        if let Some(handler) = handler {
            let recorded = handler.give_up(job, &error).await;
            self.log_store_error(job, "recording the failure of", recorded);
        }
        let recorded = self.store.fail_job(&job.id, &error, now).await;
        self.log_store_error(job, "failing", recorded);
        tracing::error!(job_id = %job.id, kind = %job.kind, account_id = account_of(job),
            attempt = job.attempts, %error, "job failed for good");
        JobOutcome::Failed { error }
    }

    /// Logs a failed bookkeeping write. The job then stays `running` until
    /// its lease runs out, and is claimed again.
    fn log_store_error(&self, job: &Job, action: &str, result: Result<(), StoreError>) {
        if let Err(error) = result {
            tracing::error!(job_id = %job.id, kind = %job.kind, account_id = account_of(job),
                %error, "{action} the job failed; it runs again when its lease ends");
        }
    }
}

/// Returns the job's account id for log lines, or `None` for a job of no
/// account.
fn account_of(job: &Job) -> Option<&str> {
    job.account_id.as_ref().map(|id| id.as_str())
}

#[cfg(test)]
mod tests;
