//! Parser of string, path and some numeric settings that keeps the value's
//! source, so that a later error about the value names the flag or the
//! `PONS_*` variable that set it, the way [`super::setting_number`] does
//! for numbers it rejects.

use std::ffi::OsStr;
use std::path::PathBuf;

use clap::builder::{StringValueParser, TypedValueParser};
use clap::parser::ValueSource;

use super::setting_number::{env_variable, invalid_value};
use crate::config::{SettingValue, ValueOrigin};

/// Parses a value with the parser `P` and keeps the value's source.
#[derive(Clone, Debug)]
pub struct SettingValueParser<P>(P);

impl SettingValueParser<StringValueParser> {
    /// Parses a UTF-8 string.
    pub fn text() -> SettingValueParser<StringValueParser> {
        SettingValueParser(StringValueParser::new())
    }
}

impl SettingValueParser<NonEmptyPath> {
    /// Parses a path that is not empty.
    pub fn path() -> SettingValueParser<NonEmptyPath> {
        SettingValueParser(NonEmptyPath)
    }
}

impl<P> SettingValueParser<P> {
    /// Parses a value with `parser`, such as a [`super::SettingNumber`].
    pub fn new(parser: P) -> SettingValueParser<P> {
        SettingValueParser(parser)
    }
}

/// Parses a path and rejects an empty value, such as `PONS_DATA_DIR=`, with
/// an error that names the flag or the variable that set it. clap's own
/// path parser reports an empty variable as a flag given without a value.
#[derive(Clone, Copy, Debug)]
pub struct NonEmptyPath;

impl TypedValueParser for NonEmptyPath {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<PathBuf, clap::Error> {
        self.parse_ref_(command, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<PathBuf, clap::Error> {
        if value.is_empty() {
            let message = ValueOrigin::of_command_line(source).rejection(
                env_variable(arg),
                "\"\"",
                "a path that is not empty",
            );
            return Err(invalid_value(command, &message));
        }
        let text = value.to_string_lossy();
        if has_outer_whitespace(&text) {
            let message = ValueOrigin::of_command_line(source).rejection(
                env_variable(arg),
                &format!("{text:?}"),
                OUTER_WHITESPACE_FIX,
            );
            return Err(invalid_value(command, &message));
        }
        Ok(PathBuf::from(value))
    }
}

impl<P> TypedValueParser for SettingValueParser<P>
where
    P: TypedValueParser,
    P::Value: Clone + Send + Sync + 'static,
{
    type Value = SettingValue<P::Value>;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.parse_ref_(command, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<Self::Value, clap::Error> {
        let value = self.0.parse_ref_(command, arg, value, source)?;
        Ok(SettingValue {
            value,
            origin: ValueOrigin::of_command_line(source),
        })
    }
}

/// Tells whether `text` starts or ends with whitespace, such as a space or
/// the CR that a file with CRLF line ends leaves in a variable. Such a
/// path is almost always a typo, and it would name another file or folder.
pub fn has_outer_whitespace(text: &str) -> bool {
    text.trim() != text
}

/// The accepted form of a path setting, for the error about a path with
/// whitespace at either end.
pub const OUTER_WHITESPACE_FIX: &str = "a path without whitespace (spaces, tabs, CR or newline) at its start or end; remove it, \
     for example the CR that an environment file with CRLF line ends leaves";

/// A string setting with its source.
pub type SettingText = SettingValue<String>;
/// A path setting with its source.
pub type SettingPath = SettingValue<PathBuf>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_with_outer_whitespace_rejected() {
        let mut command = crate::cli::command();
        command.build();
        for (id, variable) in [
            ("data_dir", "PONS_DATA_DIR"),
            ("config", "PONS_CONFIG"),
            ("encryption_key_file", "PONS_ENCRYPTION_KEY_FILE"),
        ] {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .expect("argument");
            for path in [" sp ", "data\n", "data\r", "\tdata"] {
                let error = NonEmptyPath
                    .parse_ref_(
                        &command,
                        Some(arg),
                        OsStr::new(path),
                        ValueSource::EnvVariable,
                    )
                    .expect_err("path with whitespace");
                let message = error.to_string();
                let expected =
                    format!("invalid value {path:?} of the environment variable {variable}");
                assert!(message.contains(&expected), "{message}");
                assert!(message.contains("without whitespace"), "{message}");
            }
        }
    }

    #[test]
    fn empty_path_names_its_variable() {
        let mut command = crate::cli::command();
        command.build();
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_id() == "data_dir")
            .expect("argument");
        let error = NonEmptyPath
            .parse_ref_(
                &command,
                Some(arg),
                OsStr::new(""),
                ValueSource::EnvVariable,
            )
            .expect_err("empty path");
        let message = error.to_string();
        assert!(
            message.contains("invalid value \"\" of the environment variable PONS_DATA_DIR"),
            "{message}"
        );
        assert!(message.contains("or unset it"), "{message}");
    }

    #[test]
    fn flag_and_variable_are_told_apart() {
        let command = clap::Command::new("pons");
        let parser = SettingValueParser::text();
        let value = OsStr::new("json");

        let from_flag = parser
            .parse_ref_(&command, None, value, ValueSource::CommandLine)
            .unwrap();
        assert_eq!(from_flag, SettingText::new("json", ValueOrigin::Flag));

        let from_variable = parser
            .parse_ref_(&command, None, value, ValueSource::EnvVariable)
            .unwrap();
        assert_eq!(
            from_variable,
            SettingText::new("json", ValueOrigin::Environment)
        );
    }
}
