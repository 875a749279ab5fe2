//! Accepted ranges of the numeric settings. The command line parser checks
//! flags and `PONS_*` variables against them, reading the configuration
//! file checks its keys, so that both errors name the value's source, and
//! [`super::Settings::load`] checks the merged values.

use super::{ConfigError, ValueOrigin, setting_key};

/// Largest webhook byte limit. The in-flight bytes are counted in KiB
/// permits of a semaphore, which takes at most `u32::MAX` of them at once.
pub const MAX_WEBHOOK_BYTES: u64 = u32::MAX as u64 * 1024;

/// The whole numbers that one numeric setting accepts.
#[derive(Debug)]
pub struct NumberRange {
    /// The setting's environment variable, which also names its flag and
    /// its key in the configuration file.
    pub variable: &'static str,
    pub min: u64,
    pub max: u64,
    /// Unit of the value, in plural.
    pub unit: &'static str,
    /// Meaning of special values or advice, appended to the range.
    pub note: &'static str,
}

/// Every numeric setting with a flag, variable and file key.
const NUMBER_RANGES: [NumberRange; 11] = [
    NumberRange {
        variable: "PONS_GRAPH_TIMEOUT_SECONDS",
        min: 1,
        max: 300,
        unit: "seconds",
        note: "",
    },
    NumberRange {
        variable: "PONS_READ_TIMEOUT_SECONDS",
        min: 1,
        max: 3600,
        unit: "seconds",
        note: "",
    },
    NumberRange {
        variable: "PONS_TOOL_RATE_PER_MINUTE",
        min: 0,
        max: u32::MAX as u64,
        unit: "calls",
        note: " (0 disables the limit)",
    },
    NumberRange {
        variable: "PONS_WEBHOOK_MAX_BODY_BYTES",
        min: 1024,
        max: MAX_WEBHOOK_BYTES,
        unit: "bytes",
        note: ", and more than 3 MB (Meta's largest webhook bodies) unless a proxy in front \
               of Pons limits them already",
    },
    NumberRange {
        variable: "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES",
        min: 1024,
        max: MAX_WEBHOOK_BYTES,
        unit: "bytes",
        note: ", and at least PONS_WEBHOOK_MAX_BODY_BYTES (4194304 unless set)",
    },
    NumberRange {
        variable: "PONS_SHUTDOWN_GRACE_SECONDS",
        min: 0,
        max: u64::MAX,
        unit: "seconds",
        note: "",
    },
    NumberRange {
        variable: "PONS_JOB_WORKERS",
        min: 0,
        max: 64,
        unit: "workers",
        note: " (0 runs none)",
    },
    NumberRange {
        variable: "PONS_JOB_POLL_INTERVAL_SECONDS",
        min: 1,
        max: 3600,
        unit: "seconds",
        note: "",
    },
    NumberRange {
        variable: "PONS_JOB_LEASE_SECONDS",
        min: 60,
        max: 86_400,
        unit: "seconds",
        note: "",
    },
    NumberRange {
        variable: "PONS_MEDIA_MAX_BYTES",
        min: 1,
        max: u64::MAX,
        unit: "bytes",
        note: ", for example 104857600 for 100 MiB",
    },
    NumberRange {
        variable: "PONS_TEMPLATE_SYNC_INTERVAL_SECONDS",
        min: 0,
        // A year. Much longer intervals overflow the timer's clock.
        max: 31_536_000,
        unit: "seconds",
        note: " (0 disables the periodic sync)",
    },
];

impl NumberRange {
    /// Returns the range of the setting whose variable is `variable`, or
    /// `None` for a setting that is not a number.
    pub fn of(variable: &str) -> Option<&'static NumberRange> {
        NUMBER_RANGES
            .iter()
            .find(|range| range.variable == variable)
    }

    /// Returns the range of the setting whose configuration file key is
    /// `key`.
    pub(super) fn of_key(key: &str) -> Option<&'static NumberRange> {
        NUMBER_RANGES
            .iter()
            .find(|range| setting_key(range.variable) == key)
    }

    /// Describes the accepted values, such as "a whole number of seconds
    /// from 1 to 300".
    pub fn accepted(&self) -> String {
        format!(
            "a whole number of {} from {} to {}{}",
            self.unit, self.min, self.max, self.note
        )
    }

    pub fn contains(&self, value: u64) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// Parses `text` as a decimal number in the range.
    pub fn parse(&self, text: &str) -> Option<u64> {
        text.parse::<u64>()
            .ok()
            .filter(|&value| self.contains(value))
    }

    /// Builds the message for the rejected value `quoted_value`, which came
    /// from `origin`.
    pub fn rejection(&self, quoted_value: &str, origin: ValueOrigin) -> String {
        origin.rejection(self.variable, quoted_value, &self.accepted())
    }

    /// Checks a merged value, whose source is unknown here, so the error
    /// names every source of the setting.
    pub(super) fn check(&self, value: u64) -> Result<(), ConfigError> {
        if self.contains(value) {
            return Ok(());
        }
        Err(ConfigError::OutOfRange {
            setting: self.variable,
            value: value.to_string(),
            accepted: self.accepted(),
        })
    }
}

/// Checks the merged value of the numeric setting `variable`.
pub(super) fn check(variable: &'static str, value: u64) -> Result<(), ConfigError> {
    match NumberRange::of(variable) {
        Some(range) => range.check(value),
        None => unreachable!("{variable} has no entry in NUMBER_RANGES"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_names_origin_and_range() {
        let range = NumberRange::of("PONS_GRAPH_TIMEOUT_SECONDS").unwrap();
        let from_flag = range.rejection("\"80x\"", ValueOrigin::Flag);
        assert_eq!(
            from_flag,
            "invalid value \"80x\" of --graph-timeout-seconds: use a whole number of seconds \
             from 1 to 300"
        );
        let from_environment = range.rejection("\"80x\"", ValueOrigin::Environment);
        assert!(
            from_environment.contains("environment variable PONS_GRAPH_TIMEOUT_SECONDS"),
            "{from_environment}"
        );
        assert!(
            from_environment.contains("from 1 to 300"),
            "{from_environment}"
        );
        assert!(
            !from_environment.contains("--graph-timeout-seconds"),
            "{from_environment}"
        );
    }

    #[test]
    fn ranges_are_not_empty() {
        for range in &NUMBER_RANGES {
            assert!(range.min <= range.max, "{}", range.variable);
        }
    }
}
