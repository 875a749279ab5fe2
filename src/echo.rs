//! User input that an error message repeats, cut to a bounded length, so
//! that a huge argument cannot make a huge error.

/// Maximum characters of rejected input that an error message repeats.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Returns `input` for an error message, cut to [`MAX_ECHOED_CHARS`]
/// characters with `…` appended when it is longer.
pub fn echoed(input: &str) -> String {
    cut(input, MAX_ECHOED_CHARS)
}

/// Returns `text` cut to `max_chars` characters, with `…` appended when it
/// is longer: for messages of other libraries that may quote input.
pub fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ECHOED_CHARS + 5);
        assert_eq!(echoed(&long), format!("{}…", "é".repeat(MAX_ECHOED_CHARS)));
        assert_eq!(echoed("short"), "short");
    }
}
