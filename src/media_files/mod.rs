//! Downloaded media on disk, content-addressed: a file lives at
//! `<data_dir>/media/<first two hex digits>/<sha256>`, so identical content
//! is stored once and a stored file never changes.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Directory below the data directory that contains media files.
const MEDIA_DIR: &str = "media";

/// The media directory of one data directory. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MediaFiles {
    data_dir: PathBuf,
}

/// A file written by [`MediaFiles::store`].
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

    /// Writes `bytes` under their SHA-256 unless a file of that hash and
    /// size is already there. The bytes go to a temporary file in the same
    /// directory first and are renamed into place, so a reader never sees
    /// a partial file.
    pub async fn store(&self, bytes: Vec<u8>) -> std::io::Result<StoredFile> {
        let data_dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || store_blocking(&data_dir, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Returns the absolute path of the file with this SHA-256, or `None`
    /// when `sha256` is not 64 lowercase hex digits (so no stored value
    /// can point outside the media directory).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        relative_path(sha256).map(|relative| self.data_dir.join(relative))
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

fn store_blocking(data_dir: &Path, bytes: &[u8]) -> std::io::Result<StoredFile> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let relative = relative_path(&sha256).expect("hex digest is a valid name");
    let target = data_dir.join(&relative);
    let size = bytes.len() as u64;
    let stored = StoredFile {
        relative_path: relative,
        sha256,
        size,
    };
    if std::fs::metadata(&target).is_ok_and(|meta| meta.is_file() && meta.len() == size) {
        return Ok(stored);
    }
    let directory = target.parent().expect("media path has a parent");
    std::fs::create_dir_all(directory)?;
    let temporary = directory.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = write_new(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, &target));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map(|()| stored)
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_is_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let first = files.store(b"picture".to_vec()).await.unwrap();
        let second = files.store(b"picture".to_vec()).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(first.sha256, hex::encode(Sha256::digest(b"picture")));
        assert_eq!(
            first.relative_path,
            format!("media/{}/{}", &first.sha256[..2], first.sha256)
        );
        let path = files.path_of(&first.sha256).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"picture");
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left behind");
    }

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
