//! `X-Hub-Signature-256`: `sha256=` followed by the lowercase hex
//! HMAC-SHA256 of the raw request body, keyed with the Meta app secret.
//! The HMAC must cover the bytes exactly as received, because Meta signs
//! its own `\uXXXX`-escaped encoding, which a re-serialised body loses.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "x-hub-signature-256";

/// Reason a request's signature was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header: expected sha256= followed by 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body for the account's app secret")]
    Mismatch,
}

/// Parses the header value into the 32-byte digest it carries.
pub fn parse_header(value: Option<&[u8]>) -> Result<[u8; 32], SignatureError> {
    let value = value.ok_or(SignatureError::Missing)?;
    let hex_digest = value
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| SignatureError::Malformed)?;
    Ok(digest)
}

/// Checks `digest` against the HMAC of `body` in constant time.
pub fn verify(app_secret: &[u8], body: &[u8], digest: &[u8; 32]) -> Result<(), SignatureError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC accepts any key length");
    mac.update(body);
    mac.verify_slice(digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// Computes the header value Meta would send for `body`.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify() {
        let header = sign(b"secret", b"{\"a\":1}");
        let digest = parse_header(Some(header.as_bytes())).unwrap();
        assert_eq!(verify(b"secret", b"{\"a\":1}", &digest), Ok(()));
        assert_eq!(
            verify(b"other", b"{\"a\":1}", &digest),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", b"{\"a\":2}", &digest),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn parse_header_rejects_bad_forms() {
        let header = sign(b"secret", b"body");
        assert_eq!(parse_header(None), Err(SignatureError::Missing));
        assert_eq!(
            parse_header(Some(b"sha1=abcdef")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            parse_header(Some(&header.as_bytes()[..40])),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            parse_header(Some(b"sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }
}
