//! The webhook body limit and the in-flight limit, which must leave room
//! for one body of the largest accepted size. An error names the one
//! source that set each value it is about.

use super::{
    ConfigError, DEFAULT_WEBHOOK_MAX_BODY_BYTES, DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES, NumberRange,
    SettingValue, ValueOrigin, setting_sources,
};

const BODY: &str = "PONS_WEBHOOK_MAX_BODY_BYTES";
const IN_FLIGHT: &str = "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES";

/// The merged webhook byte limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WebhookLimits {
    pub(super) max_body_bytes: usize,
    pub(super) max_in_flight_bytes: usize,
}

/// Checks the values that settings set for the body limit (`body`) and
/// the in-flight limit (`in_flight`), and returns them with the defaults
/// in place of unset ones.
pub(super) fn check(
    body: Option<&SettingValue<usize>>,
    in_flight: Option<&SettingValue<usize>>,
) -> Result<WebhookLimits, ConfigError> {
    for (variable, set) in [(BODY, body), (IN_FLIGHT, in_flight)] {
        if let Some(set) = set {
            check_range(variable, set)?;
        }
    }
    let limits = WebhookLimits {
        max_body_bytes: body.map_or(DEFAULT_WEBHOOK_MAX_BODY_BYTES, |set| set.value),
        max_in_flight_bytes: in_flight.map_or(DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES, |set| set.value),
    };
    if limits.max_in_flight_bytes >= limits.max_body_bytes {
        return Ok(limits);
    }
    let message = match (in_flight, body) {
        (Some(in_flight), _) => in_flight_too_low(in_flight, body, limits.max_body_bytes),
        (None, Some(body)) => body_too_high(body),
        (None, None) => unreachable!("the default in-flight limit holds a default body"),
    };
    Err(ConfigError::Conflicting { message })
}

/// Checks a value against its setting's range, naming the value's source.
fn check_range(variable: &str, set: &SettingValue<usize>) -> Result<(), ConfigError> {
    let Some(range) = NumberRange::of(variable) else {
        unreachable!("{variable} has no number range");
    };
    if range.contains(set.value as u64) {
        return Ok(());
    }
    Err(ConfigError::Rejected {
        setting: variable.to_owned(),
        origin: set.origin.clone(),
        value: quoted(set),
        accepted: range.accepted(),
    })
}

/// Builds the message for an in-flight limit that a setting set below the
/// body limit `max_body_bytes`, which `body` set or which is the default.
fn in_flight_too_low(
    in_flight: &SettingValue<usize>,
    body: Option<&SettingValue<usize>>,
    max_body_bytes: usize,
) -> String {
    let (body_limit, lower_it) = match body {
        Some(body) => (
            format!(
                "the webhook body limit of {max_body_bytes} bytes that {} sets",
                body.origin.setting_name(BODY)
            ),
            "lower that limit".to_owned(),
        ),
        None => (
            format!("the default webhook body limit of {max_body_bytes} bytes"),
            format!("set a lower body limit with {}", setting_sources(BODY)),
        ),
    };
    format!(
        "invalid value {} of {}: it is below {body_limit}, so a body of that size would never \
         fit. Use at least {max_body_bytes}, or {lower_it}",
        quoted(in_flight),
        in_flight.origin.setting_name(IN_FLIGHT)
    )
}

/// Builds the message for a body limit that a setting set above the
/// default in-flight limit.
fn body_too_high(body: &SettingValue<usize>) -> String {
    let in_flight = DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES;
    format!(
        "invalid value {} of {}: it is above the default in-flight limit of {in_flight} bytes, \
         so a body of that size would never fit. Use at most {in_flight}, or set a higher \
         in-flight limit with {}",
        quoted(body),
        body.origin.setting_name(BODY),
        setting_sources(IN_FLIGHT)
    )
}

/// Quotes a number as its source writes it: in quotes for a flag or a
/// variable, bare for a TOML key.
fn quoted(set: &SettingValue<usize>) -> String {
    match set.origin {
        ValueOrigin::File(_) => set.value.to_string(),
        ValueOrigin::Flag | ValueOrigin::Environment => format!("\"{}\"", set.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sources_named;
    use std::path::PathBuf;

    fn set(value: usize, origin: ValueOrigin) -> SettingValue<usize> {
        SettingValue::new(value, origin)
    }

    #[test]
    fn unset_limits_are_the_defaults() {
        let limits = check(None, None).unwrap();
        assert_eq!(limits.max_body_bytes, DEFAULT_WEBHOOK_MAX_BODY_BYTES);
        assert_eq!(
            limits.max_in_flight_bytes,
            DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES
        );
    }

    #[test]
    fn equal_limits_pass() {
        let body = set(8192, ValueOrigin::Flag);
        let in_flight = set(8192, ValueOrigin::Environment);
        let limits = check(Some(&body), Some(&in_flight)).unwrap();
        assert_eq!(limits.max_body_bytes, 8192);
        assert_eq!(limits.max_in_flight_bytes, 8192);
    }

    #[test]
    fn low_in_flight_names_both_sources() {
        let body = set(8192, ValueOrigin::Flag);
        let in_flight = set(4096, ValueOrigin::Environment);
        let message = check(Some(&body), Some(&in_flight))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(
                "invalid value \"4096\" of the environment variable \
                 PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES: it is below the webhook body limit of 8192 \
                 bytes that --webhook-max-body-bytes sets"
            ),
            "{message}"
        );
        assert!(message.contains("Use at least 8192"), "{message}");
        assert!(message.contains("lower that limit"), "{message}");
        assert_eq!(sources_named(&message, IN_FLIGHT), 1, "{message}");
        assert_eq!(sources_named(&message, BODY), 1, "{message}");
    }

    #[test]
    fn low_in_flight_from_file_names_key() {
        let config = PathBuf::from("/etc/pons.toml");
        let in_flight = set(2048, ValueOrigin::File(config));
        let message = check(None, Some(&in_flight)).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "invalid value 2048 of `webhook_max_in_flight_bytes` in the configuration file \
                 /etc/pons.toml: it is below the default webhook body limit of 4194304 bytes"
            ),
            "{message}"
        );
        assert_eq!(sources_named(&message, IN_FLIGHT), 1, "{message}");
        // The body limit is unset, so every way to set it is named.
        assert_eq!(sources_named(&message, BODY), 3, "{message}");
    }

    #[test]
    fn high_body_names_its_source() {
        let body = set(100_000_000, ValueOrigin::Flag);
        let message = check(Some(&body), None).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "invalid value \"100000000\" of --webhook-max-body-bytes: it is above the \
                 default in-flight limit of 67108864 bytes"
            ),
            "{message}"
        );
        assert_eq!(sources_named(&message, BODY), 1, "{message}");
        assert_eq!(sources_named(&message, IN_FLIGHT), 3, "{message}");
    }

    #[test]
    fn out_of_range_names_one_source() {
        let in_flight = set(512, ValueOrigin::Flag);
        let message = check(None, Some(&in_flight)).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "invalid value \"512\" of --webhook-max-in-flight-bytes: use a whole number of \
                 bytes from 1024"
            ),
            "{message}"
        );
        assert!(
            !message.contains("`webhook_max_in_flight_bytes`"),
            "{message}"
        );
    }
}
