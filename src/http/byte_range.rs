//! The `Range` request header of RFC 9110 section 14 for one stored file.
//! A single byte range gets 206, an unsatisfiable one 416, and anything
//! else the whole file with 200, which the RFC always allows.

use http::{HeaderMap, header};

/// The part of a file of `length` bytes that a request selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ByteRange {
    /// The whole file: no `Range`, several ranges, an `If-Range`, a unit
    /// other than `bytes`, or a header that is not valid.
    Whole,
    /// Bytes `start` to `end`, both included, with `end < length`.
    Part { start: u64, end: u64 },
    /// A single range that starts at or after the end of the file.
    Unsatisfiable,
}

impl ByteRange {
    /// Resolves the `Range` header of a request for a file of `length` bytes.
    pub(super) fn of(headers: &HeaderMap, length: u64) -> ByteRange {
        // Pons sends no validator, so no `If-Range` can match, and a range
        // that depends on one is ignored, as RFC 9110 section 13.1.5 requires.
        if headers.contains_key(header::IF_RANGE) {
            return ByteRange::Whole;
        }
        let mut values = headers.get_all(header::RANGE).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return ByteRange::Whole;
        };
        match value.to_str() {
            Ok(value) => parse(value, length),
            Err(_) => ByteRange::Whole,
        }
    }
}

/// Parses a `Range` value such as `bytes=0-99`, `bytes=-100` or `bytes=100-`.
fn parse(value: &str, length: u64) -> ByteRange {
    let Some((unit, specs)) = value.split_once('=') else {
        return ByteRange::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return ByteRange::Whole;
    }
    let mut specs = specs.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        // Several ranges would need a multipart/byteranges body, so the
        // whole file is served instead.
        return ByteRange::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return ByteRange::Whole;
    };
    if first.is_empty() {
        return match number(last) {
            Some(suffix) => suffix_range(suffix, length),
            None => ByteRange::Whole,
        };
    }
    let Some(start) = number(first) else {
        return ByteRange::Whole;
    };
    if last.is_empty() {
        return from_start(start, u64::MAX, length);
    }
    match number(last) {
        Some(end) if end >= start => from_start(start, end, length),
        // A last position before the first makes the range invalid.
        _ => ByteRange::Whole,
    }
}

/// Parses a position: ASCII digits only, saturating at `u64::MAX`, so a
/// last position past any file still means "to the end".
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

fn from_start(start: u64, end: u64, length: u64) -> ByteRange {
    if start >= length {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part {
        start,
        end: end.min(length - 1),
    }
}

/// Returns the last `suffix` bytes, or the whole file when it is shorter.
fn suffix_range(suffix: u64, length: u64) -> ByteRange {
    if suffix == 0 || length == 0 {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part {
        start: length - suffix.min(length),
        end: length - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn range(value: &str, length: u64) -> ByteRange {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        ByteRange::of(&headers, length)
    }

    fn part(start: u64, end: u64) -> ByteRange {
        ByteRange::Part { start, end }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(range("bytes=0-99", 1_000), part(0, 99));
        assert_eq!(range("bytes=-100", 1_000), part(900, 999));
        assert_eq!(range("bytes=100-", 1_000), part(100, 999));
        assert_eq!(range("bytes=999-999", 1_000), part(999, 999));
        assert_eq!(range("Bytes = 5-9", 1_000), part(5, 9));
    }

    #[test]
    fn ranges_past_the_end_are_clipped() {
        assert_eq!(range("bytes=900-5000", 1_000), part(900, 999));
        assert_eq!(range("bytes=-5000", 1_000), part(0, 999));
        assert_eq!(
            range("bytes=0-99999999999999999999999", 1_000),
            part(0, 999)
        );
    }

    #[test]
    fn out_of_range_is_unsatisfiable() {
        assert_eq!(range("bytes=1000-", 1_000), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=1000-1100", 1_000), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=-0", 1_000), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=0-", 0), ByteRange::Unsatisfiable);
        assert_eq!(range("bytes=-10", 0), ByteRange::Unsatisfiable);
        assert_eq!(
            range("bytes=99999999999999999999999-", 1_000),
            ByteRange::Unsatisfiable
        );
    }

    #[test]
    fn several_ranges_get_whole_file() {
        assert_eq!(range("bytes=0-99, 200-299", 1_000), ByteRange::Whole);
        assert_eq!(range("bytes=0-0,-1", 1_000), ByteRange::Whole);
    }

    #[test]
    fn invalid_ranges_are_ignored() {
        for value in [
            "bytes=99-0",
            "bytes=abc",
            "bytes=1-2-3",
            "bytes=-",
            "bytes=+1-2",
            "bytes= - 5",
            "items=0-99",
            "bytes",
            "0-99",
            "bytes=",
        ] {
            assert_eq!(range(value, 1_000), ByteRange::Whole, "{value}");
        }
    }

    #[test]
    fn no_range_or_if_range_gets_whole_file() {
        assert_eq!(ByteRange::of(&HeaderMap::new(), 1_000), ByteRange::Whole);
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=0-99"));
        headers.insert(header::IF_RANGE, HeaderValue::from_static("\"tag\""));
        assert_eq!(ByteRange::of(&headers, 1_000), ByteRange::Whole);
    }
}
