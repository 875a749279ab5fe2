//! The lock file that keeps `pons demo` off a data directory that a running
//! `pons serve` uses, and the other way round. Every `pons serve` takes a
//! shared lock on it, so several servers can share one data directory (one
//! SQLite file, or one PostgreSQL database and the media folder). A demo
//! takes an exclusive lock, which fails while any server or another demo
//! holds the directory. Locks are `flock`-style advisory locks on the open
//! file, so the operating system releases them when the process ends,
//! however it ends. The admin commands take no lock.

use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE_NAME: &str = "pons.lock";

/// A lock on a data directory, held until this value is dropped.
#[must_use = "the data directory is unlocked when the lock is dropped"]
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the shared lock of a `pons serve` on `data_dir`, creating the
/// directory and the lock file when they are missing. Fails when a
/// `pons demo` has the directory locked.
///
/// NOTE: when the lock file cannot be created or the file system does not
/// support locks, this logs a warning and returns `Ok(None)`. The server
/// still starts, but a demo started on the same directory goes undetected.
pub fn lock_for_server(data_dir: &Path) -> anyhow::Result<Option<DataDirLock>> {
    let path = lock_path(data_dir);
    let file = match open_or_create(data_dir, &path) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error,
                "cannot create the lock file of the data directory; starting without it, so a \
                 pons demo on this directory is not detected");
            return Ok(None);
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(DataDirLock { _file: file })),
        Err(TryLockError::WouldBlock) => bail!(
            "a `pons demo` is using the data directory {}; stop the demo, or give this server \
             its own directory with --data-dir or PONS_DATA_DIR",
            data_dir.display()
        ),
        Err(TryLockError::Error(error)) => {
            tracing::warn!(path = %path.display(), %error,
                "locking the data directory failed; starting without the lock, so a pons demo \
                 on this directory is not detected");
            Ok(None)
        }
    }
}

/// Takes the exclusive lock of a `pons demo` on `data_dir`, creating the
/// directory and the lock file when they are missing. Fails when a
/// `pons serve` or another `pons demo` has the directory locked.
pub fn lock_for_demo(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = lock_path(data_dir);
    let file = open_or_create(data_dir, &path)
        .with_context(|| format!("cannot create the lock file {}", path.display()))?;
    lock_exclusive(data_dir, &path, file)
}

/// Like [`lock_for_demo`], but only when the lock file already exists, so
/// that a directory without one stays unchanged. Returns `Ok(None)` when
/// there is no lock file.
pub fn lock_existing_for_demo(data_dir: &Path) -> anyhow::Result<Option<DataDirLock>> {
    let path = lock_path(data_dir);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot open the lock file {}", path.display()));
        }
    };
    lock_exclusive(data_dir, &path, file).map(Some)
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE_NAME)
}

/// Opens the lock file, creating it and `data_dir` readable by their owner
/// only when they are missing. It never truncates or writes the file.
fn open_or_create(data_dir: &Path, path: &Path) -> io::Result<File> {
    crate::private_fs::create_dir_all(data_dir)?;
    crate::private_fs::open_or_create_file(path)
}

fn lock_exclusive(data_dir: &Path, path: &Path, file: File) -> anyhow::Result<DataDirLock> {
    match file.try_lock() {
        Ok(()) => return Ok(DataDirLock { _file: file }),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    // Only demos take the exclusive lock. When a shared lock is still free,
    // the holders are servers.
    if file.try_lock_shared().is_ok() {
        bail!(
            "a `pons serve` is using the data directory {}, and the demo never runs on a \
             server's data; stop the server, or give the demo its own directory with \
             --data-dir or PONS_DATA_DIR",
            data_dir.display()
        );
    }
    bail!(
        "another pons demo is running with the data directory {}; stop it first, or give this \
         one another directory with --data-dir or PONS_DATA_DIR",
        data_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the message of the error, with its causes.
    fn message(error: anyhow::Error) -> String {
        format!("{error:#}")
    }

    #[test]
    fn servers_share_the_directory() {
        let dir = tempfile::tempdir().unwrap();

        let first = lock_for_server(dir.path()).unwrap();
        let second = lock_for_server(dir.path()).unwrap();

        assert!(first.is_some());
        assert!(second.is_some());
    }

    #[test]
    fn demo_rejects_a_server_directory() {
        let dir = tempfile::tempdir().unwrap();
        let _server = lock_for_server(dir.path()).unwrap();

        let error = message(lock_for_demo(dir.path()).unwrap_err());
        let existing = message(lock_existing_for_demo(dir.path()).unwrap_err());

        for text in [error, existing] {
            assert!(text.contains("a `pons serve` is using"), "{text}");
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
            assert!(text.contains("--data-dir or PONS_DATA_DIR"), "{text}");
        }
    }

    #[test]
    fn server_rejects_a_demo_directory() {
        let dir = tempfile::tempdir().unwrap();
        let _demo = lock_for_demo(dir.path()).unwrap();

        let text = message(lock_for_server(dir.path()).unwrap_err());

        assert!(text.contains("a `pons demo` is using"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(text.contains("--data-dir or PONS_DATA_DIR"), "{text}");
    }

    #[test]
    fn demo_rejects_a_demo_directory() {
        let dir = tempfile::tempdir().unwrap();
        let _demo = lock_for_demo(dir.path()).unwrap();

        let text = message(lock_for_demo(dir.path()).unwrap_err());

        assert!(text.contains("another pons demo is running"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }

    #[test]
    fn dropped_lock_frees_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        drop(lock_for_server(dir.path()).unwrap());

        let demo = lock_for_demo(dir.path()).unwrap();
        drop(demo);

        assert!(lock_for_server(dir.path()).unwrap().is_some());
    }

    #[test]
    fn existing_lock_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("new");

        let lock = lock_existing_for_demo(&data_dir).unwrap();

        assert!(lock.is_none());
        assert!(!data_dir.exists(), "the directory was created");
    }

    #[cfg(unix)]
    #[test]
    fn lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let _lock = lock_for_server(&data_dir).unwrap();

        let metadata = std::fs::metadata(data_dir.join(LOCK_FILE_NAME)).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }
}
