//! User input that an error message repeats, cut to a bounded length, so
//! that a huge argument cannot make a huge error.

/// Maximum characters of rejected input that an error message repeats.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Returns `input` for an error message, cut to [`MAX_ECHOED_CHARS`]
/// characters with `…` appended when it is longer.
pub fn echoed(input: &str) -> String {
    match input.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
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
