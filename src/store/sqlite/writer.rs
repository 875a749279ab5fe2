//! The single writer connection and its group-commit loop.
//!
//! One OS thread owns the only read-write connection. Callers send it jobs
//! over a bounded channel. The thread takes every job already queued (up to
//! `MAX_GROUP`), opens one `BEGIN IMMEDIATE` transaction, runs each job in
//! its own savepoint, runs the store's commit hook (which indexes new
//! messages for search) and commits once. A job that fails is rolled
//! back to its savepoint and gets its own error while the others proceed.
//! Replies are sent only after COMMIT, so a caller never sees an
//! uncommitted write. If the hook fails or the transaction cannot be
//! committed, every job in the group gets that error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::log_throttle::LogThrottle;
use crate::store::{StoreError, StoreResult};

/// Maximum number of jobs committed together in one transaction.
const MAX_GROUP: usize = 256;
/// Jobs that may wait in the queue before senders are held back.
const QUEUE_CAPACITY: usize = 4096;
/// How often a failed write transaction is logged while failures go on.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Work for the writer thread, type-erased over its result type.
trait WriteJob: Send {
    /// Runs the work inside `savepoint`. Returns false when it failed and
    /// its savepoint must be rolled back.
    fn run(&mut self, savepoint: &Savepoint<'_>) -> bool;
    /// Sends the job's result to its caller, or the group's error when the
    /// transaction did not commit.
    fn finish(self: Box<Self>, group_error: Option<&str>);
}

struct Job<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Savepoint<'_>) -> StoreResult<T> + Send,
{
    fn run(&mut self, savepoint: &Savepoint<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A panicking job must not take the writer thread down with it.
        let result = catch_unwind(AssertUnwindSafe(|| work(savepoint)))
            .unwrap_or_else(|_| Err(StoreError::Backend("write job panicked".to_owned())));
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn finish(self: Box<Self>, group_error: Option<&str>) {
        let result = match (self.result, group_error) {
            // A job's own error explains more than the group's.
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(_)) | None, Some(message)) => Err(StoreError::Backend(format!(
                "transaction not committed: {message}"
            ))),
            (Some(Ok(value)), None) => Ok(value),
            (None, None) => Err(StoreError::Backend("write job did not run".to_owned())),
        };
        // The caller may have stopped waiting, and the write is kept anyway.
        let _ = self.reply.send(result);
    }
}

/// Work the writer runs around every group transaction.
pub(super) trait CommitHook: Send + 'static {
    /// Runs after the group's jobs and before COMMIT. An error rolls the
    /// whole group back.
    fn before_commit(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    /// Runs once the group is committed, before any job gets its reply.
    fn after_commit(&mut self);
}

/// Handle to the writer thread. Dropping every handle stops the thread
/// once the queued jobs are done.
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn WriteJob>>,
}

impl Writer {
    /// Starts the writer thread, which takes ownership of `conn` and runs
    /// `hook` around every group transaction.
    pub(super) fn start(conn: Connection, hook: impl CommitHook) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run_loop(conn, hook, jobs))?;
        Ok(Writer { queue })
    }

    /// Runs `work` in its own savepoint of the next group transaction and
    /// returns its result once that transaction has committed.
    pub(super) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Savepoint<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (job, answer) = new_job(work);
        if self.queue.send(job).await.is_err() {
            return Err(writer_stopped());
        }
        answer.await.unwrap_or_else(|_| Err(writer_stopped()))
    }

    /// Runs `work` like [`Writer::write`], from a thread outside the async
    /// runtime, blocking it until the transaction has committed.
    pub(super) fn blocking_write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Savepoint<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (job, answer) = new_job(work);
        if self.queue.blocking_send(job).is_err() {
            return Err(writer_stopped());
        }
        answer
            .blocking_recv()
            .unwrap_or_else(|_| Err(writer_stopped()))
    }

    /// Returns a handle that does not keep the writer thread running.
    pub(super) fn downgrade(&self) -> WeakWriter {
        WeakWriter(self.queue.downgrade())
    }
}

/// A handle to the writer thread that lets it stop once every [`Writer`]
/// is dropped.
pub(super) struct WeakWriter(mpsc::WeakSender<Box<dyn WriteJob>>);

impl WeakWriter {
    /// Returns a writer handle, or `None` once the writer has stopped.
    pub(super) fn upgrade(&self) -> Option<Writer> {
        self.0.upgrade().map(|queue| Writer { queue })
    }
}

/// Wraps `work` as a job and returns the receiver of its result.
fn new_job<T, F>(work: F) -> (Box<dyn WriteJob>, oneshot::Receiver<StoreResult<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Savepoint<'_>) -> StoreResult<T> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job = Job {
        work: Some(work),
        result: None,
        reply,
    };
    (Box::new(job), answer)
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("SQLite writer thread has stopped".to_owned())
}

fn run_loop(
    mut conn: Connection,
    mut hook: impl CommitHook,
    mut jobs: mpsc::Receiver<Box<dyn WriteJob>>,
) {
    let mut group: Vec<Box<dyn WriteJob>> = Vec::with_capacity(MAX_GROUP);
    // Every job's caller reports the error too. A full disk fails every
    // group in the same way, so the writer's own line comes once a minute.
    let mut failures = LogThrottle::new(FAILURE_LOG_INTERVAL);
    while let Some(first) = jobs.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        commit_group(&mut conn, &mut hook, &mut group, &mut failures);
    }
}

/// Runs and commits the group, then replies to (and removes) every job.
fn commit_group(
    conn: &mut Connection,
    hook: &mut impl CommitHook,
    group: &mut Vec<Box<dyn WriteJob>>,
    failures: &mut LogThrottle,
) {
    let group_error = match run_group(conn, hook, group) {
        Ok(()) => {
            hook.after_commit();
            None
        }
        Err(error) => {
            match failures.due(Instant::now()) {
                Some(similar_before) => tracing::error!(
                    %error,
                    jobs = group.len(),
                    similar_before,
                    "SQLite write transaction failed; further failures are logged once a minute"
                ),
                None => {
                    tracing::debug!(%error, jobs = group.len(), "SQLite write transaction failed")
                }
            }
            Some(error.to_string())
        }
    };
    for job in group.drain(..) {
        job.finish(group_error.as_deref());
    }
}

/// Runs every job of the group in one transaction and commits it.
fn run_group(
    conn: &mut Connection,
    hook: &mut impl CommitHook,
    group: &mut [Box<dyn WriteJob>],
) -> rusqlite::Result<()> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for job in group.iter_mut() {
        run_in_savepoint(&mut tx, job.as_mut())?;
    }
    hook.before_commit(&tx)?;
    // On failure, dropping the transaction rolls it back.
    tx.commit()
}

fn run_in_savepoint(tx: &mut Transaction<'_>, job: &mut dyn WriteJob) -> rusqlite::Result<()> {
    let savepoint = tx.savepoint()?;
    if job.run(&savepoint) {
        savepoint.commit()?;
    } else {
        // The default drop behavior rolls back to the savepoint and releases it.
        savepoint.finish()?;
    }
    // Some errors (SQLITE_FULL, SQLITE_IOERR, …) make SQLite roll back the
    // whole transaction. Later jobs would then run in autocommit mode and
    // be committed on their own, so the group stops here instead.
    if tx.is_autocommit() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some("SQLite rolled back the group transaction".to_owned()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use tokio::sync::oneshot;

    use super::{CommitHook, FAILURE_LOG_INTERVAL, WriteJob, commit_group, new_job};
    use crate::log_throttle::LogThrottle;
    use crate::store::{StoreError, StoreResult};

    fn throttle() -> LogThrottle {
        LogThrottle::new(FAILURE_LOG_INTERVAL)
    }

    /// Opens a connection with a table of integers and a table whose foreign key
    /// is checked only at COMMIT.
    fn test_connection() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("writer.db")).expect("open");
        let counts = std::sync::Arc::new(super::super::token_counts::TokenCounts::new());
        super::super::configure_connection(&conn, &counts).expect("configure");
        conn.execute_batch(
            "CREATE TABLE numbers (n INTEGER PRIMARY KEY);
             CREATE TABLE parents (id INTEGER PRIMARY KEY);
             CREATE TABLE children (parent INTEGER REFERENCES parents (id)
                 DEFERRABLE INITIALLY DEFERRED);",
        )
        .expect("schema");
        (dir, conn)
    }

    fn insert_number(n: i64) -> impl FnOnce(&rusqlite::Savepoint<'_>) -> StoreResult<()> + Send {
        move |sp| {
            sp.execute("INSERT INTO numbers (n) VALUES (?1)", [n])?;
            Ok(())
        }
    }

    /// Counts the groups the writer reported as committed.
    #[derive(Default)]
    struct CountCommits(u32);

    impl CommitHook for CountCommits {
        fn before_commit(&mut self, _: &Connection) -> rusqlite::Result<()> {
            Ok(())
        }

        fn after_commit(&mut self) {
            self.0 += 1;
        }
    }

    fn numbers(conn: &Connection) -> Vec<i64> {
        let mut statement = conn
            .prepare("SELECT n FROM numbers ORDER BY n")
            .expect("prepare");
        statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn result<T>(mut answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        answer.try_recv().expect("job must have replied")
    }

    #[test]
    fn failing_job_rolls_back_alone() {
        let (_dir, mut conn) = test_connection();
        let (first, first_answer) = new_job(insert_number(1));
        let (failing, failing_answer) =
            new_job(|sp: &rusqlite::Savepoint<'_>| -> StoreResult<()> {
                sp.execute("INSERT INTO numbers (n) VALUES (2)", [])?;
                Err(StoreError::Invalid("rejected by the job".to_owned()))
            });
        let (last, last_answer) = new_job(insert_number(3));
        let mut group: Vec<Box<dyn WriteJob>> = vec![first, failing, last];
        let mut hook = CountCommits::default();
        commit_group(&mut conn, &mut hook, &mut group, &mut throttle());

        assert_eq!(hook.0, 1, "a failed job does not stop the group's commit");
        assert!(result(first_answer).is_ok());
        assert!(matches!(
            result(failing_answer),
            Err(StoreError::Invalid(_))
        ));
        assert!(result(last_answer).is_ok());
        assert_eq!(numbers(&conn), vec![1, 3]);
    }

    #[test]
    fn constraint_error_rolls_back_alone() {
        let (_dir, mut conn) = test_connection();
        let (first, first_answer) = new_job(insert_number(1));
        let (duplicate, duplicate_answer) = new_job(insert_number(1));
        let mut group: Vec<Box<dyn WriteJob>> = vec![first, duplicate];
        commit_group(
            &mut conn,
            &mut CountCommits::default(),
            &mut group,
            &mut throttle(),
        );

        assert!(result(first_answer).is_ok());
        assert!(matches!(
            result(duplicate_answer),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(numbers(&conn), vec![1]);
    }

    #[test]
    fn panicking_job_fails_alone() {
        let (_dir, mut conn) = test_connection();
        let (panicking, panicking_answer) =
            new_job(|_: &rusqlite::Savepoint<'_>| -> StoreResult<()> { panic!("job bug") });
        let (good, good_answer) = new_job(insert_number(7));
        let mut group: Vec<Box<dyn WriteJob>> = vec![panicking, good];
        commit_group(
            &mut conn,
            &mut CountCommits::default(),
            &mut group,
            &mut throttle(),
        );

        assert!(matches!(
            result(panicking_answer),
            Err(StoreError::Backend(_))
        ));
        assert!(result(good_answer).is_ok());
        assert_eq!(numbers(&conn), vec![7]);
    }

    #[test]
    fn failed_commit_fails_every_job() {
        let (_dir, mut conn) = test_connection();
        let (good, good_answer) = new_job(insert_number(1));
        // The deferred foreign key passes in the savepoint and fails at COMMIT.
        let (orphan, orphan_answer) = new_job(|sp: &rusqlite::Savepoint<'_>| -> StoreResult<()> {
            sp.execute("INSERT INTO children (parent) VALUES (42)", [])?;
            Ok(())
        });
        let mut group: Vec<Box<dyn WriteJob>> = vec![good, orphan];
        let mut hook = CountCommits::default();
        commit_group(&mut conn, &mut hook, &mut group, &mut throttle());

        assert_eq!(
            hook.0, 0,
            "a group that did not commit is not reported as committed"
        );
        assert!(matches!(result(good_answer), Err(StoreError::Backend(_))));
        assert!(matches!(result(orphan_answer), Err(StoreError::Backend(_))));
        assert!(
            conn.is_autocommit(),
            "the failed transaction must be rolled back"
        );
        assert_eq!(numbers(&conn), Vec::<i64>::new());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writer_thread_commits_concurrent_jobs() {
        let (dir, conn) = test_connection();
        let writer = std::sync::Arc::new(
            super::Writer::start(conn, CountCommits::default()).expect("start"),
        );
        let tasks: Vec<_> = (0..200)
            .map(|n| {
                let writer = std::sync::Arc::clone(&writer);
                tokio::spawn(async move { writer.write(insert_number(n)).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("write");
        }
        let reader = Connection::open(dir.path().join("writer.db")).expect("open reader");
        assert_eq!(numbers(&reader), (0..200).collect::<Vec<i64>>());
    }
}
