//! The rule for repeating user input in an error message. The input is cut
//! to a bounded length, so that a huge argument cannot make a huge error.
//! Characters a reader cannot see are written as escapes, so that a NUL or
//! a line break in an id shows up instead of breaking the message.

use crate::shorten::{ELLIPSIS, cut_point};

/// Maximum characters of rejected input that an error message repeats,
/// counting the `…` of a cut input.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Returns `input` for an error message, cut to [`MAX_ECHOED_CHARS`]
/// characters and escaped as [`cut`] describes. Quote it as `"{}"`, not
/// `{:?}`, which would escape the escapes again.
pub fn echoed(input: &str) -> String {
    cut(input, MAX_ECHOED_CHARS)
}

/// Returns `text` shortened to at most `max_chars` characters, `…`
/// included, as [`crate::shorten::cut_point`] cuts it, for messages of
/// other libraries that may quote input. The limit counts characters
/// before escaping. Control
/// characters, whitespace other than the space, invisible format characters
/// such as direction overrides, and fillers become Rust escapes (`\0`,
/// `\n`, `\u{202e}`).
pub fn cut(text: &str, max_chars: usize) -> String {
    let (kept, more) = match cut_point(text, max_chars) {
        Some(end) => (&text[..end], true),
        None => (text, false),
    };
    let mut out = String::with_capacity(kept.len() + 3);
    // Tag characters are kept only where they spell a subdivision flag:
    // after U+1F3F4 (waving black flag) or another tag character.
    let mut in_flag = false;
    let mut previous = None;
    for c in kept.chars() {
        let tag = is_tag(c);
        if c.is_control() {
            // `\0`, `\n` and `\t` read better than their code points.
            out.extend(c.escape_debug());
        } else if is_hidden_after(previous, c) && !(tag && in_flag) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        in_flag = c == FLAG_BASE || (tag && in_flag);
        previous = Some(c);
    }
    if more {
        out.push(ELLIPSIS);
    }
    out
}

/// Tells whether `c` shows as nothing, or as a plain space, in a message,
/// or changes how the text around it shows (direction overrides, line
/// separators). This covers every default-ignorable code point of Unicode
/// 16 (the `Default_Ignorable_Code_Point` property), including all tag
/// characters, except the following. The zero-width non-joiner and joiner
/// (U+200C, U+200D) are not counted, because emoji sequences and several
/// scripts need them. Variation selectors are not counted either,
/// because a variation sequence such as `❤️` needs one: see
/// [`is_variation_selector`] for when they are hidden.
pub fn is_invisible(c: char) -> bool {
    let blank = (c.is_control() || c.is_whitespace()) && c != ' ';
    blank
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e00ff}'
                | '\u{e01f0}'..='\u{e0fff}'
        )
}

/// Tells whether `c` is a variation selector, which picks a glyph for the
/// character before it (text or emoji style, a Mongolian form) and shows
/// as nothing by itself. Only one may follow a character, so a variation
/// selector at the start of a text, or right after whitespace, another
/// variation selector, a joiner or an invisible character, can only hide
/// data and is written as an escape.
pub fn is_variation_selector(c: char) -> bool {
    matches!(
        c,
        '\u{180b}'..='\u{180d}' | '\u{180f}' | '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}'
    )
}

/// Tells whether `c` is written as an escape after `previous`, the
/// character before it in the same text (`None` at the start): an
/// invisible character, or a variation selector that follows no character
/// it could apply to.
pub fn is_hidden_after(previous: Option<char>, c: char) -> bool {
    if is_variation_selector(c) {
        return previous.is_none_or(|p| {
            p.is_whitespace()
                || is_variation_selector(p)
                || is_invisible(p)
                || matches!(p, '\u{200c}' | '\u{200d}')
        });
    }
    is_invisible(c)
}

/// Returns `text` in double quotes as Rust's `{:?}` writes a string, with
/// every character of [`is_hidden_after`] also written as an escape, tag
/// characters included. The JSON text block of a tool result escapes the
/// same characters, so a summary line shows what the JSON shows.
pub fn quoted_visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut previous = None;
    for c in text.chars() {
        if c.is_control() || c == '"' || c == '\\' {
            out.extend(c.escape_debug());
        } else if is_hidden_after(previous, c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out.push('"');
    out
}

/// The waving black flag, which tag characters follow in a subdivision
/// flag such as England's.
const FLAG_BASE: char = '\u{1f3f4}';

/// Tells whether `c` is a tag character (U+E0020 to U+E007F), which shows
/// as nothing outside a subdivision flag.
fn is_tag(c: char) -> bool {
    matches!(c, '\u{e0020}'..='\u{e007f}')
}

/// Query parameters whose values are secrets, in lower case. libpq reads
/// `password` and `sslpassword` (the client key's passphrase) from a
/// database URL's query as well as from its user part.
const SECRET_QUERY_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// Returns `url` for error messages and logs: the user and password of a
/// `scheme://user:password@host` URL become `***`, and so do the values of
/// the query parameters `password` and `sslpassword`, whose names match in
/// any case.
pub fn without_credentials(url: &str) -> String {
    let redacted = without_user_part(url);
    let Some((before_query, query)) = redacted.split_once('?') else {
        return redacted;
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_parameter(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut shown = format!("{before_query}?{}", masked.join("&"));
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(fragment);
    }
    shown
}

/// Returns `url` with the user and password of its authority replaced by
/// `***`.
fn without_user_part(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Tells whether the query parameter `name` carries a password. The name
/// is decoded as the driver decodes it, so `%70assword` matches too.
fn is_secret_parameter(name: &str) -> bool {
    let Some((decoded, _)) = url::form_urlencoded::parse(name.as_bytes()).next() else {
        return false;
    };
    SECRET_QUERY_PARAMETERS
        .iter()
        .any(|secret| decoded.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_credentials_cases() {
        let cases = [
            (
                "postgres://pons:secret@db:5432/pons",
                "postgres://***@db:5432/pons",
            ),
            ("mysql://pons@db/pons", "mysql://***@db/pons"),
            ("postgres://db/pons?user=a@b", "postgres://db/pons?user=a@b"),
            ("/data/a@b/pons.db", "/data/a@b/pons.db"),
        ];
        for (url, shown) in cases {
            assert_eq!(without_credentials(url), shown, "{url}");
        }
    }

    #[test]
    fn query_passwords_masked() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/DB?password=LEAKME",
                "postgres://***@127.0.0.1:5432/DB?password=***",
            ),
            (
                "postgres://db/pons?sslmode=require&PassWord=LEAKME&application_name=x",
                "postgres://db/pons?sslmode=require&PassWord=***&application_name=x",
            ),
            (
                "postgres://db/pons?sslpassword=LEAKME#top",
                "postgres://db/pons?sslpassword=***#top",
            ),
            (
                "postgres://db/pons?%70assword=LEAKME",
                "postgres://db/pons?%70assword=***",
            ),
            (
                "postgres://u:LEAKME@db/pons?user=a",
                "postgres://***@db/pons?user=a",
            ),
            (
                "sqlite:pons.db?password=LEAKME",
                "sqlite:pons.db?password=***",
            ),
            ("postgres://db/pons?password", "postgres://db/pons?password"),
        ];
        for (url, shown) in cases {
            assert_eq!(without_credentials(url), shown, "{url}");
        }
    }

    #[test]
    fn long_input_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ECHOED_CHARS + 5);
        assert_eq!(
            echoed(&long),
            format!("{}…", "é".repeat(MAX_ECHOED_CHARS - 1))
        );
        assert_eq!(echoed("short"), "short");
    }

    #[test]
    fn invisible_characters_are_escaped() {
        let cases = [
            ("a\0b", r"a\0b"),
            ("line\nbreak\ttab", r"line\nbreak\ttab"),
            ("no\u{a0}break", r"no\u{a0}break"),
            ("sep\u{2028}", r"sep\u{2028}"),
            ("\u{202e}txt.exe", r"\u{202e}txt.exe"),
            ("zero\u{200b}width", r"zero\u{200b}width"),
            ("bell\u{7}", r"bell\u{7}"),
            ("\u{206a}old", r"\u{206a}old"),
            ("\u{e0041}tag", r"\u{e0041}tag"),
            ("\u{e0001}\u{e0065}n", r"\u{e0001}\u{e0065}n"),
            ("\u{115f}fill", r"\u{115f}fill"),
            ("\u{3164}hangul", r"\u{3164}hangul"),
            ("note\u{fff9}", r"note\u{fff9}"),
        ];
        for (input, expected) in cases {
            assert_eq!(echoed(input), expected, "{input:?}");
        }
    }

    /// The `Default_Ignorable_Code_Point` ranges of Unicode 16.0
    /// (DerivedCoreProperties.txt).
    const DEFAULT_IGNORABLE: [(char, char); 17] = [
        ('\u{ad}', '\u{ad}'),
        ('\u{34f}', '\u{34f}'),
        ('\u{61c}', '\u{61c}'),
        ('\u{115f}', '\u{1160}'),
        ('\u{17b4}', '\u{17b5}'),
        ('\u{180b}', '\u{180f}'),
        ('\u{200b}', '\u{200f}'),
        ('\u{202a}', '\u{202e}'),
        ('\u{2060}', '\u{206f}'),
        ('\u{3164}', '\u{3164}'),
        ('\u{fe00}', '\u{fe0f}'),
        ('\u{feff}', '\u{feff}'),
        ('\u{ffa0}', '\u{ffa0}'),
        ('\u{fff0}', '\u{fff8}'),
        ('\u{1bca0}', '\u{1bca3}'),
        ('\u{1d173}', '\u{1d17a}'),
        ('\u{e0000}', '\u{e0fff}'),
    ];

    #[test]
    fn default_ignorables_are_invisible() {
        for (first, last) in DEFAULT_IGNORABLE {
            for c in first..=last {
                if matches!(c, '\u{200c}' | '\u{200d}') {
                    assert!(!is_invisible(c), "{c:?} is kept for emoji and scripts");
                } else if is_variation_selector(c) {
                    assert!(is_hidden_after(None, c), "{c:?} at the start");
                    assert!(!is_hidden_after(Some('a'), c), "{c:?} after a letter");
                } else {
                    assert!(is_invisible(c), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn stray_variation_selectors_are_escaped() {
        assert_eq!(
            echoed("\u{2764}\u{fe0f}\u{fe0f}"),
            "\u{2764}\u{fe0f}\\u{fe0f}"
        );
        assert_eq!(echoed("\u{fe00}x"), r"\u{fe00}x");
        assert_eq!(echoed("a\u{34f}b"), r"a\u{34f}b");
    }

    #[test]
    fn quoted_visible_escapes_every_tag() {
        let flag = "\u{1f3f4}\u{e0067}\u{e0062}\u{e007f}";
        assert_eq!(quoted_visible(flag), r#""🏴\u{e0067}\u{e0062}\u{e007f}""#);
        assert_eq!(
            quoted_visible("Ana \"A\"\n\u{e0041}\u{202e}"),
            r#""Ana \"A\"\n\u{e0041}\u{202e}""#
        );
        assert_eq!(quoted_visible("👨‍👩‍👧 ❤️"), "\"👨‍👩‍👧 ❤️\"");
    }

    #[test]
    fn visible_text_is_kept() {
        for input in [
            "plain words",
            "wamid.HBgL\\x",
            "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
            "\u{2764}\u{fe0f}",
            // England's flag: the flag base, tags for "gbeng", cancel tag.
            "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
            "Ünïcödé 中文 नमस्ते",
            "\"quoted\"",
        ] {
            assert_eq!(echoed(input), input);
        }
    }

    #[test]
    fn cut_counts_characters_before_escaping() {
        let input = "\0".repeat(MAX_ECHOED_CHARS + 1);
        assert_eq!(
            echoed(&input),
            format!("{}…", r"\0".repeat(MAX_ECHOED_CHARS - 1))
        );
    }
}
