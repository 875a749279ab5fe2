//! The TOML configuration file and its keys. A key with the wrong type or
//! a number out of range gets an error that names the file, the key, the
//! value and the accepted values. Relative paths in the file are resolved
//! against the file's folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_path_to_error::Segment;

use super::{ConfigError, NumberRange, ValueOrigin};

/// Keys accepted in the TOML file, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSettings {
    pub(super) bind: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) database_url: Option<String>,
    pub(super) encryption_key_file: Option<PathBuf>,
    pub(super) graph_api_url: Option<String>,
    pub(super) graph_timeout_seconds: Option<u64>,
    pub(super) read_timeout_seconds: Option<u64>,
    pub(super) tool_rate_per_minute: Option<u32>,
    pub(super) log_format: Option<String>,
    pub(super) allowed_hosts: Option<Vec<String>>,
    pub(super) allowed_origins: Option<Vec<String>>,
    pub(super) webhook_max_body_bytes: Option<usize>,
    pub(super) webhook_max_in_flight_bytes: Option<usize>,
    pub(super) shutdown_grace_seconds: Option<u64>,
    pub(super) job_workers: Option<usize>,
    pub(super) job_poll_interval_seconds: Option<u64>,
    pub(super) job_lease_seconds: Option<u64>,
    pub(super) media_max_bytes: Option<u64>,
    pub(super) template_sync_interval_seconds: Option<u64>,
}

/// Maximum size of a configuration file. Pons has about twenty settings, so
/// a larger file is the wrong file (a log, a device such as `/dev/zero`)
/// and is not read into memory whole.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads the configuration file at `path`, up to [`MAX_FILE_BYTES`].
fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_error = |error| ConfigError::Read {
        path: path.display().to_string(),
        error,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::Parse {
            path: path.display().to_string(),
            message: format!(
                "the file is larger than {MAX_FILE_BYTES} bytes, which no Pons configuration \
                 needs; check that --config or PONS_CONFIG names the TOML file"
            ),
        });
    }
    String::from_utf8(bytes).map_err(|error| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                error.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// Reads and checks the configuration file at `path`.
pub(super) fn read(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = read_text(path)?;
    let table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| ConfigError::Parse {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
    for (key, value) in &table {
        if let Some(range) = NumberRange::of_key(key) {
            check_number(path, key, value, range)?;
        }
    }
    let mut settings: FileSettings =
        serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|err| {
            let key = match err.path().iter().next() {
                Some(Segment::Map { key }) => key.clone(),
                _ => String::new(),
            };
            match (table.get(&key), accepted_form(&key)) {
                (Some(value), Some(accepted)) => rejected_key(path, &key, value, accepted),
                // An unknown key, whose message lists the known ones.
                _ => ConfigError::Parse {
                    path: path.display().to_string(),
                    message: err.into_inner().to_string(),
                },
            }
        })?;
    settings.resolve_paths(path.parent().unwrap_or(Path::new("")));
    Ok(settings)
}

impl FileSettings {
    /// Resolves the relative paths of the file against `folder`, the
    /// file's folder, so that the file means the same from any working
    /// directory. The path of a `sqlite:` database URL counts as a path.
    fn resolve_paths(&mut self, folder: &Path) {
        if let Some(data_dir) = &mut self.data_dir {
            *data_dir = folder.join(&*data_dir);
        }
        if let Some(key_file) = &mut self.encryption_key_file {
            *key_file = folder.join(&*key_file);
        }
        let Some(url) = &mut self.database_url else {
            return;
        };
        if crate::store::is_postgres_url(url) {
            return;
        }
        // An invalid URL is left as written, for the error of
        // `Settings::load`.
        if let Ok(database) = crate::store::sqlite::path_from_url(url)
            && database.is_relative()
        {
            *url = format!("sqlite://{}", folder.join(database).display());
        }
    }
}

/// Checks that the value of the numeric key `key` is an integer in `range`.
fn check_number(
    path: &Path,
    key: &str,
    value: &toml::Value,
    range: &NumberRange,
) -> Result<(), ConfigError> {
    let number = value
        .as_integer()
        .and_then(|number| u64::try_from(number).ok());
    if number.is_some_and(|number| range.contains(number)) {
        return Ok(());
    }
    Err(rejected_key(path, key, value, &range.accepted()))
}

/// Builds the error for the value `value` of the key `key` in the file at
/// `path`. `accepted` describes the accepted values.
fn rejected_key(path: &Path, key: &str, value: &toml::Value, accepted: &str) -> ConfigError {
    ConfigError::Rejected {
        setting: format!("PONS_{}", key.to_ascii_uppercase()),
        origin: ValueOrigin::File(path.to_owned()),
        value: crate::echo::echoed(&value.to_string()),
        accepted: accepted.to_owned(),
    }
}

/// Describes the accepted values of the key `key`, or returns `None` for
/// a numeric or unknown key.
fn accepted_form(key: &str) -> Option<&'static str> {
    let form = match key {
        "bind" => "a string ADDRESS:PORT, such as \"127.0.0.1:3000\"",
        "public_url" | "graph_api_url" => {
            "a string with an http:// or https:// URL, such as \"https://pons.example.com\""
        }
        "data_dir" | "encryption_key_file" => "a string with a path",
        "database_url" => "a string sqlite://PATH or postgres://USER@HOST/DB",
        "log_format" => "the string \"text\" or \"json\"",
        "allowed_hosts" => "an array of strings, such as [\"pons.internal:8443\"]",
        "allowed_origins" => "an array of strings, such as [\"https://app.example.com\"]",
        _ => return None,
    };
    Some(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a configuration file with the content `text` and returns the
    /// error message.
    fn rejection(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        std::fs::write(&path, text).unwrap();
        let message = read(&path).unwrap_err().to_string();
        let file = format!("configuration file {}", path.display());
        assert!(message.contains(&file), "{message}");
        message
    }

    #[test]
    fn oversized_file_rejected() {
        let comment = "#".repeat(1024 * 1024 + 1);

        let message = rejection(&comment);

        assert!(message.contains("larger than 1048576 bytes"), "{message}");
    }

    #[test]
    fn device_file_rejected() {
        let message = read(Path::new("/dev/zero")).unwrap_err().to_string();

        assert!(message.contains("larger than 1048576 bytes"), "{message}");
    }

    #[test]
    fn string_for_number_names_range() {
        let message = rejection("graph_timeout_seconds = \"15\"\n");
        assert!(
            message.contains("invalid value \"15\" of `graph_timeout_seconds`"),
            "{message}"
        );
        assert!(message.contains("from 1 to 300"), "{message}");
    }

    #[test]
    fn number_out_of_range_names_range() {
        for (text, value, accepted) in [
            ("job_workers = 65\n", "65", "from 0 to 64"),
            ("tool_rate_per_minute = -1\n", "-1", "from 0 to 4294967295"),
            (
                "tool_rate_per_minute = 4294967296\n",
                "4294967296",
                "from 0 to 4294967295",
            ),
            ("job_lease_seconds = 1.5\n", "1.5", "from 60 to 86400"),
        ] {
            let message = rejection(text);
            assert!(
                message.contains(&format!("invalid value {value} of")),
                "{message}"
            );
            assert!(message.contains(accepted), "{message}");
        }
    }

    #[test]
    fn wrong_type_names_form() {
        let message = rejection("allowed_hosts = \"pons.internal\"\n");
        assert!(
            message.contains("invalid value \"pons.internal\" of `allowed_hosts`"),
            "{message}"
        );
        assert!(message.contains("an array of strings"), "{message}");

        let message = rejection("bind = 3000\n");
        assert!(
            message.contains("invalid value 3000 of `bind`"),
            "{message}"
        );
        assert!(message.contains("ADDRESS:PORT"), "{message}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("etc");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("pons.toml");
        let text = "data_dir = \"data\"\n\
                    encryption_key_file = \"keys/encryption.key\"\n\
                    database_url = \"sqlite://db/pons.db\"\n";
        std::fs::write(&path, text).unwrap();

        let settings = read(&path).unwrap();
        assert_eq!(settings.data_dir, Some(folder.join("data")));
        assert_eq!(
            settings.encryption_key_file,
            Some(folder.join("keys/encryption.key"))
        );
        let database = format!("sqlite://{}", folder.join("db/pons.db").display());
        assert_eq!(settings.database_url, Some(database));
    }

    #[test]
    fn absolute_paths_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        let text = "data_dir = \"/var/lib/pons\"\n\
                    encryption_key_file = \"/etc/pons/encryption.key\"\n\
                    database_url = \"postgres://pons@db.internal/pons\"\n";
        std::fs::write(&path, text).unwrap();

        let settings = read(&path).unwrap();
        assert_eq!(settings.data_dir, Some(PathBuf::from("/var/lib/pons")));
        assert_eq!(
            settings.encryption_key_file,
            Some(PathBuf::from("/etc/pons/encryption.key"))
        );
        assert_eq!(
            settings.database_url.as_deref(),
            Some("postgres://pons@db.internal/pons")
        );
    }

    #[test]
    fn every_key_has_a_form() {
        let keys = [
            "bind",
            "public_url",
            "data_dir",
            "database_url",
            "encryption_key_file",
            "graph_api_url",
            "graph_timeout_seconds",
            "read_timeout_seconds",
            "tool_rate_per_minute",
            "log_format",
            "allowed_hosts",
            "allowed_origins",
            "webhook_max_body_bytes",
            "webhook_max_in_flight_bytes",
            "shutdown_grace_seconds",
            "job_workers",
            "job_poll_interval_seconds",
            "job_lease_seconds",
            "media_max_bytes",
            "template_sync_interval_seconds",
        ];
        for key in keys {
            let known = accepted_form(key).is_some() || NumberRange::of_key(key).is_some();
            assert!(known, "{key} has no accepted form");
            let message = rejection(&format!("{key} = {{ }}\n"));
            assert!(message.contains(&format!("`{key}`")), "{message}");
        }
    }
}
