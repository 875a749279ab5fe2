//! Files and directories readable by their owner only, whatever the umask.
//! The data directory contains customer messages, media and the encryption
//! key, and it often lives in a directory that others can list. Only files
//! and directories that Pons creates get these modes; existing ones keep
//! theirs.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Mode of the directories Pons creates.
#[cfg(unix)]
const DIRECTORY_MODE: u32 = 0o700;
/// Mode of the files Pons creates.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Returns the topmost missing folder of `dir`'s path (`dir` itself when
/// only it is missing), or `None` when `dir` exists. [`create_dir_all`]
/// creates the folders from there down.
pub fn topmost_missing(dir: &Path) -> Option<PathBuf> {
    let mut topmost = None;
    for folder in dir.ancestors() {
        if folder.as_os_str().is_empty() || std::fs::symlink_metadata(folder).is_ok() {
            break;
        }
        topmost = Some(folder.to_path_buf());
    }
    topmost
}

/// Removes `dir` and its parents up to `topmost`, as long as each one is
/// empty, to undo a [`create_dir_all`] that `topmost_missing` measured.
/// Returns whether it removed at least one folder.
pub fn remove_empty_folders(dir: &Path, topmost: &Path) -> bool {
    let mut removed = false;
    for folder in dir.ancestors() {
        if std::fs::remove_dir(folder).is_err() {
            break;
        }
        removed = true;
        if folder == topmost {
            break;
        }
    }
    removed
}

/// Creates `path` and its missing parents, each readable by its owner only.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIRECTORY_MODE);
    builder.create(path)
}

/// Creates the file `path`, which must not exist, for writing, readable by
/// its owner only.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Opens the file `path` for writing, creating it readable by its owner
/// only when it is missing. An existing file keeps its content and mode.
/// On Unix it fails with `ELOOP` when `path` is a symbolic link, so that
/// a link never makes Pons create or open the link's target.
pub fn open_or_create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{create_dir_all, create_new_file, open_or_create_file};

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_paths_are_private() {
        let root = tempfile::tempdir().unwrap();
        let directory = root.path().join("a/b");
        create_dir_all(&directory).unwrap();
        create_new_file(&directory.join("file")).unwrap();

        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&directory), 0o700);
        assert_eq!(mode(&directory.join("file")), 0o600);
    }

    #[test]
    fn existing_file_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("file");
        create_new_file(&path).unwrap();

        let error = create_new_file(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn open_or_create_keeps_existing_file() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("file");
        std::fs::write(&path, "content").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

        open_or_create_file(&path).unwrap();
        open_or_create_file(&root.path().join("new")).unwrap();

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "content");
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(&root.path().join("new")), 0o600);
    }
}
