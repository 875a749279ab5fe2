//! Typed configuration, layered: defaults, then the TOML file, then `PONS_*`
//! environment variables and flags (clap merges those two, flags first).
//! Everything is validated here, with errors that name the setting. The
//! command line parser also checks numbers, and keeps the source of string
//! and path settings and of the webhook byte limits, so that an error names
//! the one flag, variable or file key that set the value.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::cli::{CommonArgs, JobArgs, ServeArgs};
use file::FileSettings;
use strings::{
    check_allowed_hosts, check_allowed_origins, check_database_url, first_set, first_set_list,
    parse_bind, parse_log_format, validate_url,
};

mod file;
mod jobs;
mod numbers;
mod origin;
mod strings;
mod webhook_limits;

pub use jobs::{DEFAULT_MEDIA_MAX_BYTES, JobSettings};
pub use numbers::NumberRange;
#[cfg(test)]
pub(crate) use origin::sources_named;
pub use origin::{KeyFile, KeyFileChoice, SettingValue, ValueOrigin};

pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./pons-data";
pub const DEFAULT_GRAPH_API_URL: &str = "https://graph.facebook.com/v25.0";
/// Meta documents webhook bodies of up to 3 MB; the default leaves room
/// above that.
pub const DEFAULT_WEBHOOK_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Room for sixteen bodies of the default maximum size at once.
pub const DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_GRAPH_TIMEOUT_SECONDS: u64 = 15;
/// Default seconds open requests get to finish after SIGINT or SIGTERM,
/// long enough for a send that waits the whole default Graph API timeout.
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = DEFAULT_GRAPH_TIMEOUT_SECONDS + 5;
pub const DEFAULT_READ_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_TOOL_RATE_PER_MINUTE: u32 = 120;

/// A setting that failed validation.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The I/O error is part of the message and not a `source()`, so that
    /// a report of the whole error chain names it once.
    #[error("cannot read configuration file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: String, message: String },
    /// A value that one known source set, such as a flag, a `PONS_*`
    /// variable or a key of the configuration file, which the message
    /// names. `setting` is the environment variable's name and `value` is
    /// quoted as the source writes it (TOML for the file).
    #[error("{}", origin.rejection(setting, value, accepted))]
    Rejected {
        setting: String,
        origin: ValueOrigin,
        value: String,
        accepted: String,
    },
    /// `setting` is the environment variable's name. The value is merged
    /// from several settings or its source is not kept, so the message
    /// names the flag and the configuration key too.
    #[error("invalid value {value:?} of {}: {fix}", setting_sources(setting))]
    Invalid {
        setting: &'static str,
        value: String,
        fix: String,
    },
    /// Values of two settings that do not fit together. The message names
    /// the one source that set each value, and every source of a setting
    /// left at its default.
    #[error("{message}")]
    Conflicting { message: String },
    /// A number outside its setting's range, named like [`Self::Invalid`].
    #[error(
        "invalid value {value:?} of {}: use {accepted}",
        setting_sources(setting)
    )]
    OutOfRange {
        setting: &'static str,
        value: String,
        accepted: String,
    },
}

/// Names every way to set the setting whose environment variable is
/// `variable`: `PONS_BIND` is also `--bind` and `bind` in the file.
fn setting_sources(variable: &str) -> String {
    let key = setting_key(variable);
    let flag = setting_flag(variable);
    format!("--{flag}, {variable} or `{key}` in the configuration file")
}

/// Rejects the path `path` that the configuration file `config` sets for
/// the setting `variable` when it starts or ends with whitespace, which
/// would name another file or folder. Flags and variables are checked when
/// they are parsed.
fn reject_outer_whitespace(
    variable: &str,
    path: Option<&std::path::Path>,
    config: &std::path::Path,
) -> Result<(), ConfigError> {
    let Some(text) = path.map(|path| path.to_string_lossy()) else {
        return Ok(());
    };
    if !crate::cli::has_outer_whitespace(&text) {
        return Ok(());
    }
    Err(ConfigError::Rejected {
        setting: variable.to_owned(),
        origin: ValueOrigin::File(config.to_owned()),
        value: format!("{text:?}"),
        accepted: crate::cli::OUTER_WHITESPACE_FIX.to_owned(),
    })
}

/// Returns the configuration file key of the setting whose environment
/// variable is `variable`: `bind` for `PONS_BIND`.
fn setting_key(variable: &str) -> String {
    let name = variable.strip_prefix("PONS_").unwrap_or(variable);
    name.to_ascii_lowercase()
}

/// Returns the flag, without its leading `--`, of the setting whose
/// environment variable is `variable`: `bind` for `PONS_BIND`.
fn setting_flag(variable: &str) -> String {
    setting_key(variable).replace('_', "-")
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings every command uses.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The setting that set `database_url`, or `None` for the default
    /// database in the data directory.
    pub database_url_origin: Option<ValueOrigin>,
    pub encryption_key_file: KeyFile,
    pub log_format: LogFormat,
    /// Server settings; commands other than `serve` see the defaults.
    pub server: ServerSettings,
}

/// Settings of `pons serve`.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// The setting that set `bind`, or `None` for the default address.
    pub bind_origin: Option<ValueOrigin>,
    /// Base URL without trailing slash.
    pub public_url: String,
    /// Graph API base URL with version, without trailing slash.
    pub graph_api_url: String,
    /// The setting that set `graph_api_url`, or `None` for Meta's URL.
    pub graph_api_url_origin: Option<ValueOrigin>,
    /// Seconds one Graph API request may take.
    pub graph_timeout_seconds: u64,
    /// Seconds a client may take to send its request headers, and to send
    /// each part of a request body.
    pub read_timeout_seconds: u64,
    /// MCP tool calls per API key and minute; 0 disables the limit.
    pub tool_rate_per_minute: u32,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub webhook_max_body_bytes: usize,
    /// Webhook body bytes that may be received or processed at once, in
    /// all requests together.
    pub webhook_max_in_flight_bytes: usize,
    pub shutdown_grace_seconds: u64,
    pub jobs: JobSettings,
}

impl Settings {
    /// Merges flags and environment (`common`, `serve`) over the TOML file
    /// over the defaults, and validates the result.
    pub fn load(common: &CommonArgs, serve: &ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &common.config {
            Some(path) => file::read(path)?,
            None => FileSettings::default(),
        };
        let config = common.config.as_deref();
        let shutdown_grace_seconds = serve
            .shutdown_grace_seconds
            .or(file.shutdown_grace_seconds)
            .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECONDS);
        let file_jobs = JobArgs {
            job_workers: file.job_workers,
            job_poll_interval_seconds: file.job_poll_interval_seconds,
            job_lease_seconds: file.job_lease_seconds,
            media_max_bytes: file.media_max_bytes,
            template_sync_interval_seconds: file.template_sync_interval_seconds,
        };
        let jobs = jobs::load(&serve.jobs, &file_jobs, shutdown_grace_seconds)?;

        if let Some(config) = config {
            reject_outer_whitespace("PONS_DATA_DIR", file.data_dir.as_deref(), config)?;
            reject_outer_whitespace(
                "PONS_ENCRYPTION_KEY_FILE",
                file.encryption_key_file.as_deref(),
                config,
            )?;
        }
        let data_dir = common
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let set_database_url = first_set(common.database_url.as_ref(), file.database_url, config);
        let database_url_origin = set_database_url.as_ref().map(|url| url.origin.clone());
        let database_url = match &set_database_url {
            Some(url) => url.value.clone(),
            None => format!("sqlite://{}", data_dir.join("pons.db").display()),
        };
        let encryption_key_file = match first_set(
            common.encryption_key_file.as_ref(),
            file.encryption_key_file,
            config,
        ) {
            Some(path) => KeyFile::new(path.value, KeyFileChoice::Setting(path.origin)),
            None => KeyFile::new(
                data_dir.join(crate::crypto::KEY_FILE_NAME),
                KeyFileChoice::Default,
            ),
        };
        let log_format = parse_log_format(first_set(
            common.log_format.as_ref(),
            file.log_format,
            config,
        ))?;

        let set_bind = first_set(serve.bind.as_ref(), file.bind, config);
        let bind_origin = set_bind.as_ref().map(|text| text.origin.clone());
        let bind = match set_bind {
            Some(text) => parse_bind(&text)?,
            None => DEFAULT_BIND.parse().expect("DEFAULT_BIND is ADDRESS:PORT"),
        };
        let public_url = match first_set(serve.public_url.as_ref(), file.public_url, config) {
            Some(url) => validate_url("PONS_PUBLIC_URL", &url, "https://pons.example.com")?,
            None => format!("http://{bind}"),
        };
        let set_graph_api_url = first_set(serve.graph_api_url.as_ref(), file.graph_api_url, config);
        let graph_api_url_origin = set_graph_api_url.as_ref().map(|url| url.origin.clone());
        let graph_api_url = match set_graph_api_url {
            Some(url) => validate_url("PONS_GRAPH_API_URL", &url, DEFAULT_GRAPH_API_URL)?,
            None => DEFAULT_GRAPH_API_URL.to_owned(),
        };

        let webhook_limits = webhook_limits::check(
            first_set(
                serve.webhook_max_body_bytes.as_ref(),
                file.webhook_max_body_bytes,
                config,
            )
            .as_ref(),
            first_set(
                serve.webhook_max_in_flight_bytes.as_ref(),
                file.webhook_max_in_flight_bytes,
                config,
            )
            .as_ref(),
        )?;

        let allowed_hosts =
            first_set_list(serve.allowed_hosts.as_deref(), file.allowed_hosts, config);
        let allowed_origins = first_set_list(
            serve.allowed_origins.as_deref(),
            file.allowed_origins,
            config,
        );

        let server = ServerSettings {
            bind,
            bind_origin,
            public_url,
            graph_api_url,
            graph_api_url_origin,
            graph_timeout_seconds: serve
                .graph_timeout_seconds
                .or(file.graph_timeout_seconds)
                .unwrap_or(DEFAULT_GRAPH_TIMEOUT_SECONDS),
            read_timeout_seconds: serve
                .read_timeout_seconds
                .or(file.read_timeout_seconds)
                .unwrap_or(DEFAULT_READ_TIMEOUT_SECONDS),
            tool_rate_per_minute: serve
                .tool_rate_per_minute
                .or(file.tool_rate_per_minute)
                .unwrap_or(DEFAULT_TOOL_RATE_PER_MINUTE),
            allowed_hosts: allowed_hosts
                .iter()
                .map(|host| host.value.clone())
                .collect(),
            allowed_origins: allowed_origins
                .iter()
                .map(|origin| origin.value.clone())
                .collect(),
            webhook_max_body_bytes: webhook_limits.max_body_bytes,
            webhook_max_in_flight_bytes: webhook_limits.max_in_flight_bytes,
            shutdown_grace_seconds,
            jobs,
        };
        check_allowed_hosts(&allowed_hosts)?;
        check_allowed_origins(&allowed_origins)?;
        server.check_numbers()?;
        if let Some(url) = &set_database_url {
            check_database_url(url)?;
        }
        Ok(Settings {
            data_dir,
            database_url,
            database_url_origin,
            encryption_key_file,
            log_format,
            server,
        })
    }

    /// Names the setting that chose the database, for errors about it:
    /// "set by --database-url", or the data directory's settings for the
    /// default database.
    pub fn database_url_source(&self) -> String {
        match &self.database_url_origin {
            Some(origin) => format!("set by {}", origin.setting_name("PONS_DATABASE_URL")),
            None => format!(
                "the default database in the data directory, which {} sets",
                setting_sources("PONS_DATA_DIR")
            ),
        }
    }
}

impl ServerSettings {
    /// Tells whether the public URL defaulted to an address that only names
    /// every interface, such as `http://0.0.0.0:3000`, which no client or
    /// Meta can reach.
    pub fn public_url_is_unspecified_address(&self) -> bool {
        self.bind.ip().is_unspecified() && self.public_url == format!("http://{}", self.bind)
    }

    /// Names where `bind` came from, for an error about the address.
    pub fn bind_source(&self) -> String {
        match &self.bind_origin {
            Some(origin) => format!("the address that {} sets", origin.setting_name("PONS_BIND")),
            None => format!(
                "the default address; set {} to use another",
                setting_sources("PONS_BIND")
            ),
        }
    }

    /// Checks the numbers against their ranges. The webhook byte limits
    /// are checked where they are merged, which keeps their sources.
    fn check_numbers(&self) -> Result<(), ConfigError> {
        numbers::check("PONS_GRAPH_TIMEOUT_SECONDS", self.graph_timeout_seconds)?;
        numbers::check("PONS_READ_TIMEOUT_SECONDS", self.read_timeout_seconds)?;
        numbers::check(
            "PONS_TOOL_RATE_PER_MINUTE",
            u64::from(self.tool_rate_per_minute),
        )?;
        numbers::check("PONS_SHUTDOWN_GRACE_SECONDS", self.shutdown_grace_seconds)
    }
}

/// Returns the log format that --log-format or PONS_LOG_FORMAT sets,
/// without reading the configuration file, for `pons metasim`.
pub fn log_format(common: &CommonArgs) -> Result<LogFormat, ConfigError> {
    parse_log_format(common.log_format.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SettingText;
    use std::path::Path;

    /// Errors name a setting's flag and file key by its variable's name,
    /// which holds only while every flag of a file setting is named after
    /// its variable.
    #[test]
    fn setting_sources_match_the_flags() {
        use clap::CommandFactory;

        /// Returns whether the configuration file accepts the key `key`.
        fn file_has(key: &str) -> bool {
            let error = toml::from_str::<FileSettings>(&format!("{key} = true"))
                .expect_err("no file setting is a boolean");
            !error.to_string().contains("unknown field")
        }

        fn check(command: &clap::Command, checked: &mut usize) {
            for arg in command.get_arguments() {
                let (Some(variable), Some(long)) = (arg.get_env(), arg.get_long()) else {
                    continue;
                };
                let variable = variable.to_str().expect("variable names are ASCII");
                let key = variable.trim_start_matches("PONS_").to_ascii_lowercase();
                if !file_has(&key) {
                    continue;
                }
                let expected = format!("--{long}, {variable} or ");
                assert!(
                    setting_sources(variable).starts_with(&expected),
                    "{variable}: {}",
                    setting_sources(variable)
                );
                *checked += 1;
            }
            for subcommand in command.get_subcommands() {
                check(subcommand, checked);
            }
        }
        let mut checked = 0;
        check(&crate::cli::Cli::command(), &mut checked);
        assert!(
            checked >= 20,
            "only {checked} flags of file settings were found"
        );
        assert_eq!(
            setting_sources("PONS_WEBHOOK_MAX_BODY_BYTES"),
            "--webhook-max-body-bytes, PONS_WEBHOOK_MAX_BODY_BYTES or \
             `webhook_max_body_bytes` in the configuration file"
        );
    }

    /// Returns `text` as the value of a flag.
    fn flag(text: &str) -> SettingText {
        SettingText::new(text, ValueOrigin::Flag)
    }

    /// Returns `text` as the value of a `PONS_*` variable.
    fn variable(text: &str) -> SettingText {
        SettingText::new(text, ValueOrigin::Environment)
    }

    /// Loads settings that must be rejected, and returns the error text.
    /// `input` names the rejected value in the panic message.
    fn load_error(args: &CommonArgs, input: String) -> String {
        match Settings::load(args, &ServeArgs::default()) {
            Ok(_) => panic!("{input} was accepted"),
            Err(error) => error.to_string(),
        }
    }

    fn common() -> CommonArgs {
        CommonArgs {
            config: None,
            data_dir: None,
            database_url: None,
            encryption_key_file: None,
            log_format: None,
        }
    }

    #[test]
    fn defaults_apply() {
        let settings = Settings::load(&common(), &ServeArgs::default()).unwrap();
        assert_eq!(settings.server.bind.to_string(), DEFAULT_BIND);
        assert_eq!(settings.server.public_url, "http://127.0.0.1:3000");
        assert_eq!(settings.database_url, "sqlite://./pons-data/pons.db");
        assert_eq!(settings.server.webhook_max_body_bytes, 4_194_304);
        assert_eq!(settings.server.webhook_max_in_flight_bytes, 67_108_864);
        assert_eq!(settings.server.graph_timeout_seconds, 15);
        assert_eq!(settings.server.tool_rate_per_minute, 120);
    }

    #[test]
    fn graph_timeout_must_be_positive() {
        let serve = ServeArgs {
            graph_timeout_seconds: Some(0),
            ..ServeArgs::default()
        };
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_GRAPH_TIMEOUT_SECONDS"), "{err}");
    }

    #[test]
    fn in_flight_bytes_must_hold_one_body() {
        let serve = ServeArgs {
            webhook_max_body_bytes: Some(SettingValue::new(8192_usize, ValueOrigin::Environment)),
            webhook_max_in_flight_bytes: Some(SettingValue::new(
                4096_usize,
                ValueOrigin::Environment,
            )),
            ..ServeArgs::default()
        };
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES"), "{err}");
        assert!(err.contains("\"4096\""), "{err}");
        assert!(err.contains("body limit of 8192 bytes"), "{err}");

        let serve = ServeArgs {
            webhook_max_body_bytes: Some(SettingValue::new(8192_usize, ValueOrigin::Environment)),
            webhook_max_in_flight_bytes: Some(SettingValue::new(
                8192_usize,
                ValueOrigin::Environment,
            )),
            ..ServeArgs::default()
        };
        let settings = Settings::load(&common(), &serve).unwrap();
        assert_eq!(settings.server.webhook_max_in_flight_bytes, 8192);
    }

    #[test]
    fn in_flight_bytes_come_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        std::fs::write(&path, "webhook_max_in_flight_bytes = 16777216\n").unwrap();
        let mut args = common();
        args.config = Some(path);
        let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
        assert_eq!(settings.server.webhook_max_in_flight_bytes, 16_777_216);
    }

    #[test]
    fn unreadable_file_names_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let cause = std::fs::read_to_string(&missing).unwrap_err().to_string();
        let err = anyhow::Error::from(file::read(&missing).unwrap_err());
        // main prints the whole chain with `{:#}`.
        let report = format!("{err:#}");
        assert!(report.contains("missing.toml"), "{report}");
        assert_eq!(report.matches(cause.as_str()).count(), 1, "{report}");
    }

    #[test]
    fn file_paths_resolve_against_file_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        std::fs::write(&path, "data_dir = \"data\"\n").unwrap();
        let mut args = common();
        args.config = Some(path);

        let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
        assert_eq!(settings.data_dir, dir.path().join("data"));
        let database = format!("sqlite://{}", dir.path().join("data/pons.db").display());
        assert_eq!(settings.database_url, database);
        assert_eq!(
            settings.encryption_key_file.path,
            dir.path().join("data").join(crate::crypto::KEY_FILE_NAME)
        );

        // A flag or variable stays relative to the working directory.
        args.data_dir = Some(PathBuf::from("flag-data"));
        let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("flag-data"));
    }

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:4000\"\npublic_url = \"https://a.example/\"\n",
        )
        .unwrap();
        let mut args = common();
        args.config = Some(path);
        let serve = ServeArgs {
            bind: Some(flag("127.0.0.1:5000")),
            ..ServeArgs::default()
        };
        let settings = Settings::load(&args, &serve).unwrap();
        assert_eq!(settings.server.bind.port(), 5000);
        assert_eq!(settings.server.public_url, "https://a.example");
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let serve = ServeArgs {
            bind: Some(variable("localhost")),
            ..ServeArgs::default()
        };
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_BIND"), "{err}");

        let serve = ServeArgs {
            public_url: Some(variable("pons.example")),
            ..ServeArgs::default()
        };
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn public_url_normalised() {
        for (given, stored) in [
            ("HTTPS://Pons.EXAMPLE.com/", "https://pons.example.com"),
            ("http://[::1]:8080/Base/", "http://[::1]:8080/Base"),
            (
                "https://pons.example.com:443",
                "https://pons.example.com:443",
            ),
        ] {
            let serve = ServeArgs {
                public_url: Some(variable(given)),
                ..ServeArgs::default()
            };
            let settings = Settings::load(&common(), &serve).unwrap();
            assert_eq!(settings.server.public_url, stored, "{given}");
        }
    }

    #[test]
    fn public_url_of_unspecified_bind_detected() {
        let load = |bind: &str, public_url: Option<&str>| {
            let serve = ServeArgs {
                bind: Some(variable(bind)),
                public_url: public_url.map(variable),
                ..ServeArgs::default()
            };
            Settings::load(&common(), &serve).unwrap().server
        };
        assert!(load("0.0.0.0:3000", None).public_url_is_unspecified_address());
        assert!(load("[::]:3000", None).public_url_is_unspecified_address());
        let named = load("0.0.0.0:3000", Some("https://pons.example.com"));
        assert!(!named.public_url_is_unspecified_address());
        assert!(!load("127.0.0.1:3000", None).public_url_is_unspecified_address());
    }

    #[test]
    fn public_url_port_zero_rejected() {
        let serve = ServeArgs {
            public_url: Some(variable("https://pons.example.com:0")),
            ..ServeArgs::default()
        };
        let err = Settings::load(&common(), &serve).unwrap_err().to_string();
        assert!(err.contains("PONS_PUBLIC_URL"), "{err}");
        assert!(err.contains("port"), "{err}");
        assert!(err.contains("1 to 65535"), "{err}");
    }

    #[test]
    fn public_url_extras_are_rejected() {
        for url in [
            "https://pons.example.com?x=1",
            "https://pons.example.com/#top",
            "https://user:secret@pons.example.com",
        ] {
            let serve = ServeArgs {
                public_url: Some(variable(url)),
                ..ServeArgs::default()
            };
            let err = Settings::load(&common(), &serve).unwrap_err().to_string();
            assert!(err.contains("PONS_PUBLIC_URL"), "{err}");
            assert!(err.contains("without a user"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn graph_api_url_error_shows_graph_example() {
        for url in [
            "graph.facebook.com",
            "https://graph.facebook.com/v25.0?x=1",
            "https://graph.facebook.com:0/v25.0",
        ] {
            let serve = ServeArgs {
                graph_api_url: Some(flag(url)),
                ..ServeArgs::default()
            };
            let err = Settings::load(&common(), &serve).unwrap_err().to_string();
            assert!(err.contains("--graph-api-url"), "{err}");
            assert!(
                err.contains("for example https://graph.facebook.com/v25.0"),
                "{err}"
            );
            assert!(!err.contains("pons.example.com"), "{err}");
        }
    }

    #[test]
    fn allowed_hosts_are_checked() {
        for entry in [
            "*.example.com",
            "https://pons.example.com",
            "pons.example.com:0",
        ] {
            let serve = ServeArgs {
                allowed_hosts: Some(vec![variable("pons.internal:8443"), variable(entry)]),
                ..ServeArgs::default()
            };
            let err = Settings::load(&common(), &serve).unwrap_err().to_string();
            assert!(err.contains("PONS_ALLOWED_HOSTS"), "{err}");
            assert!(err.contains(&format!("{entry:?}")), "{err}");
            assert!(err.contains("host names or IP addresses"), "{err}");
        }

        let serve = ServeArgs {
            allowed_hosts: Some(vec![variable("pons.internal:8443"), variable("[::1]:3000")]),
            ..ServeArgs::default()
        };
        let settings = Settings::load(&common(), &serve).unwrap();
        assert_eq!(settings.server.allowed_hosts.len(), 2);
    }

    #[test]
    fn unknown_file_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        std::fs::write(&path, "bnid = \"x\"\n").unwrap();
        let mut args = common();
        args.config = Some(path);
        let err = Settings::load(&args, &ServeArgs::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bnid"), "{err}");
    }

    /// An invalid value of each string setting, with the text its error
    /// names as accepted.
    const INVALID_STRINGS: [(&str, &str, &str); 5] = [
        ("PONS_BIND", "localhost", "ADDRESS:PORT"),
        (
            "PONS_PUBLIC_URL",
            "pons.example",
            "absolute http:// or https:// URL",
        ),
        (
            "PONS_GRAPH_API_URL",
            "ftp://graph.example",
            "absolute http:// or https:// URL",
        ),
        ("PONS_LOG_FORMAT", "yaml", "text or json"),
        (
            "PONS_DATABASE_URL",
            "mysql://db/pons",
            "postgres://USER:PASSWORD@HOST/DB",
        ),
    ];

    /// Sets the string setting `variable` to `value` in `common` or
    /// `serve`.
    fn set_string(
        common: &mut CommonArgs,
        serve: &mut ServeArgs,
        variable: &str,
        value: SettingText,
    ) {
        match variable {
            "PONS_BIND" => serve.bind = Some(value),
            "PONS_PUBLIC_URL" => serve.public_url = Some(value),
            "PONS_GRAPH_API_URL" => serve.graph_api_url = Some(value),
            "PONS_LOG_FORMAT" => common.log_format = Some(value),
            "PONS_DATABASE_URL" => common.database_url = Some(value),
            _ => unreachable!("{variable} is no string setting"),
        }
    }

    #[test]
    fn string_errors_name_their_source() {
        for (variable, value, accepted) in INVALID_STRINGS {
            let flag_name = format!("--{}", setting_flag(variable));
            let key = format!("`{}`", setting_key(variable));
            for origin in [ValueOrigin::Flag, ValueOrigin::Environment] {
                let mut args = common();
                let mut serve = ServeArgs::default();
                let text = SettingText::new(value, origin.clone());
                set_string(&mut args, &mut serve, variable, text);
                let err = Settings::load(&args, &serve).unwrap_err().to_string();

                assert!(err.contains(&format!("invalid value \"{value}\"")), "{err}");
                assert!(err.contains(accepted), "{err}");
                assert!(!err.contains(&key), "{err}");
                match origin {
                    ValueOrigin::Flag => {
                        assert!(err.contains(&format!("of {flag_name}:")), "{err}");
                        assert!(!err.contains(variable), "{err}");
                    }
                    _ => {
                        let named = format!("of the environment variable {variable}:");
                        assert!(err.contains(&named), "{err}");
                        assert!(err.contains("or unset it"), "{err}");
                        assert!(!err.contains(&flag_name), "{err}");
                    }
                }
            }
        }
    }

    #[test]
    fn string_errors_name_the_file() {
        for (variable, value, accepted) in INVALID_STRINGS {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pons.toml");
            let key = setting_key(variable);
            std::fs::write(&path, format!("{key} = \"{value}\"\n")).unwrap();
            let mut args = common();
            args.config = Some(path.clone());
            let err = Settings::load(&args, &ServeArgs::default())
                .unwrap_err()
                .to_string();

            let named = format!(
                "invalid value \"{value}\" of `{key}` in the configuration file {}:",
                path.display()
            );
            assert!(err.contains(&named), "{err}");
            assert!(err.contains(accepted), "{err}");
            assert!(!err.contains(variable), "{err}");
            assert!(
                !err.contains(&format!("--{}", setting_flag(variable))),
                "{err}"
            );
        }
    }

    #[test]
    fn database_url_error_hides_password() {
        for url in [
            "postgres//pons:secret@db/pons",
            "mysql://pons:secret@db/pons",
        ] {
            let args = CommonArgs {
                database_url: Some(variable(url)),
                ..common()
            };
            let err = Settings::load(&args, &ServeArgs::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("PONS_DATABASE_URL"), "{err}");
            assert!(err.contains("***@db/pons"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn postgres_url_without_host_or_database_rejected() {
        for url in [
            "postgres://",
            "postgres:///",
            "postgresql://",
            "postgres://127.0.0.1",
            "postgres://127.0.0.1:5432/",
            "postgres://pons:secret@127.0.0.1:5432",
            "postgres:///pons",
            "postgres://pons:secret@:5432/pons",
            "postgres:///pons?host=",
            "postgres://db?dbname=",
        ] {
            let args = CommonArgs {
                database_url: Some(flag(url)),
                ..common()
            };
            let err = load_error(&args, format!("{url:?}"));
            assert!(err.contains("--database-url"), "{err}");
            assert!(
                err.contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
                "{err}"
            );
            assert!(!err.contains("secret"), "{err}");
            let shown = crate::echo::without_credentials(url);
            assert!(err.contains(&format!("\"{shown}\"")), "{err}");
        }
    }

    #[test]
    fn postgres_url_with_host_and_database_accepted() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://user@host/db",
            "postgres://pons:secret@db.internal/pons?sslmode=require",
            "postgresql://[::1]:5432/pons",
            "postgres:///pons?host=/var/run/postgresql",
            "postgres://db?dbname=pons",
        ] {
            let args = CommonArgs {
                database_url: Some(flag(url)),
                ..common()
            };
            if let Err(error) = Settings::load(&args, &ServeArgs::default()) {
                panic!("{url:?} was rejected: {error}");
            }
        }
    }

    #[test]
    fn database_url_without_file_rejected() {
        for url in ["sqlite::", "sqlite:", "sqlite://", "sqlite:///", ":"] {
            let args = CommonArgs {
                database_url: Some(variable(url)),
                ..common()
            };
            let err = load_error(&args, format!("{url:?}"));
            assert!(err.contains(&format!("\"{url}\"")), "{err}");
            assert!(err.contains("PONS_DATABASE_URL"), "{err}");
            assert!(err.contains("sqlite://PATH"), "{err}");
            assert!(err.contains("postgres://USER:PASSWORD@HOST/DB"), "{err}");
        }
    }

    #[test]
    fn file_paths_with_outer_whitespace_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        for (key, value) in [
            ("data_dir", " sp "),
            ("data_dir", "data\\r"),
            ("encryption_key_file", "pons.key\\n"),
            ("database_url", "sqlite://pons.db\\r"),
            ("database_url", " postgres://pons@db/pons"),
        ] {
            std::fs::write(&path, format!("{key} = \"{value}\"\n")).unwrap();
            let args = CommonArgs {
                config: Some(path.clone()),
                ..common()
            };
            let err = load_error(&args, format!("{key} = {value:?}"));
            assert!(err.contains(&format!("`{key}`")), "{err}");
            assert!(err.contains("whitespace"), "{err}");
        }
    }

    #[test]
    fn database_url_with_outer_whitespace_rejected() {
        for url in [
            "sqlite://pons.db\r",
            " pons.db",
            "postgres://pons@db/pons\n",
        ] {
            let args = CommonArgs {
                database_url: Some(variable(url)),
                ..common()
            };
            let err = load_error(&args, format!("{url:?}"));
            assert!(err.contains("PONS_DATABASE_URL"), "{err}");
            assert!(err.contains("whitespace"), "{err}");
        }
    }

    #[test]
    fn key_file_keeps_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("pons.toml");
        std::fs::write(&config, "encryption_key_file = \"file.key\"\n").unwrap();
        let from_file = CommonArgs {
            config: Some(config.clone()),
            ..common()
        };
        let settings = Settings::load(&from_file, &ServeArgs::default()).unwrap();
        let expected = KeyFile::new(
            dir.path().join("file.key"),
            KeyFileChoice::Setting(ValueOrigin::File(config.clone())),
        );
        assert_eq!(settings.encryption_key_file, expected);

        for origin in [ValueOrigin::Flag, ValueOrigin::Environment] {
            let args = CommonArgs {
                config: Some(config.clone()),
                encryption_key_file: Some(SettingValue::new("set.key", origin.clone())),
                ..common()
            };
            let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
            let expected = KeyFile::new("set.key", KeyFileChoice::Setting(origin));
            assert_eq!(settings.encryption_key_file, expected);
        }

        let settings = Settings::load(&common(), &ServeArgs::default()).unwrap();
        let expected = KeyFile::new(
            Path::new(DEFAULT_DATA_DIR).join(crate::crypto::KEY_FILE_NAME),
            KeyFileChoice::Default,
        );
        assert_eq!(settings.encryption_key_file, expected);
    }

    #[test]
    fn database_source_names_one_setting() {
        let args = CommonArgs {
            database_url: Some(flag("sqlite://flag.db")),
            ..common()
        };
        let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
        assert_eq!(settings.database_url_source(), "set by --database-url");

        let args = CommonArgs {
            database_url: Some(variable("sqlite://variable.db")),
            ..common()
        };
        let settings = Settings::load(&args, &ServeArgs::default()).unwrap();
        assert_eq!(
            settings.database_url_source(),
            "set by the environment variable PONS_DATABASE_URL"
        );

        let settings = Settings::load(&common(), &ServeArgs::default()).unwrap();
        let source = settings.database_url_source();
        assert!(source.contains("default database"), "{source}");
        assert!(
            source.contains("--data-dir, PONS_DATA_DIR or `data_dir`"),
            "{source}"
        );
    }

    #[test]
    fn list_errors_name_their_source() {
        use clap::FromArgMatches;

        let args = [
            "pons",
            "serve",
            "--allowed-hosts",
            "pons.internal,https://x.example",
        ];
        let matches = crate::cli::command().try_get_matches_from(args).unwrap();
        let cli = crate::cli::Cli::from_arg_matches(&matches).unwrap();
        let crate::cli::Command::Serve(serve) = &cli.command else {
            panic!("parsed as another command: {:?}", cli.command);
        };
        let err = Settings::load(&cli.common, serve).unwrap_err().to_string();
        assert!(
            err.contains("invalid value \"https://x.example\" of --allowed-hosts: use"),
            "{err}"
        );
        assert!(err.contains("host names or IP addresses"), "{err}");
        assert!(!err.contains("PONS_ALLOWED_HOSTS"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pons.toml");
        let text = "allowed_origins = [\"https://app.example.com/path\"]\n";
        std::fs::write(&path, text).unwrap();
        let args = CommonArgs {
            config: Some(path.clone()),
            ..common()
        };
        let err = Settings::load(&args, &ServeArgs::default())
            .unwrap_err()
            .to_string();
        let named = format!(
            "invalid value \"https://app.example.com/path\" of `allowed_origins` in the \
             configuration file {}: use origins",
            path.display()
        );
        assert!(err.contains(&named), "{err}");
        assert!(!err.contains("PONS_ALLOWED_ORIGINS"), "{err}");
        assert!(!err.contains("--allowed-origins"), "{err}");
    }
}
