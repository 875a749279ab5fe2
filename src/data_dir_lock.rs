//! The lock file that keeps `pons demo` off a data directory that a running
//! `pons serve` uses, and the other way round. Every `pons serve` takes a
//! shared lock on it, so several servers can share one data directory (one
//! SQLite file, or one PostgreSQL database and the media folder). A demo
//! takes an exclusive lock, which fails while any server or another demo
//! holds the directory. `pons encryption-key adopt`, and `pons account
//! set-credentials` when it moves the key verifier, take the exclusive lock
//! too, so they fail while a server runs with the old key. Locks are
//! `flock`-style advisory locks on the open file, so the operating system
//! releases them when the process ends, however it ends. The other admin
//! commands take no lock.
//!
//! A lock file that cannot be opened or locked stops the command with an
//! error instead of turning the exclusion off.
//!
//! The lock only covers processes on this machine that use this data
//! directory. On PostgreSQL, servers and key changes also take an advisory
//! lock on the database (`store::postgres::instance_lock`), which covers
//! servers on other machines and in other data directories.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::store::postgres::instance_lock::{self, DatabaseLock};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE_NAME: &str = "pons.lock";

/// A lock on a data directory, held until this value is dropped.
#[must_use = "the data directory is unlocked when the lock is dropped"]
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    /// Folders that taking this lock created, if any.
    created: Option<CreatedDirectory>,
}

/// The data directory that taking a lock created, and the topmost folder
/// of its path that was created with it.
#[derive(Debug)]
struct CreatedDirectory {
    data_dir: PathBuf,
    topmost: PathBuf,
}

impl DataDirLock {
    /// Releases the lock of a command that failed before it stored
    /// anything. When taking the lock created the data directory, this
    /// removes the lock file and the created folders again, so a failed first
    /// start leaves no folder behind. It keeps them while another process
    /// holds the lock or when they contain other files.
    pub fn release_after_failure(self) {
        let Some(created) = &self.created else {
            return;
        };
        // An instance that started at the same time still uses the directory.
        if self.file.try_lock().is_err() || !holds_only_the_lock_file(&created.data_dir) {
            return;
        }
        if std::fs::remove_file(lock_path(&created.data_dir)).is_err() {
            return;
        }
        crate::private_fs::remove_empty_folders(&created.data_dir, &created.topmost);
    }
}

/// Tells whether `data_dir` contains the lock file and nothing else.
fn holds_only_the_lock_file(data_dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return false;
    };
    let mut names = entries.map(|entry| entry.map(|entry| entry.file_name()));
    matches!(
        (names.next(), names.next()),
        (Some(Ok(name)), None) if name == LOCK_FILE_NAME
    )
}

/// Takes the shared lock of a `pons serve` on `data_dir`, creating the
/// directory and the lock file when they are missing. Fails when a
/// `pons demo` or a command that changes the encryption key has the
/// directory locked, and when the lock file cannot be opened or locked.
pub fn lock_for_server(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = lock_path(data_dir);
    let (file, created) = open_or_create(data_dir, &path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(DataDirLock { file, created }),
        Err(TryLockError::WouldBlock) => bail!(
            "a `pons demo` is using the data directory {}, or an admin command is changing the \
             encryption key there; stop the demo or wait for the command to finish, or give this \
             server its own directory with --data-dir or PONS_DATA_DIR",
            data_dir.display()
        ),
        Err(TryLockError::Error(error)) => Err(lock_failed(&path, error)),
    }
}

/// Takes the exclusive lock of a `pons demo` on `data_dir`, creating the
/// directory and the lock file when they are missing. Fails when a
/// `pons serve` or another `pons demo` has the directory locked.
pub fn lock_for_demo(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = lock_path(data_dir);
    let (file, created) = open_or_create(data_dir, &path)?;
    lock_exclusive(data_dir, &path, file, created)
}

/// Like [`lock_for_demo`], but only when the lock file already exists, so
/// that a directory without one stays unchanged. Returns `Ok(None)` when
/// there is no lock file.
pub fn lock_existing_for_demo(data_dir: &Path) -> anyhow::Result<Option<DataDirLock>> {
    reject_non_directory(data_dir)?;
    let path = lock_path(data_dir);
    let metadata = std::fs::symlink_metadata(&path);
    if matches!(metadata, Err(error) if error.kind() == io::ErrorKind::NotFound) {
        return Ok(None);
    }
    let file = open_existing(&path)?;
    lock_exclusive(data_dir, &path, file, None).map(Some)
}

/// Takes the exclusive lock for a command that changes which encryption
/// key the database accepts, creating the directory and the lock file when
/// they are missing. Fails while a `pons serve` or `pons demo` has the
/// directory locked, because a running server keeps the key it started with.
pub fn lock_for_key_change(data_dir: &Path, command: &str) -> anyhow::Result<DataDirLock> {
    let path = lock_path(data_dir);
    let (file, created) = open_or_create(data_dir, &path)?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { file, created }),
        Err(TryLockError::WouldBlock) => bail!(
            "a `pons serve` or `pons demo` is using the data directory {}, and it would keep \
             the old encryption key while `{command}` changes the key the database accepts (or \
             another command that changes the key is running); stop every server and demo on \
             this directory first, then run `{command}` again",
            data_dir.display()
        ),
        Err(TryLockError::Error(error)) => Err(lock_failed(&path, error)),
    }
}

/// The locks that a command changing the encryption key holds: the data
/// directory's, and on PostgreSQL the database's.
#[must_use = "the locks are released when they are dropped"]
pub struct KeyChangeLock {
    directory: DataDirLock,
    _database: Option<DatabaseLock>,
}

/// Takes [`lock_for_key_change`] on `data_dir` and, when `database_url`
/// names PostgreSQL, the database's exclusive lock, which fails while a
/// `pons serve` on any machine uses that database.
pub async fn lock_key_change(
    data_dir: &Path,
    database_url: &str,
    command: &str,
) -> anyhow::Result<KeyChangeLock> {
    let directory = lock_for_key_change(data_dir, command)?;
    let database = if crate::store::is_postgres_url(database_url) {
        match instance_lock::lock_for_key_change(database_url, command).await {
            Ok(lock) => Some(lock),
            Err(error) => {
                directory.release_after_failure();
                return Err(error);
            }
        }
    } else {
        None
    };
    Ok(KeyChangeLock {
        directory,
        _database: database,
    })
}

impl KeyChangeLock {
    /// Releases the locks of a command that failed, as
    /// [`DataDirLock::release_after_failure`] does.
    pub fn release_after_failure(self) {
        self.directory.release_after_failure();
    }
}

fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE_NAME)
}

/// Opens the lock file, creating it and `data_dir` readable by their owner
/// only when they are missing. It never truncates or writes the file. An
/// existing file that this user cannot write is opened read-only, which is
/// enough for `flock`. Also returns the folders that it created.
fn open_or_create(
    data_dir: &Path,
    path: &Path,
) -> anyhow::Result<(File, Option<CreatedDirectory>)> {
    reject_non_directory(data_dir)?;
    let created = crate::private_fs::topmost_missing(data_dir).map(|topmost| CreatedDirectory {
        data_dir: data_dir.to_path_buf(),
        topmost,
    });
    crate::private_fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    reject_irregular_file(path)?;
    let file = read_only_unless_writable(path, crate::private_fs::open_or_create_file(path))?;
    Ok((file, created))
}

/// Rejects a data directory path that exists but is not a directory, or
/// whose nearest existing parent is not one. Creating the directory would
/// fail with "File exists" and opening the lock file in it with "Not a
/// directory", and neither error names the path that is wrong.
pub fn reject_non_directory(data_dir: &Path) -> anyhow::Result<()> {
    // Without a trailing slash, which makes `metadata` of a file fail.
    let normalized: PathBuf = data_dir.components().collect();
    let existing = normalized
        .ancestors()
        .filter(|path| !path.as_os_str().is_empty())
        .find_map(|path| Some((path, std::fs::metadata(path).ok()?)));
    let Some((path, metadata)) = existing else {
        return Ok(());
    };
    if metadata.is_dir() {
        return Ok(());
    }
    let kind = if metadata.is_file() {
        "a file"
    } else {
        "a special file"
    };
    let fix = "point --data-dir, PONS_DATA_DIR or data_dir in the configuration file at a \
               directory";
    if path == normalized {
        bail!(
            "the data directory {} is {kind}, not a directory; {fix}, or move that file away so \
             that Pons creates the directory there",
            data_dir.display()
        );
    }
    bail!(
        "the data directory {} cannot be created, because {} is {kind}, not a directory; \
         {fix} whose parents are directories, or move that file away",
        data_dir.display(),
        path.display()
    )
}

/// Returns the file of a successful `writable` open of `path`. When that
/// open failed because the file or its file system is read-only, opens the
/// existing file read-only instead.
fn read_only_unless_writable(path: &Path, writable: io::Result<File>) -> anyhow::Result<File> {
    match writable {
        Ok(file) => checked_lock_file(path, file),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) && path.exists() =>
        {
            open_existing(path)
        }
        Err(error) => Err(open_failed(path, error)),
    }
}

/// Opens the existing lock file read-only.
fn open_existing(path: &Path) -> anyhow::Result<File> {
    reject_irregular_file(path)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|error| open_failed(path, error))?;
    checked_lock_file(path, file)
}

/// Rejects a lock file path that exists but is not a regular file, such
/// as a directory or a symbolic link, before it is opened. Opening a FIFO
/// would block, and opening a link would create or lock its target.
fn reject_irregular_file(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.is_file() => Err(not_a_file(path, &metadata)),
        _ => Ok(()),
    }
}

/// Checks that the opened lock file is a regular file, in case the path
/// was replaced between the check and the open.
fn checked_lock_file(path: &Path, file: File) -> anyhow::Result<File> {
    let metadata = file.metadata().map_err(|error| open_failed(path, error))?;
    if !metadata.is_file() {
        return Err(not_a_file(path, &metadata));
    }
    Ok(file)
}

fn not_a_file(path: &Path, metadata: &std::fs::Metadata) -> anyhow::Error {
    if metadata.is_symlink() {
        return symbolic_link(path);
    }
    let kind = if metadata.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    anyhow::anyhow!(
        "the lock file {} is {kind}, so it cannot keep `pons serve` and `pons demo` apart; \
         stop any Pons process on this data directory, remove {} and start again (Pons creates \
         the lock file as an empty regular file)",
        path.display(),
        path.display()
    )
}

fn symbolic_link(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "the lock file {} is a symbolic link, and Pons never follows one there because it \
         would create or lock the link's target instead; remove the link {} and start again \
         (Pons creates the lock file as an empty regular file)",
        path.display(),
        path.display()
    )
}

fn open_failed(path: &Path, error: io::Error) -> anyhow::Error {
    if error.raw_os_error() == Some(libc::ELOOP) {
        return symbolic_link(path);
    }
    anyhow::anyhow!(
        "cannot open or create the lock file {}: {error}; give the user that runs Pons read \
         access to it and write access to its directory, or remove the file so Pons creates it \
         again",
        path.display()
    )
}

fn lock_failed(path: &Path, error: io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot lock the lock file {}: {error}; without the lock a `pons serve` and a `pons \
         demo` could use this data directory at once. Put the data directory on a local file \
         system that supports flock, or replace the file with an empty regular file that the \
         user that runs Pons can read",
        path.display()
    )
}

fn lock_exclusive(
    data_dir: &Path,
    path: &Path,
    file: File,
    created: Option<CreatedDirectory>,
) -> anyhow::Result<DataDirLock> {
    match file.try_lock() {
        Ok(()) => return Ok(DataDirLock { file, created }),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(error)) => return Err(lock_failed(path, error)),
    }
    // Only demos and commands that change the encryption key take the
    // exclusive lock. When a shared lock is still free, the holders are
    // servers.
    if file.try_lock_shared().is_ok() {
        bail!(
            "a `pons serve` is using the data directory {}, and the demo never runs on a \
             server's data; stop the server, or give the demo its own directory with \
             --data-dir or PONS_DATA_DIR",
            data_dir.display()
        );
    }
    bail!(
        "another pons demo is running with the data directory {}, or an admin command is \
         changing the encryption key there; stop the demo first, or give this one another \
         directory with --data-dir or PONS_DATA_DIR",
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

        assert!(lock_for_demo(dir.path()).is_err());

        drop((first, second));
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
        assert!(text.contains("changing the encryption key"), "{text}");
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

        assert!(lock_for_server(dir.path()).is_ok());
    }

    #[test]
    fn failed_start_removes_the_folders_it_created() {
        let root = tempfile::tempdir().unwrap();
        let data_dir = root.path().join("new").join("pons-data");

        lock_for_server(&data_dir).unwrap().release_after_failure();

        assert!(!root.path().join("new").exists());
        assert!(root.path().exists());
    }

    #[test]
    fn failed_start_keeps_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();

        lock_for_server(dir.path()).unwrap().release_after_failure();

        assert!(dir.path().join(LOCK_FILE_NAME).exists());
    }

    #[test]
    fn failed_start_keeps_a_directory_another_server_locked() {
        let root = tempfile::tempdir().unwrap();
        let data_dir = root.path().join("pons-data");
        let first = lock_for_server(&data_dir).unwrap();
        let _second = lock_for_server(&data_dir).unwrap();

        first.release_after_failure();

        assert!(data_dir.join(LOCK_FILE_NAME).exists());
    }

    #[test]
    fn failed_start_keeps_a_directory_with_other_files() {
        let root = tempfile::tempdir().unwrap();
        let data_dir = root.path().join("pons-data");
        let lock = lock_for_key_change(&data_dir, "pons encryption-key adopt").unwrap();
        std::fs::write(data_dir.join("encryption.key"), "key").unwrap();

        lock.release_after_failure();

        assert!(data_dir.join(LOCK_FILE_NAME).exists());
        assert!(data_dir.join("encryption.key").exists());
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

    #[test]
    fn key_change_rejects_a_used_directory() {
        let dir = tempfile::tempdir().unwrap();
        let server = lock_for_server(dir.path()).unwrap();

        let with_server = message(lock_for_key_change(dir.path(), "pons x").unwrap_err());
        drop(server);
        let demo = lock_for_demo(dir.path()).unwrap();
        let with_demo = message(lock_for_key_change(dir.path(), "pons x").unwrap_err());
        drop(demo);

        for text in [with_server, with_demo] {
            assert!(
                text.contains("`pons serve` or `pons demo` is using"),
                "{text}"
            );
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
            assert!(text.contains("stop every server and demo"), "{text}");
            assert!(text.contains("run `pons x` again"), "{text}");
        }
        let key_change = lock_for_key_change(dir.path(), "pons x").unwrap();
        assert!(
            lock_for_server(dir.path()).is_err(),
            "server during key change"
        );
        drop(key_change);
        assert!(
            lock_for_server(dir.path()).is_ok(),
            "server after key change"
        );
    }

    #[test]
    fn directory_as_lock_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE_NAME);
        std::fs::create_dir(&path).unwrap();

        let results = [
            ("serve", lock_for_server(dir.path()).map(drop)),
            ("demo", lock_for_demo(dir.path()).map(drop)),
            ("existing", lock_existing_for_demo(dir.path()).map(drop)),
            ("adopt", lock_for_key_change(dir.path(), "pons x").map(drop)),
        ];

        for (name, result) in results {
            let text = message(result.expect_err(name));
            let expected = format!("the lock file {} is a directory", path.display());
            assert!(text.contains(&expected), "{name}: {text}");
            assert!(text.contains("remove"), "{name}: {text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn read_only_lock_file_still_locks() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE_NAME);
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();

        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let read_only = read_only_unless_writable(&path, Err(denied)).unwrap();
        read_only.try_lock_shared().unwrap();
        let beside_fallback = message(lock_for_demo(dir.path()).unwrap_err());
        drop(read_only);
        let _server = lock_for_server(dir.path()).unwrap();
        let beside_server = message(lock_for_demo(dir.path()).unwrap_err());

        for text in [beside_fallback, beside_server] {
            assert!(text.contains("a `pons serve` is using"), "{text}");
        }
    }

    #[test]
    fn file_as_data_directory_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "not a directory").unwrap();

        let results = [
            ("serve", lock_for_server(&file).map(drop)),
            ("demo", lock_for_demo(&file).map(drop)),
            ("existing", lock_existing_for_demo(&file).map(drop)),
            ("adopt", lock_for_key_change(&file, "pons x").map(drop)),
        ];

        for (name, result) in results {
            let text = message(result.expect_err(name));
            let expected = format!("the data directory {} is a file", file.display());
            assert!(text.contains(&expected), "{name}: {text}");
            assert!(text.contains("not a directory"), "{name}: {text}");
            assert!(text.contains("PONS_DATA_DIR"), "{name}: {text}");
            assert!(!text.contains("read access"), "{name}: {text}");
        }
        assert!(file.is_file(), "the file stays as it was");
    }

    #[test]
    fn file_as_data_directory_parent_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "not a directory").unwrap();
        let data_dir = file.join("pons");

        let results = [
            ("serve", lock_for_server(&data_dir).map(drop)),
            ("existing", lock_existing_for_demo(&data_dir).map(drop)),
        ];

        for (name, result) in results {
            let text = message(result.expect_err(name));
            let expected = format!(
                "the data directory {} cannot be created, because {} is a file",
                data_dir.display(),
                file.display()
            );
            assert!(text.contains(&expected), "{name}: {text}");
            assert!(text.contains("PONS_DATA_DIR"), "{name}: {text}");
        }
    }

    #[test]
    fn file_with_trailing_slash_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "not a directory").unwrap();
        let with_slash = PathBuf::from(format!("{}/", file.display()));

        let text = message(reject_non_directory(&with_slash).unwrap_err());

        assert!(text.contains("is a file, not a directory"), "{text}");
    }

    #[test]
    fn missing_data_directory_passes_check() {
        let dir = tempfile::tempdir().unwrap();
        assert!(reject_non_directory(dir.path()).is_ok());
        assert!(reject_non_directory(&dir.path().join("new/data")).is_ok());
        assert!(reject_non_directory(Path::new("relative-missing-dir")).is_ok());
    }

    #[test]
    fn read_only_fallback_needs_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE_NAME);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);

        let text = message(read_only_unless_writable(&path, Err(denied)).unwrap_err());

        let expected = format!("cannot open or create the lock file {}", path.display());
        assert!(text.contains(&expected), "{text}");
        assert!(text.contains("read access"), "{text}");
    }
}
