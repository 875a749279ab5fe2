//! The rule for repeating user input in an error message. The input is cut
//! to a bounded length, so that a huge argument cannot make a huge error.
//! Characters a reader cannot see are written as escapes, so that a NUL or
//! a line break in an id shows up instead of breaking the message.

/// Maximum characters of rejected input that an error message repeats.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Returns `input` for an error message, cut to [`MAX_ECHOED_CHARS`]
/// characters and escaped as [`cut`] describes. Quote it as `"{}"`, not
/// `{:?}`, which would escape the escapes again.
pub fn echoed(input: &str) -> String {
    cut(input, MAX_ECHOED_CHARS)
}

/// Returns `text` cut to `max_chars` characters, with `…` appended when it
/// is longer, for messages of other libraries that may quote input. Control
/// characters, whitespace other than the space, invisible format characters
/// such as direction overrides, and fillers become Rust escapes (`\0`,
/// `\n`, `\u{202e}`).
pub fn cut(text: &str, max_chars: usize) -> String {
    let (kept, more) = match text.char_indices().nth(max_chars) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    };
    let mut out = String::with_capacity(kept.len() + 3);
    // Tag characters are kept only where they spell a subdivision flag:
    // after U+1F3F4 (waving black flag) or another tag character.
    let mut in_flag = false;
    for c in kept.chars() {
        let tag = is_tag(c);
        if c.is_control() {
            // `\0`, `\n` and `\t` read better than their code points.
            out.extend(c.escape_debug());
        } else if is_invisible(c) || (tag && !in_flag) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        in_flag = c == FLAG_BASE || (tag && in_flag);
    }
    if more {
        out.push('…');
    }
    out
}

/// Tells whether `c` shows as nothing, or as a plain space, in a message,
/// or changes how the text around it shows (direction overrides, line
/// separators). Zero-width joiners are not counted, because emoji
/// sequences and several scripts need them.
pub fn is_invisible(c: char) -> bool {
    let blank = (c.is_control() || c.is_whitespace()) && c != ' ';
    blank
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0001}'
        )
}

/// The waving black flag, which tag characters follow in a subdivision
/// flag such as England's.
const FLAG_BASE: char = '\u{1f3f4}';

/// Tells whether `c` is a tag character (U+E0020 to U+E007F), which shows
/// as nothing outside a subdivision flag.
fn is_tag(c: char) -> bool {
    matches!(c, '\u{e0020}'..='\u{e007f}')
}

/// Returns `url` with the user and password of a `scheme://user:password@host`
/// URL replaced by `***`, for error messages and logs.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
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
    fn long_input_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ECHOED_CHARS + 5);
        assert_eq!(echoed(&long), format!("{}…", "é".repeat(MAX_ECHOED_CHARS)));
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
            format!("{}…", r"\0".repeat(MAX_ECHOED_CHARS))
        );
    }
}
