//! Background jobs. Every call runs on the writer thread, so two claims
//! never overlap and a job is never handed to two workers at once.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::unexpected;
use super::{json_ids, unix_now};
use crate::store::jobs::{LEASE_EXPIRED_ERROR, validate_lease, validate_new_job};
use crate::store::{AccountId, AttemptUse, Job, JobId, NewJob, StoreError, StoreResult, UnixTime};

/// Inserts a queued job unless a queued job has the same dedupe key.
pub(super) fn enqueue_job(conn: &Connection, job: &NewJob, now: UnixTime) -> StoreResult<()> {
    validate_new_job(job)?;
    conn.prepare_cached(
        "INSERT INTO jobs (id, kind, account_id, payload_json, state, attempts, max_attempts, \
             run_at, dedupe_key, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?7, ?8, ?8) \
         ON CONFLICT (dedupe_key) WHERE state = 'queued' DO NOTHING",
    )?
    .execute(params![
        JobId::generate().as_str(),
        job.kind,
        job.account_id.as_ref().map(AccountId::as_str),
        job.payload_json,
        job.max_attempts,
        job.run_at,
        job.dedupe_key,
        now,
    ])?;
    Ok(())
}

/// Claims due jobs, earliest `run_at` first; see `Store::claim_jobs`.
pub(super) fn claim_jobs(
    conn: &Connection,
    kinds: &[String],
    now: UnixTime,
    lease_seconds: i64,
    limit: u32,
) -> StoreResult<Vec<Job>> {
    validate_lease(lease_seconds)?;
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let kinds = json_ids(kinds)?;
    conn.prepare_cached(
        "UPDATE jobs SET state = 'failed', last_error = ?3, locked_until = NULL, updated_at = ?2 \
         WHERE state = 'running' AND locked_until < ?2 AND attempts >= max_attempts \
           AND kind IN (SELECT value FROM json_each(?1))",
    )?
    .execute(params![kinds, now, LEASE_EXPIRED_ERROR])?;
    let mut due: Vec<Job> = conn
        .prepare_cached(
            "SELECT id, kind, account_id, payload_json, attempts, max_attempts FROM jobs \
             WHERE kind IN (SELECT value FROM json_each(?1)) AND attempts < max_attempts \
               AND ((state = 'queued' AND run_at <= ?2) \
                 OR (state = 'running' AND locked_until < ?2)) \
             ORDER BY run_at, created_at, id LIMIT ?3",
        )?
        .query_map(params![kinds, now, limit], job)?
        .collect::<rusqlite::Result<_>>()?;
    let mut lease = conn.prepare_cached(
        "UPDATE jobs SET state = 'running', locked_until = ?2, attempts = attempts + 1, \
             updated_at = ?3 \
         WHERE id = ?1",
    )?;
    for claimed in &mut due {
        lease.execute(params![
            claimed.id.as_str(),
            now.saturating_add(lease_seconds),
            now
        ])?;
        claimed.attempts += 1;
    }
    Ok(due)
}

fn job(row: &Row<'_>) -> rusqlite::Result<Job> {
    let count = |index: usize| -> rusqlite::Result<u32> {
        let value: i64 = row.get(index)?;
        u32::try_from(value).map_err(|_| unexpected("attempts", index, value.to_string()))
    };
    Ok(Job {
        id: JobId(row.get(0)?),
        kind: row.get(1)?,
        account_id: row.get::<_, Option<String>>(2)?.map(AccountId),
        payload_json: row.get(3)?,
        attempts: count(4)?,
        max_attempts: count(5)?,
    })
}

/// Extends a running job's lease for the claim of `attempt`; see
/// `Store::extend_job_lease`.
pub(super) fn extend_job_lease(
    conn: &Connection,
    id: &JobId,
    attempt: u32,
    now: UnixTime,
    lease_seconds: i64,
) -> StoreResult<bool> {
    validate_lease(lease_seconds)?;
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET locked_until = ?3, updated_at = ?4 \
             WHERE id = ?1 AND state = 'running' AND attempts = ?2",
        )?
        .execute(params![
            id.as_str(),
            attempt,
            now.saturating_add(lease_seconds),
            now
        ])?;
    Ok(changed == 1)
}

pub(super) fn complete_job(conn: &Connection, id: &JobId, at: UnixTime) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'done', locked_until = NULL, updated_at = ?2 WHERE id = ?1",
        )?
        .execute(params![id.as_str(), at])?;
    require_job(changed, id)
}

pub(super) fn fail_job(
    conn: &Connection,
    id: &JobId,
    error: &str,
    at: UnixTime,
) -> StoreResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'failed', last_error = ?2, locked_until = NULL, \
                 updated_at = ?3 \
             WHERE id = ?1",
        )?
        .execute(params![id.as_str(), error, at])?;
    require_job(changed, id)
}

/// Queues the job again, or fails it when a queued job with the same
/// dedupe key will do the work; see `Store::retry_job`.
pub(super) fn retry_job(
    conn: &Connection,
    id: &JobId,
    error: &str,
    run_at: UnixTime,
    attempt: AttemptUse,
) -> StoreResult<()> {
    let now = unix_now();
    let twin_queued: Option<bool> = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM jobs d WHERE d.dedupe_key = j.dedupe_key \
                 AND d.state = 'queued' AND d.id <> j.id) \
             FROM jobs j WHERE j.id = ?1",
        )?
        .query_row([id.as_str()], |row| row.get(0))
        .optional()?;
    match twin_queued {
        None => Err(StoreError::NotFound(format!("job {id}"))),
        Some(true) => fail_job(conn, id, error, now),
        Some(false) => {
            conn.prepare_cached(
                "UPDATE jobs SET state = 'queued', run_at = ?2, last_error = ?3, \
                     locked_until = NULL, updated_at = ?4, max_attempts = max_attempts + ?5 \
                 WHERE id = ?1",
            )?
            .execute(params![
                id.as_str(),
                run_at,
                error,
                now,
                attempt.attempts_added()
            ])?;
            Ok(())
        }
    }
}

fn require_job(changed: usize, id: &JobId) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(format!("job {id}")));
    }
    Ok(())
}
