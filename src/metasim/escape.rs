//! JSON as Meta writes webhook bodies: every non-ASCII character as a
//! `\uXXXX` escape with lowercase hex digits (UTF-16 surrogate pairs beyond
//! the Basic Multilingual Plane) and `/` as `\/`. The signature covers these
//! exact bytes, so receivers that re-serialise the body fail to verify it.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

struct MetaFormatter;

impl Formatter for MetaFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            if c == '/' {
                writer.write_all(b"\\/")?;
            } else if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Serializes `value` compactly with Meta's escaping.
pub fn to_meta_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, MetaFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_meta() {
        let body = to_meta_json(&json!({"text": "Olá 👋 café? a/b \"q\"\n"})).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"text":"Ol\u00e1 \ud83d\udc4b caf\u00e9? a\/b \"q\"\n"}"#
        );
    }

    #[test]
    fn output_parses_back() {
        let value = json!({"name": "Zoë Exämple", "url": "https://x/y?z=1"});
        let body = to_meta_json(&value).unwrap();
        assert!(body.is_ascii());
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, value);
    }
}
