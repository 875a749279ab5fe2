//! Phone number normalisation: the one place that turns what people type
//! into E.164 digits.

use std::fmt;

use crate::echo::echoed;

/// An E.164 number stored as its digits, without the leading `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Reason a string is not a valid phone number. `input` is the rejected
/// text, cut to [`MAX_ECHOED_CHARS`] characters.
///
/// [`MAX_ECHOED_CHARS`]: crate::echo::MAX_ECHOED_CHARS
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error(
        "invalid phone number \"{input}\": it contains {bad:?}; use digits with an optional \
         leading + or 00, for example +15550001111"
    )]
    InvalidCharacter { input: String, bad: char },
    #[error(
        "invalid phone number \"{input}\": E.164 numbers have 8 to 15 digits including the \
         country code, this has {digits}; include the country code, for example +15550001111"
    )]
    WrongLength { input: String, digits: usize },
    #[error(
        "invalid phone number \"{input}\": it looks like a national number; write it with its \
         country code, for example +1 555 010 0002"
    )]
    NationalFormat { input: String },
    #[error(
        "invalid phone number \"{input}\": a country code never starts with 0; write it as +CC…"
    )]
    LeadingZero { input: String },
}

impl PhoneNumber {
    /// Parses a number as people type it: spaces, dashes, dots, brackets, a
    /// leading `+` or international `00` are accepted and dropped.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if trimmed.starts_with('(') {
            return Err(PhoneError::NationalFormat {
                input: echoed(input),
            });
        }
        // "+49 (0) 30 …" writes the national trunk prefix in brackets; it is
        // not dialled after the country code.
        let without_trunk = trimmed.replace("(0)", "");
        let trimmed = without_trunk.trim();
        let without_plus = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(without_plus.len());
        for c in without_plus.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                bad => {
                    return Err(PhoneError::InvalidCharacter {
                        input: echoed(input),
                        bad,
                    });
                }
            }
        }

        if !trimmed.starts_with('+')
            && let Some(rest) = digits.strip_prefix("00")
        {
            digits = rest.to_owned();
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero {
                input: echoed(input),
            });
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::WrongLength {
                input: echoed(input),
                digits: digits.len(),
            });
        }
        Ok(PhoneNumber(digits))
    }

    /// Reads a WhatsApp id (`wa_id`, or a webhook's `from`) as Meta sends
    /// a phone number: its digits only, with no `+`, `00` or separators.
    /// `None` for anything else, such as a user name or a number of the
    /// wrong length.
    pub fn from_wa_id(wa_id: &str) -> Option<PhoneNumber> {
        PhoneNumber::parse(wa_id)
            .ok()
            .filter(|phone| phone.digits() == wa_id)
    }

    /// The digits without `+`, as stored and as Meta's `wa_id` carries them.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The number with its leading `+`.
    pub fn e164(&self) -> String {
        format!("+{}", self.0)
    }

    /// Returns the WhatsApp ids this number may have: its own digits first,
    /// then the other form of a mobile number of Brazil, Mexico or
    /// Argentina, where a `wa_id` may add or drop a digit that people dial.
    pub fn wa_id_forms(&self) -> Vec<String> {
        let mut forms = vec![self.0.clone()];
        forms.extend(other_mobile_form(&self.0));
        forms
    }
}

/// Tells whether two WhatsApp ids or numbers name the same subscriber: the
/// same digits, or the two forms of one mobile number (see
/// [`PhoneNumber::wa_id_forms`]).
pub fn same_subscriber(a: &str, b: &str) -> bool {
    a == b
        || other_mobile_form(a).is_some_and(|other| other == b)
        || other_mobile_form(b).is_some_and(|other| other == a)
}

/// Returns the other form of a mobile number whose WhatsApp id may differ
/// from the dialled digits:
/// - Brazil (55): a 9 before the eight-digit subscriber number, which
///   older accounts' ids lack (`55 11 9xxxx xxxx` and `55 11 xxxx xxxx`).
///   Only a subscriber number that starts with 6 to 9, as mobile numbers
///   do, has two forms, so a landline never matches a mobile number.
/// - Mexico (52): a 1 after the country code, which ids keep although
///   people no longer dial it (`52 1 55 xxxx xxxx` and `52 55 xxxx xxxx`).
/// - Argentina (54): a 9 after the country code, which mobile numbers need
///   from abroad (`54 9 11 xxxx xxxx` and `54 11 xxxx xxxx`).
///
/// NOTE: Meta documents only that a `wa_id` may differ from the dialled
/// number. These forms follow the national dialling changes, not a list
/// from Meta.
fn other_mobile_form(digits: &str) -> Option<String> {
    let (country, rest) = digits.split_at_checked(2)?;
    match (country, rest.len()) {
        // Area code, 9, then the eight-digit subscriber number.
        ("55", 11) if rest.as_bytes()[2] == b'9' && is_mobile_start(rest.as_bytes()[3]) => {
            Some(format!("55{}{}", &rest[..2], &rest[3..]))
        }
        ("55", 10) if is_mobile_start(rest.as_bytes()[2]) => {
            Some(format!("55{}9{}", &rest[..2], &rest[2..]))
        }
        ("52", 11) if rest.starts_with('1') => Some(format!("52{}", &rest[1..])),
        ("52", 10) => Some(format!("521{rest}")),
        ("54", 11) if rest.starts_with('9') => Some(format!("54{}", &rest[1..])),
        ("54", 10) if !rest.starts_with('9') => Some(format!("549{rest}")),
        _ => None,
    }
}

/// Tells whether a Brazilian subscriber number starting with `digit` is a
/// mobile number: those start with 6 to 9, landlines with 2 to 5.
fn is_mobile_start(digit: u8) -> bool {
    (b'6'..=b'9').contains(&digit)
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo::MAX_ECHOED_CHARS;

    #[test]
    fn mobile_numbers_have_other_forms() {
        let cases = [
            ("5511987654321", Some("551187654321")),
            ("5511912345678", None),
            ("551187654321", Some("5511987654321")),
            ("551132345678", None),
            ("5215512345678", Some("525512345678")),
            ("525512345678", Some("5215512345678")),
            ("5491123456789", Some("541123456789")),
            ("541123456789", Some("5491123456789")),
            ("4930123456", None),
            ("15550001111", None),
        ];
        for (digits, other) in cases {
            let phone = PhoneNumber::parse(digits).unwrap();
            let mut expected = vec![digits.to_owned()];
            expected.extend(other.map(str::to_owned));
            assert_eq!(phone.wa_id_forms(), expected, "{digits}");
            if let Some(other) = other {
                assert!(same_subscriber(digits, other), "{digits}");
                assert!(same_subscriber(other, digits), "{digits}");
            }
        }
        assert!(!same_subscriber("551132345678", "5511932345678"));
        assert!(!same_subscriber("4930123456", "49301234567"));
    }

    #[test]
    fn parse_accepts_typed_forms() {
        let cases = [
            ("+49 30 1234567", "49301234567"),
            ("4930 1234567", "49301234567"),
            ("+4930-1234567", "49301234567"),
            ("004930 1234567", "49301234567"),
            ("+1 (555) 000-1111", "15550001111"),
            ("15550001111", "15550001111"),
            ("1.555.000.1111", "15550001111"),
            ("+49 (0) 30 1234567", "49301234567"),
            ("0049 (0)30 1234567", "49301234567"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().digits(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert!(matches!(
            PhoneNumber::parse("+1 555 CALL NOW"),
            Err(PhoneError::InvalidCharacter { bad: 'C', .. })
        ));
        assert!(matches!(
            PhoneNumber::parse("12345"),
            Err(PhoneError::WrongLength { .. })
        ));
        assert!(matches!(
            PhoneNumber::parse("1234567890123456"),
            Err(PhoneError::WrongLength { .. })
        ));
        assert!(matches!(
            PhoneNumber::parse("030 1234567"),
            Err(PhoneError::LeadingZero { .. })
        ));
        assert!(matches!(
            PhoneNumber::parse(""),
            Err(PhoneError::WrongLength { .. })
        ));
    }

    #[test]
    fn error_cuts_long_input() {
        let huge = "1".repeat(1_000_000);
        let message = PhoneNumber::parse(&huge).unwrap_err().to_string();
        let shown = format!("\"{}…\"", "1".repeat(MAX_ECHOED_CHARS - 1));
        assert!(message.contains(&shown), "{message}");
        assert!(message.len() < 300, "{} bytes", message.len());
        assert!(message.contains("this has 1000000"), "{message}");
        assert!(message.contains("include the country code"), "{message}");

        let letters = format!("+1 555 {}", "é".repeat(100));
        let error = PhoneNumber::parse(&letters).unwrap_err();
        // "+1 555 " is 7 characters; the rest of the echo is accents.
        let expected_input = format!("+1 555 {}…", "é".repeat(MAX_ECHOED_CHARS - 8));
        assert_eq!(
            error,
            PhoneError::InvalidCharacter {
                input: expected_input,
                bad: 'é'
            }
        );
    }

    #[test]
    fn error_keeps_short_input_whole() {
        let input = "+1 555 CALL NOW";
        let message = PhoneNumber::parse(input).unwrap_err().to_string();
        assert!(message.contains("\"+1 555 CALL NOW\""), "{message}");
        assert!(!message.contains('…'), "{message}");
        let exact = "a".repeat(MAX_ECHOED_CHARS);
        let message = PhoneNumber::parse(&exact).unwrap_err().to_string();
        assert!(message.contains(&format!("\"{exact}\"")), "{message}");
    }

    #[test]
    fn error_escapes_input_once() {
        let cases = [
            ("a\0b", r#""a\0b""#),
            ("line\nbreak", r#""line\nbreak""#),
            ("\u{202e}1555", r#""\u{202e}1555""#),
            ("zw\u{200d}j", "\"zw\u{200d}j\""),
            (r"back\slash", r#""back\slash""#),
        ];
        for (input, shown) in cases {
            let message = PhoneNumber::parse(input).unwrap_err().to_string();
            assert!(message.contains(shown), "{input:?}: {message}");
        }
        let message = PhoneNumber::parse("(0)").unwrap_err().to_string();
        assert!(
            message.starts_with("invalid phone number \"(0)\""),
            "{message}"
        );
        let message = PhoneNumber::parse("0\n301234567").unwrap_err().to_string();
        assert!(message.contains(r#""0\n301234567""#), "{message}");
    }

    #[test]
    fn display_adds_plus() {
        assert_eq!(
            PhoneNumber::parse("15550001111").unwrap().to_string(),
            "+15550001111"
        );
    }

    #[test]
    fn wa_id_only_as_meta_sends_it() {
        let phone = PhoneNumber::from_wa_id("15550002222").expect("digits of a phone number");
        assert_eq!(phone.e164(), "+15550002222");
        for wa_id in [
            "+15550002222",
            "0015550002222",
            "1555 000 2222",
            "1234567",
            "1234567890123456",
            "abc",
            "",
        ] {
            assert!(PhoneNumber::from_wa_id(wa_id).is_none(), "{wa_id:?}");
        }
    }
}
