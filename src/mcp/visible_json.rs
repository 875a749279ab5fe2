//! The JSON text of a tool result's text block. Characters that a reader
//! cannot see are written as `\uXXXX` escapes there. These are controls
//! such as DEL and U+0085, direction overrides, zero-width and other
//! invisible format characters, and the line and paragraph separators.
//! Customer text can carry them: a file name `inv\u{202e}fdp.exe` shows as
//! `invexe.pdf`. The escapes leave the JSON value unchanged, so a client
//! that parses the text gets exactly the structured content.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::echo::is_invisible;

/// Serializes `value` as compact JSON, escaping the characters of
/// [`is_hidden`].
pub(super) fn to_visible_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, VisibleEscapes);
    value.serialize(&mut serializer)?;
    // serde_json writes only UTF-8: the input strings and ASCII escapes.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Tells whether `c` is written as an escape. serde_json already escapes
/// the ASCII controls below U+0020. Whitespace that shows as a space, such
/// as U+00A0 or the ideographic space U+3000, stays.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || (is_invisible(c) && !c.is_whitespace())
}

/// serde_json's compact format, with [`is_hidden`] characters escaped.
struct VisibleEscapes;

impl Formatter for VisibleEscapes {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Every hidden character is DEL or outside ASCII.
        if fragment.bytes().all(|b| b < 0x7f) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            if !is_hidden(c) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..index])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = index + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::to_visible_json;
    use serde_json::{Value, json};

    #[test]
    fn hidden_characters_are_escaped() {
        let value = json!({
            "file": "inv\u{202e}fdp.exe",
            "text": "a\u{7f}b\u{85}c\u{2028}d\u{200b}e\u{feff}f\u{e0001}",
        });
        let text = to_visible_json(&value).unwrap();
        for escape in [
            r"\u202e",
            r"\u007f",
            r"\u0085",
            r"\u2028",
            r"\u200b",
            r"\ufeff",
            r"\udb40\udc01",
        ] {
            assert!(text.contains(escape), "{escape} in {text}");
        }
        assert!(!text.contains('\u{202e}'), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn visible_text_stays() {
        let value = json!({
            "text": "Olá 😀 👍🏽 ❤️ 👨‍👩‍👧 日本\u{3000}語 a\u{a0}b \"q\" \\ \n",
        });
        let text = to_visible_json(&value).unwrap();
        assert_eq!(text, serde_json::to_string(&value).unwrap());
    }
}
