//! Replaces pooled connections after PostgreSQL rejected a write as
//! read-only.
//!
//! A database set to `default_transaction_read_only`, or a standby that a
//! failover left behind, makes every connection opened meanwhile read-only
//! for its whole life. The pool would keep them for up to its maximum
//! lifetime (30 minutes) after the database accepts writes again. Once a
//! write fails with SQLSTATE 25006, every connection opened before that
//! failure is closed instead of reused, so the next request connects anew.
//!
//! The time of the last such failure is kept per process. Another store in
//! the same process (only tests open several) then reconnects once too,
//! which costs a connection set-up and changes no result.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// SQLSTATE `read_only_sql_transaction`.
const READ_ONLY_SQL_TRANSACTION: &str = "25006";

/// The instant that [`REJECTED_AT_MS`] counts from.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds from [`START`] to the last read-only rejection, plus one;
/// 0 while there was none.
static REJECTED_AT_MS: AtomicU64 = AtomicU64::new(0);

/// Records `error` when it is PostgreSQL's rejection of a write in a
/// read-only transaction.
pub(crate) fn note(error: &sqlx::Error) {
    let read_only = error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == READ_ONLY_SQL_TRANSACTION);
    if read_only {
        let since_start = u64::try_from(START.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        REJECTED_AT_MS.store(since_start + 1, Ordering::Relaxed);
    }
}

/// Returns whether a pooled connection opened `age` ago may be reused:
/// it was opened after the last read-only rejection.
pub(crate) fn may_reuse(age: Duration) -> bool {
    let rejected = REJECTED_AT_MS.load(Ordering::Relaxed);
    if rejected == 0 {
        return true;
    }
    let rejected_at = *START + Duration::from_millis(rejected - 1);
    Instant::now()
        .checked_sub(age)
        .is_some_and(|opened_at| opened_at > rejected_at)
}
