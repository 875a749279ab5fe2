//! Parser of numeric settings whose errors name the value's source: the
//! `PONS_*` variable when the value came from the environment, the flag
//! when it came from the command line. Clap's own number parser names the
//! flag in both cases and gives no accepted range.

use std::ffi::OsStr;
use std::marker::PhantomData;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;

use crate::config::{NumberRange, ValueOrigin};

/// Parses a whole number in the range that [`NumberRange::of`] returns
/// for the argument's environment variable.
#[derive(Clone, Debug)]
pub struct SettingNumber<T>(PhantomData<T>);

impl<T> SettingNumber<T> {
    pub fn new() -> SettingNumber<T> {
        SettingNumber(PhantomData)
    }
}

impl<T> Default for SettingNumber<T> {
    fn default() -> SettingNumber<T> {
        SettingNumber::new()
    }
}

impl<T> TypedValueParser for SettingNumber<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        self.parse_ref_(command, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<T, clap::Error> {
        let variable = env_variable(arg);
        let Some(range) = NumberRange::of(variable) else {
            unreachable!("SettingNumber is used on {variable:?}, which has no number range");
        };
        let text = value.to_string_lossy();
        if let Some(number) = range.parse(&text).and_then(|n| T::try_from(n).ok()) {
            return Ok(number);
        }
        let origin = ValueOrigin::of_command_line(source);
        let quoted_value = format!("\"{}\"", crate::echo::echoed(&text));
        Err(invalid_value(
            command,
            &range.rejection(&quoted_value, origin),
        ))
    }
}

/// Returns the name of the argument's `PONS_*` variable, or "" when it has
/// none.
pub(super) fn env_variable(arg: Option<&clap::Arg>) -> &str {
    arg.and_then(|arg| arg.get_env())
        .and_then(|variable| variable.to_str())
        .unwrap_or_default()
}

/// Builds clap's error for an invalid value with Pons's own `message`.
pub(super) fn invalid_value(command: &clap::Command, message: &str) -> clap::Error {
    clap::Error::raw(ErrorKind::ValueValidation, format!("{message}\n")).with_cmd(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `value` for the `pons serve` argument `id`, as if it came
    /// from `source`, and returns the error message.
    fn rejection(id: &str, value: &str, source: ValueSource) -> String {
        let mut command = crate::cli::command();
        command.build();
        let serve = command.find_subcommand("serve").expect("serve command");
        let arg = serve
            .get_arguments()
            .find(|arg| arg.get_id() == id)
            .expect("argument");
        let error = SettingNumber::<u64>::new()
            .parse_ref_(serve, Some(arg), OsStr::new(value), source)
            .expect_err("invalid value");
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        error.to_string()
    }

    #[test]
    fn environment_errors_name_the_variable() {
        let message = rejection("graph_timeout_seconds", "80x", ValueSource::EnvVariable);
        assert!(message.contains("\"80x\""), "{message}");
        assert!(
            message.contains("environment variable PONS_GRAPH_TIMEOUT_SECONDS"),
            "{message}"
        );
        assert!(message.contains("from 1 to 300"), "{message}");
        assert!(message.contains("or unset it"), "{message}");
        assert!(!message.contains("--graph-timeout-seconds"), "{message}");
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let message = rejection("job_workers", "65", ValueSource::CommandLine);
        assert!(message.contains("\"65\" of --job-workers"), "{message}");
        assert!(message.contains("from 0 to 64"), "{message}");
    }

    #[test]
    fn values_over_the_type_are_rejected() {
        let command = crate::cli::command();
        let error = command
            .try_get_matches_from(["pons", "serve", "--tool-rate-per-minute", "4294967296"])
            .expect_err("larger than u32");
        let message = error.to_string();
        assert!(message.contains("--tool-rate-per-minute"), "{message}");
        assert!(message.contains("from 0 to 4294967295"), "{message}");
    }
}
