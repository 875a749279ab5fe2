//! Media metadata (`GET /{media-id}`), the result of a download, and the
//! check of a download against the SHA-256 Meta announced.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Metadata from `GET /{media-id}`. The `url` is valid for about five
/// minutes and must be fetched with the access token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// SHA-256 of the file, hex or base64 depending on where Meta sent it.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size in bytes; Meta sends it as a string or as a number.
    #[serde(default, deserialize_with = "optional_size")]
    pub file_size: Option<u64>,
    #[serde(default)]
    pub messaging_product: Option<String>,
}

/// A media download written to a [`DownloadSink`](super::DownloadSink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadedMedia {
    /// The response's `Content-Type`, which is the media's MIME type.
    pub content_type: Option<String>,
    /// Bytes written to the sink.
    pub size: u64,
}

/// Tells whether a SHA-256 `digest` equals `expected`, given as 64 hex
/// digits (either case) or as base64, the two forms Meta uses.
pub fn sha256_digest_matches(digest: &[u8; 32], expected: &str) -> bool {
    let expected = expected.trim();
    let mut decoded = [0u8; 32];
    if expected.len() == 64 && hex::decode_to_slice(expected, &mut decoded).is_ok() {
        return decoded == *digest;
    }
    match BASE64.decode(expected) {
        Ok(raw) => raw[..] == digest[..],
        Err(_) => false,
    }
}

fn optional_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("file_size must be a non-negative integer")),
        Some(Value::String(text)) => {
            text.trim().parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("file_size {text:?} is not a number"))
            })
        }
        Some(other) => Err(serde::de::Error::custom(format!(
            "file_size must be a string or number, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn file_size_string_or_number() {
        let text: MediaInfo =
            serde_json::from_str(r#"{"id":"1","url":"https://x/y","file_size":"303833"}"#).unwrap();
        let number: MediaInfo =
            serde_json::from_str(r#"{"id":"1","url":"https://x/y","file_size":303833}"#).unwrap();
        assert_eq!(text.file_size, Some(303833));
        assert_eq!(number.file_size, Some(303833));
    }

    #[test]
    fn sha256_hex_and_base64() {
        let digest: [u8; 32] = Sha256::digest(b"media").into();
        let other: [u8; 32] = Sha256::digest(b"other").into();
        assert!(sha256_digest_matches(&digest, &hex::encode(digest)));
        assert!(sha256_digest_matches(
            &digest,
            &hex::encode(digest).to_uppercase()
        ));
        assert!(sha256_digest_matches(&digest, &BASE64.encode(digest)));
        assert!(!sha256_digest_matches(&other, &BASE64.encode(digest)));
        assert!(!sha256_digest_matches(&other, &hex::encode(digest)));
        assert!(!sha256_digest_matches(&digest, "not a hash"));
    }
}
