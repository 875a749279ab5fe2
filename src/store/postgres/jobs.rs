//! Background jobs on PostgreSQL. Claims lock the rows they take with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never share a job and a
//! claim passes over rows that another claim has locked.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::{backend, not_found_on_foreign_key, now, sql_limit};
use crate::store::jobs::{LEASE_EXPIRED_ERROR, validate_lease, validate_new_job};
use crate::store::*;

/// Attempts at a retry that a concurrent enqueue of its twin can fail.
const RETRY_ATTEMPTS: u32 = 2;

/// Inserts a queued job unless a queued job has the same dedupe key, inside
/// the caller's transaction.
pub(crate) async fn insert_job(
    conn: &mut PgConnection,
    job: &NewJob,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, account_id, payload_json, state, attempts, max_attempts, \
         run_at, dedupe_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $8) \
         ON CONFLICT (dedupe_key) WHERE state = 'queued' DO NOTHING",
    )
    .bind(JobId::generate().as_str())
    .bind(&job.kind)
    .bind(job.account_id.as_ref().map(AccountId::as_str))
    .bind(&job.payload_json)
    .bind(i64::from(job.max_attempts))
    .bind(job.run_at)
    .bind(&job.dedupe_key)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn enqueue_job(pool: &PgPool, job: &NewJob) -> StoreResult<()> {
    validate_new_job(job)?;
    let mut conn = pool.acquire().await.map_err(backend)?;
    insert_job(&mut conn, job, now()).await.map_err(|error| {
        let account = job.account_id.as_ref().map_or("", AccountId::as_str);
        not_found_on_foreign_key(error, format!("account {account}"))
    })
}

/// Claims due jobs, earliest `run_at` first; see `Store::claim_jobs`.
pub(crate) async fn claim_jobs(
    pool: &PgPool,
    kinds: &[&str],
    now: UnixTime,
    lease_seconds: i64,
    limit: u32,
) -> StoreResult<Vec<Job>> {
    validate_lease(lease_seconds)?;
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query(
        "UPDATE jobs SET state = 'failed', last_error = $3, locked_until = NULL, updated_at = $2 \
         WHERE state = 'running' AND locked_until < $2 AND attempts >= max_attempts \
         AND kind = ANY($1)",
    )
    .bind(kinds)
    .bind(now)
    .bind(LEASE_EXPIRED_ERROR)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;

    let rows = sqlx::query(
        "WITH due AS ( \
             SELECT id FROM jobs \
             WHERE kind = ANY($1) AND attempts < max_attempts \
             AND ((state = 'queued' AND run_at <= $2) \
                  OR (state = 'running' AND locked_until < $2)) \
             ORDER BY run_at, created_at, id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
         UPDATE jobs j SET state = 'running', locked_until = $3, attempts = j.attempts + 1, \
             updated_at = $2 \
         FROM due WHERE j.id = due.id \
         RETURNING j.id, j.kind, j.account_id, j.payload_json, j.attempts, j.max_attempts, \
             j.run_at, j.created_at",
    )
    .bind(kinds)
    .bind(now)
    .bind(now.saturating_add(lease_seconds))
    .bind(sql_limit(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    tx.commit().await.map_err(backend)?;

    // RETURNING keeps no order, so the claim order is restored here.
    let mut claimed = rows
        .iter()
        .map(|row| {
            let order: (UnixTime, UnixTime, String) = (
                row.try_get("run_at").map_err(backend)?,
                row.try_get("created_at").map_err(backend)?,
                row.try_get("id").map_err(backend)?,
            );
            Ok((order, job(row)?))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    claimed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(claimed.into_iter().map(|(_, job)| job).collect())
}

fn job(row: &PgRow) -> StoreResult<Job> {
    let count = |column: &str| -> StoreResult<u32> {
        let value: i64 = row.try_get(column).map_err(backend)?;
        u32::try_from(value).map_err(|_| {
            StoreError::Backend(format!("column {column} contains an invalid value {value}"))
        })
    };
    Ok(Job {
        id: JobId(row.try_get("id").map_err(backend)?),
        kind: row.try_get("kind").map_err(backend)?,
        account_id: row
            .try_get::<Option<String>, _>("account_id")
            .map_err(backend)?
            .map(AccountId),
        payload_json: row.try_get("payload_json").map_err(backend)?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
    })
}

/// Extends a running job's lease for the claim of `attempt`; see
/// `Store::extend_job_lease`.
pub(crate) async fn extend_job_lease(
    pool: &PgPool,
    id: &JobId,
    attempt: u32,
    now: UnixTime,
    lease_seconds: i64,
) -> StoreResult<bool> {
    validate_lease(lease_seconds)?;
    let extended = sqlx::query(
        "UPDATE jobs SET locked_until = $3, updated_at = $4 \
         WHERE id = $1 AND state = 'running' AND attempts = $2",
    )
    .bind(id.as_str())
    .bind(i64::from(attempt))
    .bind(now.saturating_add(lease_seconds))
    .bind(now)
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(extended.rows_affected() == 1)
}

pub(crate) async fn complete_job(pool: &PgPool, id: &JobId, at: UnixTime) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', locked_until = NULL, updated_at = $2 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(at)
    .execute(pool)
    .await
    .map_err(backend)?;
    require_job(done.rows_affected(), id)
}

pub(crate) async fn fail_job(
    conn: &mut PgConnection,
    id: &JobId,
    error: &str,
    at: UnixTime,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'failed', last_error = $2, locked_until = NULL, \
         updated_at = $3 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(error)
    .bind(at)
    .execute(conn)
    .await
    .map_err(backend)?;
    require_job(done.rows_affected(), id)
}

/// Queues the job again, or fails it when a queued job with the same
/// dedupe key will do the work; see `Store::retry_job`. A twin enqueued
/// between the check and the update fails the update with a unique
/// violation, and the next attempt finds the twin.
pub(crate) async fn retry_job(
    pool: &PgPool,
    id: &JobId,
    error: &str,
    run_at: UnixTime,
    attempt_use: AttemptUse,
) -> StoreResult<()> {
    let mut attempt = 1;
    loop {
        match retry_once(pool, id, error, run_at, attempt_use).await {
            Err(RetryError::Unique(_)) if attempt < RETRY_ATTEMPTS => attempt += 1,
            Err(RetryError::Unique(error)) => return Err(backend(error)),
            Err(RetryError::Store(error)) => return Err(error),
            Ok(()) => return Ok(()),
        }
    }
}

/// Failure of one attempt at `retry_job`.
enum RetryError {
    /// A queued twin appeared after the check.
    Unique(sqlx::Error),
    Store(StoreError),
}

impl From<StoreError> for RetryError {
    fn from(error: StoreError) -> Self {
        RetryError::Store(error)
    }
}

async fn retry_once(
    pool: &PgPool,
    id: &JobId,
    error: &str,
    run_at: UnixTime,
    attempt: AttemptUse,
) -> Result<(), RetryError> {
    let now = now();
    let mut tx = pool.begin().await.map_err(backend)?;
    let twin_queued: Option<bool> = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jobs d WHERE d.dedupe_key = j.dedupe_key \
             AND d.state = 'queued' AND d.id <> j.id) \
         FROM jobs j WHERE j.id = $1 FOR UPDATE",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?;
    match twin_queued {
        None => return Err(StoreError::NotFound(format!("job {id}")).into()),
        Some(true) => fail_job(&mut tx, id, error, now).await?,
        Some(false) => {
            sqlx::query(
                "UPDATE jobs SET state = 'queued', run_at = $2, last_error = $3, \
                 locked_until = NULL, updated_at = $4, max_attempts = max_attempts + $5 \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(run_at)
            .bind(error)
            .bind(now)
            .bind(i64::from(attempt.attempts_added()))
            .execute(&mut *tx)
            .await
            .map_err(|error| match error.as_database_error() {
                Some(db) if db.is_unique_violation() => RetryError::Unique(error),
                _ => RetryError::Store(backend(error)),
            })?;
        }
    }
    tx.commit().await.map_err(backend)?;
    Ok(())
}

fn require_job(changed: u64, id: &JobId) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(format!("job {id}")));
    }
    Ok(())
}
