//! Lone UTF-16 surrogates in webhook JSON.
//!
//! A JSON string can escape a character outside the Basic Multilingual
//! Plane as two surrogates, such as `\ud83d\ude00` for 😀. Text cut in the
//! middle of such a pair leaves one of them alone (`\ud83d`), and serde_json
//! rejects the whole document for it. A webhook would then be refused each
//! time Meta sends it again, and every message in its batch lost. So before
//! the body is parsed, each lone surrogate escape becomes `\ufffd`, the
//! replacement character. Pairs and all other bytes stay as they are.

use std::borrow::Cow;

/// The escape that takes the place of a lone surrogate: U+FFFD.
const REPLACEMENT: &[u8; 6] = br"\ufffd";

/// Returns `body` with each lone surrogate escape replaced by `\ufffd`,
/// and borrows it unchanged when it has none. Only escapes are looked at,
/// because valid UTF-8 cannot encode a surrogate. A malformed escape is
/// left for the JSON parser to report.
pub fn replace_lone_surrogates(body: &[u8]) -> Cow<'_, [u8]> {
    let mut replaced: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut position = 0;
    // `position` can pass the end when the body ends with a backslash.
    while let Some(offset) = body
        .get(position..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let start = position + offset;
        // A backslash outside an escape of a code unit, such as `\\` or
        // `\n`, is skipped together with the character it escapes.
        let Some(unit) = escaped_unit(body, start) else {
            position = start + 2;
            continue;
        };
        let next_is_low = escaped_unit(body, start + 6).is_some_and(is_low_surrogate);
        if is_high_surrogate(unit) && next_is_low {
            position = start + 12;
            continue;
        }
        position = start + 6;
        if is_high_surrogate(unit) || is_low_surrogate(unit) {
            let out = replaced.get_or_insert_with(|| Vec::with_capacity(body.len()));
            out.extend_from_slice(&body[copied..start]);
            out.extend_from_slice(REPLACEMENT);
            copied = position;
        }
    }
    match replaced {
        Some(mut out) => {
            out.extend_from_slice(&body[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(body),
    }
}

/// Reads the code unit of a `\uXXXX` escape that starts at `start`, if one
/// does.
fn escaped_unit(body: &[u8], start: usize) -> Option<u16> {
    let escape = body.get(start..start + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let digits = std::str::from_utf8(&escape[2..]).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

fn is_high_surrogate(unit: u16) -> bool {
    (0xd800..=0xdbff).contains(&unit)
}

fn is_low_surrogate(unit: u16) -> bool {
    (0xdc00..=0xdfff).contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates;

    fn replaced(body: &str) -> String {
        String::from_utf8(replace_lone_surrogates(body.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn lone_surrogates_become_replacement() {
        assert_eq!(
            replaced(r#"{"name":"Ana \ud83d"}"#),
            r#"{"name":"Ana \ufffd"}"#
        );
        assert_eq!(replaced(r#"["\ude00x"]"#), r#"["\ufffdx"]"#);
        assert_eq!(replaced(r#"["\uD83D\uD83D"]"#), r#"["\ufffd\ufffd"]"#);
        assert_eq!(replaced(r#"["\ude00\ud83d"]"#), r#"["\ufffd\ufffd"]"#);
        assert_eq!(replaced(r#"["\ud83d\n"]"#), r#"["\ufffd\n"]"#);
    }

    #[test]
    fn pairs_and_other_escapes_stay() {
        for body in [
            r#"{"text":"\ud83d\ude00 \uD83D\uDE00"}"#,
            r#"{"text":"\\ud83d is no escape"}"#,
            r#"{"text":"\u00e9\n\"\\"}"#,
            r#"{"text":"plain 😀"}"#,
            r#"{"text":"\u12"}"#,
            r"\",
        ] {
            assert!(
                matches!(
                    replace_lone_surrogates(body.as_bytes()),
                    std::borrow::Cow::Borrowed(_)
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn replaced_body_parses() {
        let body = r#"{"name":"\ud83d","text":"ok \ud83d\ude00"}"#;
        assert!(serde_json::from_str::<serde_json::Value>(body).is_err());
        let value: serde_json::Value = serde_json::from_str(&replaced(body)).unwrap();
        assert_eq!(value["name"], "\u{fffd}");
        assert_eq!(value["text"], "ok 😀");
    }
}
