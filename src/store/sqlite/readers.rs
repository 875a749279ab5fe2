//! A small pool of read-only connections used from blocking tasks.
//!
//! In WAL mode readers never block the writer and see the last committed
//! transaction, so reads run in parallel with the group commits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::configure_connection;
use crate::store::{StoreError, StoreResult};

/// Read-only connections shared by all read methods of the store.
pub(super) struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    /// Opens `size` read-only connections to an existing, migrated database.
    pub(super) fn open(path: &Path, size: usize) -> anyhow::Result<Arc<ReaderPool>> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(open_reader(path)?);
        }
        Ok(Arc::new(ReaderPool {
            path: path.to_owned(),
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
            .map_err(|_| StoreError::Backend("SQLite reader pool is closed".to_owned()))?;
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
            None => open_reader(&self.path)
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

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure_connection(&conn)?;
    Ok(conn)
}
