//! Encryption at rest for account secrets (Meta access tokens and app
//! secrets): AES-256-GCM with a random 96-bit nonce stored before the
//! ciphertext. The key lives in the data directory unless configuration
//! provides one.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
/// File name of the generated key inside the data directory.
pub const KEY_FILE_NAME: &str = "encryption.key";

/// Errors from loading a key or from decrypting.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The I/O error is part of the message and not a `source()`, so that
    /// a report of the whole error chain names it once.
    #[error("cannot read or create the encryption key file {path}: {error}")]
    KeyFile { path: String, error: std::io::Error },
    #[error(
        "invalid encryption key in {origin}: {found}, and a key is 32 bytes encoded as base64. \
         If the database already stores secrets, restore the key file they were stored with \
         from a backup, because a new key cannot decrypt them. Only a new installation may \
         start with a new key (generate one with `openssl rand -base64 32`)"
    )]
    InvalidKey { origin: String, found: String },
    #[error(
        "encryption key file {path} is a symbolic link to {target}, which does not exist. \
         Restore the key file at {target}. If that key is lost, remove the link so that Pons \
         creates a new key file at {path}, then store the credentials of every account again \
         as \"Recover from a lost encryption key\" in the README describes, because a new \
         key cannot decrypt the access tokens and app secrets stored under the old one"
    )]
    DanglingLink { path: String, target: String },
    #[error("stored secret cannot be decrypted: it was encrypted with another key or is corrupt")]
    Decrypt,
}

/// The cipher for account secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

/// Reads a key file's text. A path that is no regular file, such as a
/// named pipe or a device, is rejected instead of read, because reading a
/// named pipe waits until another process writes to it.
fn read_key_text(path: &Path) -> std::io::Result<Zeroizing<String>> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file; point the setting at the key file itself",
        ));
    }
    std::fs::read_to_string(path).map(Zeroizing::new)
}

impl SecretBox {
    /// Builds the cipher from a base64 key given by configuration.
    pub fn from_base64(text: &str, origin: &str) -> Result<SecretBox, CryptoError> {
        let invalid = |found: String| CryptoError::InvalidKey {
            origin: origin.to_owned(),
            found,
        };
        if text.trim().is_empty() {
            return Err(invalid("it is empty".to_owned()));
        }
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|_| invalid("it is not base64".to_owned()))?,
        );
        if bytes.len() != 32 {
            return Err(invalid(format!("it decodes to {} bytes", bytes.len())));
        }
        let key = Key::<Aes256Gcm>::from_slice(&bytes);
        Ok(SecretBox {
            cipher: Aes256Gcm::new(key),
        })
    }

    /// Reads the key file, or returns `None` when it does not exist. A
    /// symbolic link to a missing file is an error, not a missing key file.
    pub fn load(path: &Path) -> Result<Option<SecretBox>, CryptoError> {
        match read_key_text(path) {
            Ok(text) => SecretBox::from_base64(&text, &path.display().to_string()).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                reject_dangling_link(path)?;
                Ok(None)
            }
            Err(error) => Err(CryptoError::KeyFile {
                path: path.display().to_string(),
                error,
            }),
        }
    }

    /// Reads the key file, creating it with a new random key (mode 0600)
    /// when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, CryptoError> {
        let io_error = |error| CryptoError::KeyFile {
            path: path.display().to_string(),
            error,
        };
        match read_key_text(path) {
            Ok(text) => SecretBox::from_base64(&text, &path.display().to_string()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => SecretBox::create(path),
            Err(err) => Err(io_error(err)),
        }
    }

    /// Creates the key file with a new random key (mode 0600), and its
    /// parent folders when they are missing. Fails when the path exists.
    pub fn create(path: &Path) -> Result<SecretBox, CryptoError> {
        let io_error = |error| CryptoError::KeyFile {
            path: path.display().to_string(),
            error,
        };
        reject_dangling_link(path)?;
        if let Some(parent) = path.parent() {
            crate::private_fs::create_dir_all(parent).map_err(io_error)?;
        }
        let key = Aes256Gcm::generate_key(OsRng);
        let text = Zeroizing::new(BASE64.encode(key));
        write_private(path, text.as_bytes()).map_err(io_error)?;
        SecretBox::from_base64(&text, &path.display().to_string())
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Rejects a key file path that is a symbolic link to a missing file.
/// Reading such a path reports a missing file, but creating the key there
/// fails with "File exists", which names neither the link nor its target.
fn reject_dangling_link(path: &Path) -> Result<(), CryptoError> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !metadata.file_type().is_symlink() {
        return Ok(());
    }
    let target = std::fs::read_link(path).map_or_else(
        |error| format!("an unreadable target ({error})"),
        |target| target.display().to_string(),
    );
    Err(CryptoError::DanglingLink {
        path: path.display().to_string(),
        target,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let secrets = SecretBox::load_or_create(&path).unwrap();
        let sealed = secrets.encrypt(b"app-secret");
        assert_eq!(secrets.decrypt(&sealed).unwrap().as_slice(), b"app-secret");

        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(secrets.decrypt(&tampered).is_err());

        let reloaded = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(reloaded.decrypt(&sealed).unwrap().as_slice(), b"app-secret");
    }

    #[test]
    fn unwritable_key_file_names_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, b"").unwrap();
        let path = not_a_dir.join(KEY_FILE_NAME);
        let cause = std::fs::read_to_string(&path).unwrap_err().to_string();
        let err = SecretBox::load_or_create(&path).unwrap_err();
        // main prints the whole chain with `{:#}`.
        let report = format!("{:#}", anyhow::Error::from(err));
        assert!(report.contains(KEY_FILE_NAME), "{report}");
        assert_eq!(report.matches(cause.as_str()).count(), 1, "{report}");
    }

    #[test]
    fn load_creates_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        assert!(SecretBox::load(&path).unwrap().is_none());
        assert!(!path.exists());

        let created = SecretBox::load_or_create(&path).unwrap();
        let sealed = created.encrypt(b"app-secret");
        let loaded = SecretBox::load(&path).unwrap().expect("key file exists");
        assert_eq!(loaded.decrypt(&sealed).unwrap().as_slice(), b"app-secret");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_link_names_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let target = dir.path().join("backup").join("encryption.key");
        std::os::unix::fs::symlink(&target, &path).unwrap();

        let loaded = SecretBox::load(&path).unwrap_err().to_string();
        let created = SecretBox::load_or_create(&path).unwrap_err().to_string();

        for message in [loaded, created] {
            let link = format!(
                "encryption key file {} is a symbolic link to {}, which does not exist",
                path.display(),
                target.display()
            );
            assert!(message.contains(&link), "{message}");
            assert!(message.contains("Restore the key file"), "{message}");
            assert!(message.contains("remove the link"), "{message}");
            assert!(message.contains("cannot decrypt"), "{message}");
        }
        assert!(!target.exists(), "no key file is created at the target");
    }

    #[test]
    fn named_pipe_key_file_is_rejected_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let mkfifo = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(mkfifo.success());

        for message in [
            SecretBox::load(&path).unwrap_err().to_string(),
            SecretBox::load_or_create(&path).unwrap_err().to_string(),
        ] {
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("not a regular file"), "{message}");
        }
    }

    #[test]
    fn rejects_short_key() {
        let err = SecretBox::from_base64("c2hvcnQ=", "PONS_ENCRYPTION_KEY").unwrap_err();
        assert!(err.to_string().contains("PONS_ENCRYPTION_KEY"));
        assert!(err.to_string().contains("it decodes to 5 bytes"), "{err}");
    }

    #[test]
    fn invalid_key_names_problem_and_restore() {
        for (text, found) in [
            ("", "it is empty"),
            ("  \n", "it is empty"),
            ("not base64!", "it is not base64"),
        ] {
            let message = SecretBox::from_base64(text, "key.file")
                .unwrap_err()
                .to_string();
            assert!(message.contains(found), "{text:?}: {message}");
            assert!(message.contains("restore the key file"), "{message}");
            assert!(message.contains("cannot decrypt"), "{message}");
        }
    }
}
