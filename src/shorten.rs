//! Shortening of text to a limit in characters, for tool output, previews
//! and error messages. A shortened text ends with `…`, which counts toward
//! the limit, and is never cut inside an extended grapheme cluster, so that
//! a family emoji joined with U+200D or a letter with its accents stays
//! whole or goes whole.

use unicode_segmentation::UnicodeSegmentation;

/// Appended to a shortened text.
pub const ELLIPSIS: char = '…';

/// Returns where to cut `text` so that the kept part and [`ELLIPSIS`] have
/// at most `max_chars` characters together: the byte length of the longest
/// prefix of whole extended grapheme clusters with at most `max_chars - 1`
/// characters. `None` when `text` has at most `max_chars` characters and
/// stays whole. A grapheme cluster longer than the limit leaves an empty
/// prefix.
pub fn cut_point(text: &str, max_chars: usize) -> Option<usize> {
    text.char_indices().nth(max_chars)?;
    let room = max_chars.saturating_sub(1);
    let mut kept_chars = 0;
    let mut end = 0;
    for (start, cluster) in text.grapheme_indices(true) {
        kept_chars += cluster.chars().count();
        if kept_chars > room {
            break;
        }
        end = start + cluster.len();
    }
    Some(end)
}

/// Returns `text` shortened to at most `max_chars` characters as
/// [`cut_point`] describes, with [`ELLIPSIS`] appended when it was cut.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match cut_point(text, max_chars) {
        Some(end) => format!("{}{ELLIPSIS}", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_stays_whole() {
        assert_eq!(shorten("", 3), "");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("ééé", 3), "ééé");
        assert_eq!(cut_point("abc", 3), None);
    }

    #[test]
    fn cut_text_fits_limit_with_ellipsis() {
        assert_eq!(shorten("abcd", 3), "ab…");
        for limit in [1, 2, 5, 64, 200] {
            let cut = shorten(&"x".repeat(limit + 1), limit);
            assert_eq!(cut.chars().count(), limit, "{limit}");
            assert!(cut.ends_with(ELLIPSIS), "{limit}");
        }
    }

    #[test]
    fn cut_keeps_grapheme_clusters_whole() {
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let text = format!("ab{family}cdefgh");
        // Room for 4 characters: "ab" and the 5-character family do not fit.
        assert_eq!(shorten(&text, 5), "ab…");
        assert_eq!(shorten(&text, 8), format!("ab{family}…"));
        // A letter with a combining accent is one cluster.
        assert_eq!(shorten("xe\u{301}yz", 3), "x…");
        // A cluster longer than the limit leaves only the ellipsis.
        assert_eq!(shorten(&format!("{family}a"), 3), "…");
    }
}
