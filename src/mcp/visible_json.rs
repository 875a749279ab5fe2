//! The JSON text of a tool result's text block. Characters that a reader
//! cannot see are written as `\uXXXX` escapes there. These are controls
//! such as DEL and U+0085, direction overrides, zero-width and other
//! invisible format characters, and the line and paragraph separators.
//! Every tag character (U+E0000 to U+E007F) is escaped, even in a
//! subdivision flag such as England's, because a run of them can spell
//! ASCII that a model reads and a person does not see.
//! Customer text can carry them: a file name `inv\u{202e}fdp.exe` shows as
//! `invexe.pdf`. The escapes leave the JSON value unchanged, so a client
//! that parses the text gets exactly the structured content.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::echo::is_hidden_after;

/// Serializes `value` as compact JSON, escaping the characters of
/// [`is_hidden`].
pub(super) fn to_visible_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, VisibleEscapes);
    value.serialize(&mut serializer)?;
    // serde_json writes only UTF-8: the input strings and ASCII escapes.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Tells whether `c`, after `previous` in the same string fragment, is
/// written as an escape. serde_json already escapes the ASCII controls
/// below U+0020. Whitespace that shows as a space, such as U+00A0 or the
/// ideographic space U+3000, stays.
fn is_hidden(previous: Option<char>, c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || (is_hidden_after(previous, c) && !c.is_whitespace())
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
        // serde_json splits a string into fragments only at the characters
        // it escapes, so a fragment starts after a quote, a backslash or a
        // control character, and a variation selector there applies to none.
        let mut start = 0;
        let mut previous = None;
        for (index, c) in fragment.char_indices() {
            let hidden = is_hidden(previous, c);
            previous = Some(c);
            if !hidden {
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
    fn tag_characters_are_escaped() {
        // Tags spelling "Hi", a flag base with tags spelling "gbeng" and a
        // cancel tag (England's flag), and the language tag U+E0001.
        let value = json!({
            "text": "a\u{e0048}\u{e0069}b \u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f} \u{e0001}",
        });
        let text = to_visible_json(&value).unwrap();
        for c in text.chars() {
            assert!(
                !('\u{e0000}'..='\u{e007f}').contains(&c),
                "raw {:?} in {text}",
                c
            );
        }
        assert!(text.contains(r"\udb40\udc48\udb40\udc69"), "{text}");
        assert!(text.contains("\u{1f3f4}"), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn every_tag_character_is_escaped() {
        let all: String = ('\u{e0000}'..='\u{e007f}').collect();
        let text = to_visible_json(&json!({ "text": all })).unwrap();
        assert!(text.is_ascii(), "{text}");
    }

    #[test]
    fn grapheme_joiner_and_stray_selectors_are_escaped() {
        let value = json!({
            "text": "a\u{34f}b \u{fe0f}start \u{1f600}\u{e0100}\u{e0101}\u{fe01}",
        });
        let text = to_visible_json(&value).unwrap();
        for escape in [r"\u034f", r"\ufe0f", r"\udb40\udd01", r"\ufe01"] {
            assert!(text.contains(escape), "{escape} in {text}");
        }
        // The first selector after the emoji stays, as in a variation sequence.
        assert!(text.contains("\u{1f600}\u{e0100}"), "{text}");
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
