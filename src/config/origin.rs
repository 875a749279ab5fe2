//! Sources of setting values. An error about a value names the one source
//! that set it: its flag, its `PONS_*` variable or its key in the
//! configuration file.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;

use super::{setting_flag, setting_key, setting_sources};

/// Source of a setting's value other than its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOrigin {
    Flag,
    Environment,
    /// The configuration file at this path.
    File(PathBuf),
}

impl ValueOrigin {
    /// Returns the origin of a value that the command line parser took
    /// from `source`: the `PONS_*` variable, or else the flag.
    pub fn of_command_line(source: ValueSource) -> ValueOrigin {
        match source {
            ValueSource::EnvVariable => ValueOrigin::Environment,
            _ => ValueOrigin::Flag,
        }
    }

    /// Names the setting whose environment variable is `variable` as this
    /// origin sets it: `--bind`, `the environment variable PONS_BIND` or
    /// `` `bind` in the configuration file PATH``.
    pub fn setting_name(&self, variable: &str) -> String {
        match self {
            ValueOrigin::Flag => format!("--{}", setting_flag(variable)),
            ValueOrigin::Environment => format!("the environment variable {variable}"),
            ValueOrigin::File(path) => format!(
                "`{}` in the configuration file {}",
                setting_key(variable),
                path.display()
            ),
        }
    }

    /// Builds the message for the rejected value `quoted_value` of the
    /// setting whose environment variable is `variable`. `accepted`
    /// describes the accepted values, such as "text or json".
    pub fn rejection(&self, variable: &str, quoted_value: &str, accepted: &str) -> String {
        let setting = self.setting_name(variable);
        match self {
            ValueOrigin::Environment => format!(
                "invalid value {quoted_value} of {setting}: set it to {accepted}, or unset it \
                 for the default"
            ),
            ValueOrigin::Flag | ValueOrigin::File(_) => {
                format!("invalid value {quoted_value} of {setting}: use {accepted}")
            }
        }
    }
}

/// A string or path setting's value with the source it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingValue<T> {
    pub value: T,
    pub origin: ValueOrigin,
}

impl<T> SettingValue<T> {
    pub fn new(value: impl Into<T>, origin: ValueOrigin) -> SettingValue<T> {
        SettingValue {
            value: value.into(),
            origin,
        }
    }
}

impl std::ops::Deref for SettingValue<String> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.value
    }
}

impl std::ops::Deref for SettingValue<PathBuf> {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.value
    }
}

/// The encryption key file and the way its path was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    pub path: PathBuf,
    pub chosen_by: KeyFileChoice,
}

/// The way the encryption key file's path was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFileChoice {
    /// A setting set the path.
    Setting(ValueOrigin),
    /// No setting set it, so it is `encryption.key` in the data directory.
    Default,
    /// `pons demo` uses `encryption.key` in its data directory and ignores
    /// the key file settings.
    Demo,
}

impl KeyFile {
    pub fn new(path: impl Into<PathBuf>, chosen_by: KeyFileChoice) -> KeyFile {
        KeyFile {
            path: path.into(),
            chosen_by,
        }
    }

    pub fn display(&self) -> std::path::Display<'_> {
        self.path.display()
    }

    /// Tells the user how to use another key file in place of this one,
    /// for the end of an error: "point --encryption-key-file at it" when a
    /// setting chose the path. For the default path, it names the data
    /// directory's settings and the key file's.
    pub fn point_at_it(&self) -> String {
        const VARIABLE: &str = "PONS_ENCRYPTION_KEY_FILE";
        let name = crate::crypto::KEY_FILE_NAME;
        match &self.chosen_by {
            KeyFileChoice::Setting(origin) => {
                format!("point {} at it", origin.setting_name(VARIABLE))
            }
            KeyFileChoice::Default => format!(
                "point the data directory ({}) at the folder that holds it as {name}, or point \
                 {} at it, because this path is the default key file in the data directory",
                setting_sources("PONS_DATA_DIR"),
                setting_sources(VARIABLE)
            ),
            KeyFileChoice::Demo => format!(
                "point --data-dir or PONS_DATA_DIR at the demo's data directory that holds it \
                 as {name}, because the demo always uses the key file in its data directory"
            ),
        }
    }
}

impl KeyFile {
    /// Says which setting chose this path, as a sentence to end an error
    /// about the file itself: "This path comes from --encryption-key-file.",
    /// or that it is the default key file in the data directory.
    pub fn chosen_by_note(&self) -> String {
        const VARIABLE: &str = "PONS_ENCRYPTION_KEY_FILE";
        match &self.chosen_by {
            KeyFileChoice::Setting(origin) => {
                format!("This path comes from {}.", origin.setting_name(VARIABLE))
            }
            KeyFileChoice::Default => format!(
                "This path is the default key file in the data directory, because none of {} is \
                 set.",
                setting_sources(VARIABLE)
            ),
            KeyFileChoice::Demo => {
                "The demo always uses the key file in its data directory.".to_owned()
            }
        }
    }
}

impl AsRef<Path> for KeyFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Counts the sources of the setting `variable` that `message` names: its
/// flag, the variable and its configuration file key.
#[cfg(test)]
pub(crate) fn sources_named(message: &str, variable: &str) -> usize {
    let key = variable.trim_start_matches("PONS_").to_ascii_lowercase();
    let flag = format!("--{}", key.replace('_', "-"));
    let key = format!("`{key}`");
    [flag.as_str(), variable, key.as_str()]
        .iter()
        .filter(|source| message.contains(*source))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_name_per_origin() {
        let file = ValueOrigin::File(PathBuf::from("/etc/pons.toml"));
        assert_eq!(ValueOrigin::Flag.setting_name("PONS_BIND"), "--bind");
        assert_eq!(
            ValueOrigin::Environment.setting_name("PONS_BIND"),
            "the environment variable PONS_BIND"
        );
        assert_eq!(
            file.setting_name("PONS_LOG_FORMAT"),
            "`log_format` in the configuration file /etc/pons.toml"
        );
    }

    #[test]
    fn key_file_advice_per_origin() {
        let cases = [
            (ValueOrigin::Flag, "point --encryption-key-file at it"),
            (
                ValueOrigin::Environment,
                "point the environment variable PONS_ENCRYPTION_KEY_FILE at it",
            ),
            (
                ValueOrigin::File(PathBuf::from("/etc/pons.toml")),
                "point `encryption_key_file` in the configuration file /etc/pons.toml at it",
            ),
        ];
        for (origin, expected) in cases {
            let key_file = KeyFile::new("/keys/pons.key", KeyFileChoice::Setting(origin));
            assert_eq!(key_file.point_at_it(), expected);
        }

        let default = KeyFile::new("pons-data/encryption.key", KeyFileChoice::Default);
        let default = default.point_at_it();
        assert!(
            default.contains("--data-dir, PONS_DATA_DIR or `data_dir`"),
            "{default}"
        );
        assert!(
            default.contains(
                "--encryption-key-file, PONS_ENCRYPTION_KEY_FILE or `encryption_key_file`"
            ),
            "{default}"
        );
        assert!(default.contains("default key file"), "{default}");

        let demo = KeyFile::new("pons-demo-data/encryption.key", KeyFileChoice::Demo);
        let demo = demo.point_at_it();
        assert!(demo.contains("--data-dir or PONS_DATA_DIR"), "{demo}");
        assert!(!demo.contains("PONS_ENCRYPTION_KEY_FILE"), "{demo}");
    }
}
