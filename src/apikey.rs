//! API key format: `pons_` + 43 base62 characters of randomness (256 bits)
//! plus a 6-character base62 CRC-32 of the random part. The checksum lets a
//! mistyped key be rejected without a database read and lets secret
//! scanners recognise the format.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "pons_";
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
/// Characters of a key shown to identify it, `pons_` included.
pub const DISPLAY_PREFIX_LEN: usize = 12;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly generated key. Its text is shown once and never stored.
pub struct GeneratedKey {
    pub text: String,
    pub hash: [u8; 32],
    pub prefix: String,
}

/// Reason a bearer string is not a well-formed Pons key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFormatError {
    #[error("API key must start with pons_")]
    Prefix,
    #[error("API key has the wrong length")]
    Length,
    #[error("API key contains a character outside A-Z, a-z, 0-9")]
    Alphabet,
    #[error("API key checksum does not match; the key was probably mistyped or truncated")]
    Checksum,
}

/// Generates a new key from the operating system's random source.
pub fn generate() -> GeneratedKey {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let random = encode_base62(&bytes, RANDOM_LEN);
    let text = format!("{KEY_PREFIX}{random}{}", checksum(&random));
    GeneratedKey {
        hash: hash(&text),
        prefix: text[..DISPLAY_PREFIX_LEN].to_owned(),
        text,
    }
}

/// Checks the format and checksum of a presented key without touching the database.
pub fn check_format(text: &str) -> Result<(), KeyFormatError> {
    let body = text
        .strip_prefix(KEY_PREFIX)
        .ok_or(KeyFormatError::Prefix)?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(KeyFormatError::Length);
    }
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyFormatError::Alphabet);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum(random) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// SHA-256 of the whole key text, the only form that is stored.
pub fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn checksum(random: &str) -> String {
    let crc = crc32fast::hash(random.as_bytes());
    encode_base62(&crc.to_be_bytes(), CHECKSUM_LEN)
}

/// Encodes big-endian bytes in base62, left-padded with `0` to `width`.
fn encode_base62(bytes: &[u8], width: usize) -> String {
    let mut digits: Vec<u8> = Vec::with_capacity(width);
    let mut number = bytes.to_vec();
    while number.iter().any(|&b| b != 0) {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        digits.push(ALPHABET[remainder as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base62 alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_passes_check() {
        let key = generate();
        assert_eq!(key.text.len(), KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN);
        assert_eq!(check_format(&key.text), Ok(()));
        assert_eq!(key.prefix, &key.text[..12]);
        assert_eq!(key.hash, hash(&key.text));
    }

    #[test]
    fn mistyped_key_fails_checksum() {
        let key = generate();
        let mut chars: Vec<char> = key.text.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(check_format(&typo), Err(KeyFormatError::Checksum));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        let key = generate();
        assert_eq!(check_format("sk_live_abc"), Err(KeyFormatError::Prefix));
        assert_eq!(check_format(&key.text[..40]), Err(KeyFormatError::Length));
        let with_symbol = format!("{}!{}", &key.text[..20], &key.text[21..]);
        assert_eq!(check_format(&with_symbol), Err(KeyFormatError::Alphabet));
    }

    #[test]
    fn base62_encodes_max_u256_within_width() {
        assert_eq!(encode_base62(&[0xff; 32], RANDOM_LEN).len(), RANDOM_LEN);
        assert_eq!(encode_base62(&[0; 4], 6), "000000");
    }
}
