//! Lease renewal and the maximum run time of the worker, on a SQLite store.
//! Most tests run under tokio's paused clock, which skips ahead to the next
//! timer whenever every task waits, so minutes of job time take no
//! wall-clock time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Handler, Pool};
use crate::config::JobSettings;
use crate::jobs::{JobError, JobOutcome, JobQueue, JobReport};
use crate::store::sqlite::SqliteStore;
use crate::store::{DynStore, Job, NewJob, StoreError};

const KIND: &str = "test_job";
const LEASE: Duration = Duration::from_secs(60);

/// What the test handler does once it runs.
enum Work {
    Sleep(Duration),
    Hang,
    /// Finishes once the test notifies it.
    Gate(Arc<Notify>),
}

/// A handler that reports each start with a receiver that fails once the
/// run is dropped, which shows that a stopped job was cancelled.
struct TestHandler {
    work: Work,
    starts: mpsc::UnboundedSender<oneshot::Receiver<()>>,
}

#[async_trait]
impl Handler for TestHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let (_running, stopped) = oneshot::channel::<()>();
        let _ = self.starts.send(stopped);
        match self.work {
            Work::Sleep(duration) => tokio::time::sleep(duration).await,
            Work::Hang => std::future::pending::<()>().await,
            Work::Gate(ref gate) => gate.notified().await,
        }
        Ok(())
    }

    async fn give_up(&self, _job: &Job, _reason: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: DynStore,
    pool: Pool,
    reports: broadcast::Receiver<JobReport>,
    starts: mpsc::UnboundedReceiver<oneshot::Receiver<()>>,
}

fn setup(work: Work, lease: Duration, max_run_time: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = Arc::new(SqliteStore::open(&dir.path().join("pons.db")).unwrap());
    let (sender, starts) = mpsc::unbounded_channel();
    let handler: Arc<dyn Handler> = Arc::new(TestHandler {
        work,
        starts: sender,
    });
    let (events, reports) = broadcast::channel(16);
    let settings = JobSettings {
        lease,
        max_run_time,
        ..JobSettings::default()
    };
    let pool = Pool::new(
        store.clone(),
        JobQueue::new(store.clone()),
        HashMap::from([(KIND, handler)]),
        settings,
        events,
    );
    Setup {
        _dir: dir,
        store,
        pool,
        reports,
        starts,
    }
}

/// Enqueues a job and claims it for `lease`, as a worker does.
async fn claimed_job(store: &DynStore, lease: Duration) -> Job {
    let job = NewJob {
        kind: KIND.to_owned(),
        account_id: None,
        payload_json: "{}".to_owned(),
        run_at: 0,
        max_attempts: 3,
        dedupe_key: None,
    };
    store.enqueue_job(job).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let lease_seconds = lease.as_secs() as i64;
    let mut claimed = store.claim_jobs(&[KIND], now, lease_seconds, 1).await;
    claimed.as_mut().unwrap().pop().expect("a claimed job")
}

#[tokio::test(start_paused = true)]
async fn job_runs_past_its_lease() {
    let mut setup = setup(Work::Sleep(LEASE * 3), LEASE, Duration::from_secs(3600));
    let job = claimed_job(&setup.store, LEASE).await;

    setup.pool.execute(job, &CancellationToken::new()).await;

    let report = setup.reports.try_recv().expect("a report");
    assert_eq!(report.outcome, JobOutcome::Completed);
    assert_eq!(report.attempt, 1);
}

#[tokio::test(start_paused = true)]
async fn stuck_job_stopped_at_max_run_time() {
    let mut setup = setup(Work::Hang, LEASE, LEASE * 2);
    let job = claimed_job(&setup.store, LEASE).await;

    setup.pool.execute(job, &CancellationToken::new()).await;

    let report = setup.reports.try_recv().expect("a report");
    let JobOutcome::Retrying { error, .. } = report.outcome else {
        panic!("expected a retry, got {:?}", report.outcome);
    };
    assert_eq!(error, "timed out after 120 seconds");
    let stopped = setup.starts.recv().await.expect("the job started");
    assert!(stopped.await.is_err(), "the handler was cancelled");
}

/// Runs on the real clock: under the paused clock, the wait for a store
/// call would let the clock skip to the maximum run time. The lease of
/// 3 s is renewed every second, and the test waits for one renewal after
/// the claim was taken.
#[tokio::test]
async fn lost_claim_stops_job() {
    let lease = Duration::from_secs(3);
    let Setup {
        _dir,
        store,
        pool,
        mut reports,
        mut starts,
    } = setup(Work::Hang, lease, Duration::from_secs(3600));
    let job = claimed_job(&store, lease).await;
    let id = job.id.clone();
    let worker = tokio::spawn(async move {
        pool.execute(job, &CancellationToken::new()).await;
        pool
    });
    let stopped = starts.recv().await.expect("the job started");

    // Another worker claims the job, as it may once the lease ran out while
    // the database was unreachable. The next renewal finds the claim gone.
    let later = chrono::Utc::now().timestamp() + 3600;
    let second_claim = store.claim_jobs(&[KIND], later, 60, 1).await;
    assert_eq!(second_claim.unwrap()[0].attempts, 2);
    // Bounds a broken renewal, which would leave the job running for the
    // maximum run time of an hour.
    let ended = tokio::time::timeout(Duration::from_secs(30), worker).await;
    let _pool = ended.expect("the worker stopped the job").unwrap();

    assert!(stopped.await.is_err(), "the handler was cancelled");
    let report = reports.try_recv();
    assert!(
        matches!(report, Err(TryRecvError::Empty)),
        "the first worker recorded no outcome: {report:?}"
    );
    let extended = store.extend_job_lease(&id, 2, later, 60).await;
    assert!(extended.unwrap(), "the second claim still owns the job");
}

/// Runs on the real clock, like `lost_claim_stops_job`. The job finishes
/// after another claim took it but before a renewal noticed, as when the
/// worker's process was paused past its lease.
#[tokio::test]
async fn job_finished_after_lost_claim_records_nothing() {
    let gate = Arc::new(Notify::new());
    let Setup {
        _dir,
        store,
        pool,
        mut reports,
        mut starts,
    } = setup(Work::Gate(gate.clone()), LEASE, Duration::from_secs(3600));
    let job = claimed_job(&store, LEASE).await;
    let id = job.id.clone();
    let worker = tokio::spawn(async move {
        pool.execute(job, &CancellationToken::new()).await;
        pool
    });
    let _running = starts.recv().await.expect("the job started");

    let later = chrono::Utc::now().timestamp() + 3600;
    let second_claim = store.claim_jobs(&[KIND], later, 60, 1).await;
    assert_eq!(second_claim.unwrap()[0].attempts, 2);
    gate.notify_one();
    let ended = tokio::time::timeout(Duration::from_secs(30), worker).await;
    let _pool = ended.expect("the worker finished").unwrap();

    let report = reports.try_recv();
    assert!(
        matches!(report, Err(TryRecvError::Empty)),
        "the first worker recorded no outcome: {report:?}"
    );
    let extended = store.extend_job_lease(&id, 2, later, 60).await;
    assert!(
        extended.unwrap(),
        "the job still runs under the second claim"
    );
}
