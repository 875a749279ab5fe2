//! Deleting the temporary files of downloads that ended without deleting
//! them, which only happens when a process crashes or is killed.
//!
//! A [`PartialFile`](super::PartialFile) holds an exclusive lock on its
//! file while it exists, and the operating system releases the lock when
//! the process exits. A file whose lock can be taken therefore belongs to
//! no running download, in this process or in another one that shares the
//! data directory.

use std::fs::TryLockError;
use std::io;
use std::path::Path;

use super::partial::is_partial_name;

/// Deletes every temporary download file in `directory` that no process
/// holds locked and returns how many it deleted. Only regular files named
/// as Pons names them are touched, so other files, links and folders stay,
/// also when `directory` is a link to a folder outside the data directory.
/// A missing directory contains none.
pub(super) fn remove_unlocked_files(directory: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let is_partial = entry.file_name().to_str().is_some_and(is_partial_name);
        if !is_partial || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        match remove_if_unlocked(&path) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(error) => tracing::warn!(path = %path.display(), %error,
                "checking a temporary media file failed; keeping it"),
        }
    }
    Ok(removed)
}

/// Deletes the file unless a process holds its lock. Between the creation
/// of a file and its lock, a download is not yet visible as running, but
/// both happen in one synchronous call.
fn remove_if_unlocked(path: &Path) -> io::Result<bool> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(error)) => return Err(error),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use crate::media_files::MediaFiles;

    #[tokio::test]
    async fn stale_files_removed_live_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut live = files.create_partial(100).unwrap();
        live.write(b"still arriving").await.unwrap();
        let crashed = files
            .partial_dir()
            .join("0123456789abcdef0123456789abcdef.part");
        std::fs::write(&crashed, b"left by a killed process").unwrap();
        let foreign = [
            "notes.txt",
            "0123456789abcdef.part",
            "0123456789ABCDEF0123456789ABCDEF.part",
        ];
        for name in foreign {
            std::fs::write(files.partial_dir().join(name), b"not Pons's").unwrap();
        }

        let removed = files.remove_stale_partials().await.unwrap();

        assert_eq!(removed, 1);
        assert!(!crashed.exists(), "the unlocked file is deleted");
        for name in foreign {
            assert!(files.partial_dir().join(name).exists(), "{name} is kept");
        }
        assert!(live.path().exists(), "the file of a running download stays");
        let stored = live.persist().await.unwrap();
        assert_eq!(stored.size, 14);
    }

    /// A `partial` folder that links elsewhere loses only Pons's own
    /// temporary files there.
    #[cfg(unix)]
    #[tokio::test]
    async fn linked_directory_keeps_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let precious = elsewhere.path().join("important.txt");
        std::fs::write(&precious, b"precious").unwrap();
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("media/partial")).unwrap();
        let files = MediaFiles::new(dir.path());

        assert_eq!(files.remove_stale_partials().await.unwrap(), 0);
        assert_eq!(std::fs::read(&precious).unwrap(), b"precious");
    }

    #[tokio::test]
    async fn missing_directory_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());

        assert_eq!(files.remove_stale_partials().await.unwrap(), 0);
        assert!(!dir.path().join("media").exists());
    }
}
