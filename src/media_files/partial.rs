//! A media file being downloaded: its bytes go to a temporary file under
//! `media/partial/` while their SHA-256 is computed, and the finished file
//! is renamed to its content-addressed path.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{MEDIA_DIR, PARTIAL_DIR, StoredFile, relative_path};
use crate::whatsapp::graph::DownloadSink;

/// File name ending of a temporary media file.
const PARTIAL_SUFFIX: &str = ".part";

/// Tells whether `name` is one that [`PartialFile::create`] gives a file: a
/// UUID as 32 lowercase hex digits, then [`PARTIAL_SUFFIX`].
pub(super) fn is_partial_name(name: &str) -> bool {
    name.strip_suffix(PARTIAL_SUFFIX).is_some_and(|id| {
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A download in progress. Dropping it without [`PartialFile::persist`]
/// deletes the temporary file, so a failed, timed-out or cancelled
/// download leaves nothing behind.
pub struct PartialFile {
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    max_bytes: u64,
    data_dir: PathBuf,
    temporary: TemporaryPath,
}

impl PartialFile {
    /// Creates the file without a blocking task: a task that outlived a
    /// cancelled caller could create the file after its guard was dropped.
    /// Creating a directory and a file are short system calls.
    pub(super) fn create(data_dir: &Path, max_bytes: u64) -> io::Result<PartialFile> {
        let directory = data_dir.join(MEDIA_DIR).join(PARTIAL_DIR);
        let name = format!("{}{PARTIAL_SUFFIX}", uuid::Uuid::new_v4().simple());
        let path = directory.join(name);
        let file = open_locked(&directory, &path)?;
        Ok(PartialFile {
            file: tokio::fs::File::from_std(file),
            hasher: Sha256::new(),
            size: 0,
            max_bytes,
            data_dir: data_dir.to_owned(),
            temporary: TemporaryPath::new(path),
        })
    }

    /// Returns the path of the temporary file.
    pub fn path(&self) -> &Path {
        &self.temporary.path
    }

    /// Returns the number of bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Returns the SHA-256 of the bytes written so far.
    pub fn sha256(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Appends `chunk` and adds it to the SHA-256. When the content would
    /// exceed the limit, deletes the file at once and fails with
    /// [`io::ErrorKind::FileTooLarge`], and every later call fails.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.require_file()?;
        let size = self.size.saturating_add(chunk.len() as u64);
        if size > self.max_bytes {
            self.temporary.remove();
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("the media exceeds the limit of {} bytes", self.max_bytes),
            ));
        }
        self.file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.size = size;
        Ok(())
    }

    /// Empties the file and restarts the SHA-256, so that a retried
    /// download writes the body again from its first byte.
    pub async fn truncate(&mut self) -> io::Result<()> {
        self.require_file()?;
        // Waits for buffered writes, which would otherwise land after the
        // truncation.
        self.file.flush().await?;
        self.file.set_len(0).await?;
        self.file.rewind().await?;
        self.hasher = Sha256::new();
        self.size = 0;
        Ok(())
    }

    /// Moves the file to the path of its SHA-256 with a rename, so a reader
    /// never sees a partial file. When a file of that SHA-256 and size is
    /// already stored, keeps it and deletes the temporary file instead.
    pub async fn persist(mut self) -> io::Result<StoredFile> {
        self.require_file()?;
        let sha256 = hex::encode(self.sha256());
        let relative = relative_path(&sha256).expect("a hex digest is a valid file name");
        let target = self.data_dir.join(&relative);
        let stored = StoredFile {
            relative_path: relative,
            sha256,
            size: self.size,
        };
        let existing = tokio::fs::metadata(&target).await;
        if existing.is_ok_and(|meta| meta.is_file() && meta.len() == stored.size) {
            return Ok(stored);
        }
        self.file.flush().await?;
        self.file.sync_all().await?;
        let source = self.temporary.path.clone();
        tokio::task::spawn_blocking(move || rename_into_place(&source, &target))
            .await
            .map_err(io::Error::other)??;
        self.temporary.removed = true;
        Ok(stored)
    }

    fn require_file(&self) -> io::Result<()> {
        if self.temporary.removed {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the temporary media file was deleted after the media exceeded the size limit",
            ));
        }
        Ok(())
    }
}

/// A media download from the Graph API goes straight to the file.
#[async_trait]
impl DownloadSink for PartialFile {
    fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    async fn restart(&mut self) -> io::Result<()> {
        self.truncate().await
    }

    async fn append(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.write(chunk).await
    }
}

/// Creates the file and takes an exclusive lock on it. While the lock is
/// held, `remove_stale_partials` keeps the file. The operating system
/// releases the lock when the file is closed or the process exits, however
/// it exits.
fn open_locked(directory: &Path, path: &Path) -> io::Result<std::fs::File> {
    crate::private_fs::create_dir_all(directory)?;
    let file = crate::private_fs::create_new_file(path)?;
    if let Err(error) = file.try_lock() {
        // Only a file system without locks gets here. The download works,
        // but a start-up while it runs cannot detect that it is in use.
        tracing::warn!(path = %path.display(), %error,
            "locking a temporary media file failed; downloading without the lock");
    }
    Ok(file)
}

fn rename_into_place(source: &Path, target: &Path) -> io::Result<()> {
    let directory = target.parent().expect("a media path has a parent");
    crate::private_fs::create_dir_all(directory)?;
    std::fs::rename(source, target)
}

/// The path of a temporary file, which is deleted when this value is
/// dropped unless it was already deleted or renamed away.
struct TemporaryPath {
    path: PathBuf,
    /// Whether the file was deleted or renamed away, so that nothing is
    /// left to delete.
    removed: bool,
}

impl TemporaryPath {
    fn new(path: PathBuf) -> TemporaryPath {
        TemporaryPath {
            path,
            removed: false,
        }
    }

    fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(path = %self.path.display(), %error,
                "deleting a temporary media file failed; the next start deletes it"),
        }
    }
}

impl Drop for TemporaryPath {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_files::MediaFiles;

    fn partial_entries(files: &MediaFiles) -> Vec<PathBuf> {
        match std::fs::read_dir(files.partial_dir()) {
            Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => panic!("reading the partial directory failed: {error}"),
        }
    }

    #[tokio::test]
    async fn persist_is_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut partial = files.create_partial(100).unwrap();
        partial.write(b"pic").await.unwrap();
        partial.write(b"ture").await.unwrap();
        assert_eq!(partial.size(), 7);
        let temporary = partial.path().to_owned();

        let stored = partial.persist().await.unwrap();

        let sha256 = hex::encode(Sha256::digest(b"picture"));
        assert_eq!(stored.sha256, sha256);
        assert_eq!(stored.size, 7);
        assert_eq!(
            stored.relative_path,
            format!("media/{}/{sha256}", &sha256[..2])
        );
        let path = files.path_of(&sha256).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"picture");
        assert!(!temporary.exists(), "the temporary file was renamed");
        assert_eq!(partial_entries(&files), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn limit_deletes_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut partial = files.create_partial(10).unwrap();
        partial.write(b"123456").await.unwrap();
        partial.write(b"7890").await.unwrap();
        assert!(partial.path().exists());

        let error = partial.write(b"x").await.unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(error.to_string().contains("10 bytes"), "{error}");
        assert!(!partial.path().exists(), "deleted before the drop");
        let later = partial.write(b"").await.unwrap_err();
        assert_eq!(later.kind(), io::ErrorKind::NotFound);
        assert!(partial.persist().await.is_err());
        assert_eq!(partial_entries(&files), Vec::<PathBuf>::new());
        assert!(!dir.path().join("media").join("00").exists());
    }

    #[tokio::test]
    async fn drop_deletes_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut partial = files.create_partial(100).unwrap();
        partial.write(b"half a picture").await.unwrap();
        let temporary = partial.path().to_owned();
        assert_eq!(partial_entries(&files), vec![temporary.clone()]);

        drop(partial);

        assert!(!temporary.exists());
        assert_eq!(partial_entries(&files), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn cancelled_download_deletes_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let (_sender, never) = tokio::sync::oneshot::channel::<()>();
        let download = async {
            let mut partial = files.create_partial(100).unwrap();
            partial.write(b"half a picture").await.unwrap();
            let _ = never.await;
            partial.persist().await
        };
        let mut download = Box::pin(download);
        assert!(futures::poll!(download.as_mut()).is_pending());
        assert_eq!(partial_entries(&files).len(), 1, "the download started");

        // A job timeout or abort drops the running future the same way.
        drop(download);

        assert_eq!(partial_entries(&files), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn existing_content_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut first = files.create_partial(100).unwrap();
        first.write(b"picture").await.unwrap();
        let stored = first.persist().await.unwrap();
        let path = files.path_of(&stored.sha256).unwrap();
        let before = std::fs::metadata(&path).unwrap();

        let mut second = files.create_partial(100).unwrap();
        second.write(b"picture").await.unwrap();
        let temporary = second.path().to_owned();
        let again = second.persist().await.unwrap();

        assert_eq!(again, stored);
        assert!(!temporary.exists(), "the duplicate was deleted");
        let after = std::fs::metadata(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(
                after.ino(),
                before.ino(),
                "the stored file was not replaced"
            );
        }
        assert_eq!(after.len(), before.len());
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1);
        assert_eq!(partial_entries(&files), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn truncate_restarts_content_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut partial = files.create_partial(5).unwrap();
        partial.write(b"abcd").await.unwrap();

        partial.truncate().await.unwrap();
        partial.write(b"wxyz").await.unwrap();

        assert_eq!(partial.size(), 4);
        assert_eq!(partial.sha256(), <[u8; 32]>::from(Sha256::digest(b"wxyz")));
        let stored = partial.persist().await.unwrap();
        let path = files.path_of(&stored.sha256).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"wxyz");
    }
}
