//! A small pool of read-only connections used from blocking tasks.
//!
//! In WAL mode a reader does not block the writer and sees the last
//! transaction committed before its query began, so reads run in parallel
//! with the group commits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::configure_connection;
use super::token_counts::TokenCounts;
use crate::store::{StoreError, StoreResult};

/// Read-only connections shared by all read methods of the store.
pub(super) struct ReaderPool {
    path: PathBuf,
    counts: Arc<TokenCounts>,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    /// Opens `size` read-only connections to an existing, migrated database.
    /// Their search ranking reads token counts from `counts`.
    pub(super) fn open(
        path: &Path,
        size: usize,
        counts: &Arc<TokenCounts>,
    ) -> anyhow::Result<Arc<ReaderPool>> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(open_reader(path, counts)?);
        }
        Ok(Arc::new(ReaderPool {
            path: path.to_owned(),
            counts: Arc::clone(counts),
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(size)),
        }))
    }

    /// Runs `work` on an idle connection in a blocking task, waiting for
    /// one to be free when all are busy.
    pub(super) async fn read<T, F>(self: &Arc<Self>, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| pool_closed())?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = work(&conn);
            pool.put(conn);
            drop(permit);
            result
        });
        task.await
            .unwrap_or_else(|error| Err(StoreError::Backend(format!("read task failed: {error}"))))
    }

    /// Runs `work` on an idle connection on the calling task's thread,
    /// waiting for one to be free when all are busy. It is meant for reads
    /// of a few hundred rows or fewer by index, because handing such a
    /// query to a blocking thread and back costs more CPU than the query.
    pub(super) async fn lookup<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let _permit = self.permits.acquire().await.map_err(|_| pool_closed())?;
        let conn = self.take()?;
        let result = work(&conn);
        self.put(conn);
        result
    }

    /// Takes an idle connection. A connection lost to a panicking read is
    /// replaced by a new one, so the pool keeps its size.
    fn take(&self) -> StoreResult<Connection> {
        let connection = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match connection {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path, &self.counts)
                .map_err(|error| StoreError::Backend(format!("opening a reader failed: {error}"))),
        }
    }

    fn put(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}

/// Page cache of each reader, in KiB. SQLite's default is 2 MiB. There, the
/// index pages a search walks and the message rows of its hits pushed the
/// conversations and contacts tables out of the cache (about 5 MB with
/// their indexes at 10,000 conversations). Every hit then read their pages
/// from the file again.
/// With 8 MiB, search took 3 to 16 % less server CPU per call in three
/// alternating runs at 32 connections on a million messages; the four
/// readers add at most 24 MiB of memory.
const READER_CACHE_KIB: i64 = 8 * 1024;

fn open_reader(path: &Path, counts: &Arc<TokenCounts>) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure_connection(&conn, counts)?;
    // A negative size is in KiB.
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    Ok(conn)
}

/// Returns the error of a read that finds the pool closed.
fn pool_closed() -> StoreError {
    StoreError::Backend("SQLite reader pool is closed".to_owned())
}
