//! The `Content-Disposition` of served media. A file name comes from the
//! customer, so only letters, digits, spaces and `._-()` of it are kept.
//! An ASCII `filename` is the fallback, and `filename*` (RFC 6266 and RFC
//! 8187) carries the name's other letters and digits, percent-encoded.

use http::HeaderValue;

use crate::store::{MediaRef, Message};

/// Maximum length of a file name in `Content-Disposition`, in characters.
const MAX_FILENAME_CHARS: usize = 150;

/// Returns `inline` for images, audio and video, so a browser shows them.
/// Everything else, documents above all, is an attachment under its
/// sanitised file name, or `{type}-{message id}` when it has none.
pub(super) fn content_disposition(message: &Message, media: &MediaRef) -> HeaderValue {
    let mime = media.mime_type.as_deref().unwrap_or_default();
    let playable = ["image/", "audio/", "video/"]
        .iter()
        .any(|prefix| mime.starts_with(prefix));
    if message.kind != "document" && playable {
        return HeaderValue::from_static("inline");
    }
    let name = media
        .filename
        .as_deref()
        .map(sanitize_filename)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("{}-{}", message.kind, message.id));
    let ascii = ascii_fallback(&name);
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        value.push_str("; filename*=UTF-8''");
        value.push_str(&percent_encode(&name));
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// Sanitizes a file name for `Content-Disposition`. Letters and digits of
/// any script, spaces and `._-()` stay, and anything else (quotes, control
/// characters, emoji, combining marks and the bidirectional controls that
/// can disguise an extension) becomes `_`. Directories, leading dots and
/// spaces are dropped, and the name is cut to `MAX_FILENAME_CHARS`.
fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            let allowed = c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ' ' | '(' | ')');
            if allowed { c } else { '_' }
        })
        .collect();
    cleaned
        .trim_start_matches(['.', ' '])
        .trim_end()
        .chars()
        .take(MAX_FILENAME_CHARS)
        .collect()
}

/// Replaces each non-ASCII character of a sanitised name with `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect()
}

/// Percent-encodes the UTF-8 bytes of `name` except RFC 8187's `attr-char`.
fn percent_encode(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        let attr_char = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the ASCII `filename` parameter of a sanitised name.
    fn ascii_filename(name: &str) -> String {
        ascii_fallback(&sanitize_filename(name))
    }

    #[test]
    fn filenames_are_sanitized() {
        let cases = [
            ("invoice 2024.pdf", "invoice 2024.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\x\\report.docx", "report.docx"),
            ("quote\".pdf", "quote_.pdf"),
            ("línea\r\nX-Evil: 1.txt", "l_nea__X-Evil_ 1.txt"),
            ("..hidden", "hidden"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(ascii_filename(input), expected, "for {input:?}");
        }
        assert_eq!(ascii_filename(&"a".repeat(400)).len(), 150);
        assert_eq!(sanitize_filename(&"é".repeat(400)).chars().count(), 150);
    }

    fn document(filename: &str) -> (Message, MediaRef) {
        let media = MediaRef {
            mime_type: Some("application/pdf".to_owned()),
            filename: Some(filename.to_owned()),
            download_status: Some("stored".to_owned()),
            ..MediaRef::default()
        };
        let message = Message {
            wamid: None,
            kind: "document".to_owned(),
            media: Some(media.clone()),
            ..Message::test_message()
        };
        (message, media)
    }

    fn disposition_of(filename: &str) -> String {
        let (message, media) = document(filename);
        content_disposition(&message, &media)
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn non_ascii_names_get_filename_star() {
        assert_eq!(
            disposition_of("résumé ü.pdf"),
            "attachment; filename=\"r_sum_ _.pdf\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%BC.pdf"
        );
        assert_eq!(
            disposition_of("договор.pdf"),
            "attachment; filename=\"_______.pdf\"; \
             filename*=UTF-8''%D0%B4%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80.pdf"
        );
    }

    #[test]
    fn ascii_names_have_no_filename_star() {
        assert_eq!(
            disposition_of("invoice (2).pdf"),
            "attachment; filename=\"invoice (2).pdf\""
        );
    }

    #[test]
    fn filename_star_keeps_sanitising() {
        let value = disposition_of("../é\"\r\nX: 1\u{202E}fdp.exe");
        assert_eq!(
            value,
            "attachment; filename=\"____X_ 1_fdp.exe\"; filename*=UTF-8''%C3%A9___X_%201_fdp.exe"
        );
    }
}
