//! Downloaded media on disk, content-addressed: a file lives at
//! `<data_dir>/media/<first two hex digits>/<sha256>`, so identical content
//! is stored once and a stored file never changes. A download in progress
//! is a [`PartialFile`] under `<data_dir>/media/partial/`.

mod partial;
mod stale;

use std::path::PathBuf;

pub use partial::PartialFile;

/// Directory below the data directory that contains media files.
pub(crate) const MEDIA_DIR: &str = "media";
/// Directory below [`MEDIA_DIR`] that contains downloads in progress. Its
/// name is not two hex digits, so it never clashes with a stored file's
/// directory.
const PARTIAL_DIR: &str = "partial";

/// The media directory of one data directory. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MediaFiles {
    data_dir: PathBuf,
}

/// A file stored by [`PartialFile::persist`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Path relative to the data directory, with `/` separators.
    pub relative_path: String,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    pub size: u64,
}

impl MediaFiles {
    pub fn new(data_dir: impl Into<PathBuf>) -> MediaFiles {
        MediaFiles {
            data_dir: data_dir.into(),
        }
    }

    /// Creates an empty temporary file for a download of at most
    /// `max_bytes`. The file is deleted when the returned value is dropped
    /// without [`PartialFile::persist`].
    pub fn create_partial(&self, max_bytes: u64) -> std::io::Result<PartialFile> {
        PartialFile::create(&self.data_dir, max_bytes)
    }

    /// Deletes the temporary files of downloads that no process is writing
    /// any more, such as those of a process that crashed, and returns how
    /// many it deleted.
    pub async fn remove_stale_partials(&self) -> std::io::Result<usize> {
        let directory = self.partial_dir();
        tokio::task::spawn_blocking(move || stale::remove_unlocked_files(&directory))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Creates and deletes a temporary download file. It fails when the
    /// media folder cannot be created or written, so start-up can report
    /// that before the first inbound photo needs the folder.
    pub async fn check_writable(&self) -> std::io::Result<()> {
        let media = self.clone();
        tokio::task::spawn_blocking(move || media.create_partial(0).map(drop))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Returns the folder that contains the media files.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join(MEDIA_DIR)
    }

    /// Returns the absolute path of the file with this SHA-256, or `None`
    /// when `sha256` is not 64 lowercase hex digits (so no stored value
    /// can point outside the media directory).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        relative_path(sha256).map(|relative| self.data_dir.join(relative))
    }

    fn partial_dir(&self) -> PathBuf {
        self.media_dir().join(PARTIAL_DIR)
    }
}

/// Returns `media/<xx>/<sha256>` for a valid lowercase hex SHA-256.
pub fn relative_path(sha256: &str) -> Option<String> {
    let valid = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| format!("{MEDIA_DIR}/{}/{sha256}", &sha256[..2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rejects_non_hashes() {
        let files = MediaFiles::new("/data");
        for bad in [
            "",
            "../../etc/passwd",
            &"A".repeat(64),
            &"g".repeat(64),
            "ab",
        ] {
            assert!(files.path_of(bad).is_none(), "{bad:?}");
        }
        assert!(files.path_of(&"0f".repeat(32)).is_some());
    }
}
