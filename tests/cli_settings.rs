//! How the built binary reports settings that it rejects, from flags,
//! `PONS_*` variables and the configuration file.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `pons ARGS` on `data_dir` with the `PONS_*` settings `env` only.
fn pons_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PONS_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("PONS_DATA_DIR", data_dir)
        .env("PONS_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run pons")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn malformed_variable_number_names_variable() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PONS_GRAPH_TIMEOUT_SECONDS", "80x")];
    let output = pons_with_env(dir.path(), &["serve"], &env);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("\"80x\""), "{message}");
    assert!(
        message.contains("environment variable PONS_GRAPH_TIMEOUT_SECONDS"),
        "{message}"
    );
    assert!(message.contains("from 1 to 300"), "{message}");
    assert!(message.contains("unset it"), "{message}");
}

#[test]
fn out_of_range_variable_names_range() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PONS_TOOL_RATE_PER_MINUTE", "99999999999")];
    let output = pons_with_env(dir.path(), &["serve"], &env);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("\"99999999999\""), "{message}");
    assert!(
        message.contains("environment variable PONS_TOOL_RATE_PER_MINUTE"),
        "{message}"
    );
    assert!(message.contains("from 0 to 4294967295"), "{message}");
}

#[test]
fn malformed_flag_number_names_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = pons_with_env(dir.path(), &["serve", "--job-lease-seconds", "10m"], &[]);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("\"10m\" of --job-lease-seconds"),
        "{message}"
    );
    assert!(message.contains("from 60 to 86400"), "{message}");
    assert!(!message.contains("PONS_JOB_LEASE_SECONDS"), "{message}");
}

#[test]
fn negative_flag_number_names_flag() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["serve", "--graph-timeout-seconds", "-1"];
    let output = pons_with_env(dir.path(), &args, &[]);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("\"-1\" of --graph-timeout-seconds"),
        "{message}"
    );
    assert!(message.contains("from 1 to 300"), "{message}");
}

#[test]
fn file_type_error_names_key_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pons.toml");
    std::fs::write(&config, "read_timeout_seconds = \"30s\"\n").unwrap();
    let config_text = config.to_str().unwrap();
    let output = pons_with_env(dir.path(), &["--config", config_text, "serve"], &[]);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("invalid value \"30s\" of `read_timeout_seconds`"),
        "{message}"
    );
    assert!(message.contains(config_text), "{message}");
    assert!(message.contains("from 1 to 3600"), "{message}");
}

#[test]
fn invalid_allowed_host_names_entry() {
    let dir = tempfile::tempdir().unwrap();
    // The database URL is invalid too, so that a server that accepted the
    // hosts would stop at once instead of serving.
    let env = [
        (
            "PONS_ALLOWED_HOSTS",
            "pons.internal,https://pons.example.com",
        ),
        ("PONS_DATABASE_URL", "sqlite://"),
    ];
    let output = pons_with_env(dir.path(), &["serve"], &env);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("\"https://pons.example.com\""),
        "{message}"
    );
    assert!(message.contains("PONS_ALLOWED_HOSTS"), "{message}");
    assert!(message.contains("host names or IP addresses"), "{message}");
}

#[test]
fn invalid_string_names_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pons.toml");
    std::fs::write(&config, "bind = \"localhost\"\n").unwrap();
    let config_text = config.to_str().unwrap();

    let by_flag = pons_with_env(dir.path(), &["serve", "--bind", "localhost"], &[]);
    let by_variable = pons_with_env(dir.path(), &["serve"], &[("PONS_BIND", "localhost")]);
    let by_file = pons_with_env(dir.path(), &["--config", config_text, "serve"], &[]);
    let in_file = format!("of `bind` in the configuration file {config_text}: use");
    let cases = [
        (
            by_flag,
            "invalid value \"localhost\" of --bind: use".to_owned(),
        ),
        (
            by_variable,
            "invalid value \"localhost\" of the environment variable PONS_BIND: set it to"
                .to_owned(),
        ),
        (by_file, format!("invalid value \"localhost\" {in_file}")),
    ];
    for (output, named) in cases {
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains(&named), "{message}");
        assert!(message.contains("ADDRESS:PORT"), "{message}");
        let sources = ["--bind", "PONS_BIND", "`bind`"];
        let named_sources = sources.iter().filter(|s| message.contains(*s)).count();
        assert_eq!(named_sources, 1, "{message}");
    }
}

/// Counts the sources of the setting `variable` that `message` names: its
/// flag, the variable and its configuration file key.
fn sources_named(message: &str, variable: &str) -> usize {
    let key = variable.trim_start_matches("PONS_").to_ascii_lowercase();
    let flag = format!("--{}", key.replace('_', "-"));
    let key = format!("`{key}`");
    [flag.as_str(), variable, key.as_str()]
        .iter()
        .filter(|source| message.contains(*source))
        .count()
}

#[test]
fn in_flight_below_body_names_sources() {
    const IN_FLIGHT: &str = "PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES";
    const BODY: &str = "PONS_WEBHOOK_MAX_BODY_BYTES";
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pons.toml");
    std::fs::write(
        &config,
        "webhook_max_body_bytes = 8192\nwebhook_max_in_flight_bytes = 4096\n",
    )
    .unwrap();
    let config_text = config.to_str().unwrap();

    let by_flag = pons_with_env(
        dir.path(),
        &["serve", "--webhook-max-in-flight-bytes", "4096"],
        &[(BODY, "8192")],
    );
    let by_variable = pons_with_env(dir.path(), &["serve"], &[(IN_FLIGHT, "4096")]);
    let by_file = pons_with_env(dir.path(), &["--config", config_text, "serve"], &[]);
    let cases = [
        (
            by_flag,
            "invalid value \"4096\" of --webhook-max-in-flight-bytes: it is below the \
             webhook body limit of 8192 bytes that the environment variable \
             PONS_WEBHOOK_MAX_BODY_BYTES sets"
                .to_owned(),
            1,
        ),
        (
            by_variable,
            "invalid value \"4096\" of the environment variable \
             PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES: it is below the default webhook body limit of \
             4194304 bytes"
                .to_owned(),
            3,
        ),
        (
            by_file,
            format!(
                "invalid value 4096 of `webhook_max_in_flight_bytes` in the configuration file \
                 {config_text}: it is below the webhook body limit of 8192 bytes that \
                 `webhook_max_body_bytes` in the configuration file {config_text} sets"
            ),
            1,
        ),
    ];
    for (output, named, body_sources) in cases {
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains(&named), "{message}");
        assert_eq!(sources_named(&message, IN_FLIGHT), 1, "{message}");
        assert_eq!(sources_named(&message, BODY), body_sources, "{message}");
    }
}

#[test]
fn demo_notes_ignored_key_file() {
    let other = tempfile::tempdir().unwrap();
    let configured_key = other.path().join("server.key");
    let configured_text = configured_key.to_str().unwrap();
    let config = other.path().join("pons.toml");
    std::fs::write(
        &config,
        format!("encryption_key_file = \"{configured_text}\"\n"),
    )
    .unwrap();
    let config_text = config.to_str().unwrap();
    let from_variable = vec![("PONS_ENCRYPTION_KEY_FILE", configured_text)];
    let from_file = vec![("PONS_CONFIG", config_text)];
    let in_file = format!("`encryption_key_file` in the configuration file {config_text}");
    let cases = [
        (
            from_variable,
            "the environment variable PONS_ENCRYPTION_KEY_FILE".to_owned(),
        ),
        (from_file, in_file),
    ];

    for (env, setting) in cases {
        let dir = tempfile::tempdir().unwrap();
        // A key file without a database makes the demo stop after its
        // notes, because such a directory belongs to a server.
        let own_key = dir.path().join("encryption.key");
        std::fs::write(&own_key, "key").unwrap();
        let output = pons_with_env(dir.path(), &["demo"], &env);

        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        let note = message
            .lines()
            .find(|line| line.starts_with("note: pons demo ignores the encryption key file"))
            .unwrap_or_else(|| panic!("no note about the key file for {env:?} in:\n{message}"));
        assert!(note.contains(configured_text), "{note}");
        assert!(note.contains(&format!("(set by {setting})")), "{note}");
        assert_eq!(sources_named(note, "PONS_ENCRYPTION_KEY_FILE"), 1, "{note}");
        assert!(note.contains(own_key.to_str().unwrap()), "{note}");
    }
}

/// Setting names and values for [`demo_notes_of`]: the configuration file
/// key, the flag, the `PONS_*` variable and the value each one sets.
struct IgnoredSetting {
    file_key: &'static str,
    flag: &'static str,
    variable: &'static str,
    value: &'static str,
}

/// Runs `pons demo` with `setting` set once by its flag, once by its
/// variable and once by the configuration file, and returns for each run
/// the source as the note names it and the note line that starts with
/// `note_start`.
fn demo_notes_of(setting: &IgnoredSetting, note_start: &str) -> Vec<(String, String)> {
    let other = tempfile::tempdir().unwrap();
    let config = other.path().join("pons.toml");
    let file_line = format!("{} = \"{}\"\n", setting.file_key, setting.value);
    std::fs::write(&config, file_line).unwrap();
    let config_text = config.to_str().unwrap();
    let cases = [
        (
            vec!["demo", setting.flag, setting.value],
            vec![],
            setting.flag.to_owned(),
        ),
        (
            vec!["demo"],
            vec![(setting.variable, setting.value)],
            format!("the environment variable {}", setting.variable),
        ),
        (
            vec!["--config", config_text, "demo"],
            vec![],
            format!(
                "`{}` in the configuration file {config_text}",
                setting.file_key
            ),
        ),
    ];

    let mut notes = Vec::new();
    for (args, env, source) in cases {
        let dir = tempfile::tempdir().unwrap();
        // A key file without a database makes the demo stop after its
        // notes, because such a directory belongs to a server.
        std::fs::write(dir.path().join("encryption.key"), "key").unwrap();
        let output = pons_with_env(dir.path(), &args, &env);

        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        let note = message
            .lines()
            .find(|line| line.starts_with(note_start))
            .unwrap_or_else(|| panic!("no {note_start:?} for {args:?} in:\n{message}"))
            .to_owned();
        notes.push((source, note));
    }
    notes
}

#[test]
fn demo_notes_ignored_database_source() {
    let setting = IgnoredSetting {
        file_key: "database_url",
        flag: "--database-url",
        variable: "PONS_DATABASE_URL",
        value: "postgres://pons@db.internal/pons",
    };
    let notes = demo_notes_of(&setting, "note: pons demo ignores the database URL");

    for (source, note) in &notes {
        assert!(
            note.contains(&format!("the database URL that {source} sets")),
            "{note}"
        );
        assert_eq!(sources_named(note, "PONS_DATABASE_URL"), 1, "{note}");
        assert!(!note.contains("db.internal"), "{note}");
    }
}

#[test]
fn demo_notes_ignored_graph_api_url() {
    let setting = IgnoredSetting {
        file_key: "graph_api_url",
        flag: "--graph-api-url",
        variable: "PONS_GRAPH_API_URL",
        // A closed loopback port, in case the demo ever called it.
        value: "http://127.0.0.1:9/v25.0",
    };
    let notes = demo_notes_of(&setting, "note: pons demo ignores the Graph API URL");

    for (source, note) in &notes {
        assert!(
            note.contains(&format!("the Graph API URL that {source} sets")),
            "{note}"
        );
        assert!(note.contains("sends to its built-in sandbox"), "{note}");
        assert_eq!(sources_named(note, "PONS_GRAPH_API_URL"), 1, "{note}");
    }
}

#[test]
fn address_in_use_names_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let listener_in_use = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener_in_use.local_addr().unwrap().to_string();
    // The Graph API is a closed loopback port, so the template sync at
    // start-up reaches nothing outside this machine.
    let graph = ("PONS_GRAPH_API_URL", "http://127.0.0.1:9/v25.0");

    let by_flag = pons_with_env(dir.path(), &["serve", "--bind", &addr], &[graph]);
    let by_variable = pons_with_env(dir.path(), &["serve"], &[graph, ("PONS_BIND", &addr)]);
    let demo = pons_with_env(dir.path(), &["demo", "--bind", &addr], &[]);
    let cases = [
        (by_flag, "the address that --bind sets"),
        (demo, "the address that --bind sets"),
        (
            by_variable,
            "the address that the environment variable PONS_BIND sets",
        ),
    ];
    for (output, named) in cases {
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(
            message.contains(&format!("cannot listen on {addr}")),
            "{message}"
        );
        assert!(message.contains(named), "{message}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "a command that cannot listen created {left:?}"
    );
    drop(listener_in_use);
}

#[test]
fn odd_sqlite_url_rejected_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["sqlite::", "sqlite:///", "sqlite:sqlite:pons.db"] {
        // The working directory is the empty temporary directory, where
        // such a URL would create its file.
        let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PONS_") {
                command.env_remove(name);
            }
        }
        let output = command
            .args(["account", "list"])
            .current_dir(dir.path())
            .env("PONS_DATA_DIR", dir.path().join("data"))
            .env("PONS_DATABASE_URL", url)
            .env("PONS_LOG", "warn")
            .output()
            .expect("run pons");

        let message = stderr(&output);
        assert!(!output.status.success(), "{url}: {message}");
        assert!(message.contains(&format!("\"{url}\"")), "{message}");
        assert!(message.contains("PONS_DATABASE_URL"), "{message}");
        assert!(message.contains("sqlite://PATH"), "{message}");
    }
    let created: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(created.is_empty(), "files created: {created:?}");
}

#[test]
fn postgres_url_without_database_rejected_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    for url in ["postgres://", "postgres:///", "postgres://127.0.0.1"] {
        // Port 1 on the loopback address refuses connections, so a build
        // that fills the URL in from these variables fails without reaching
        // a database.
        let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("PONS_") || name.starts_with("PG") {
                command.env_remove(name);
            }
        }
        let output = command
            .args(["--database-url", url, "user", "add", "z@z.co"])
            .env("PONS_DATA_DIR", &data_dir)
            .env("PONS_LOG", "warn")
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", "1")
            .output()
            .expect("run pons");

        let message = stderr(&output);
        assert!(!output.status.success(), "{url}: {message}");
        assert!(message.contains(&format!("\"{url}\"")), "{message}");
        assert!(message.contains("--database-url"), "{message}");
        assert!(
            message.contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
            "{message}"
        );
        assert!(!message.contains("failed to connect"), "{message}");
    }
    assert!(!data_dir.exists(), "the data directory was created");
}

#[test]
fn postgres_error_masks_query_password() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on the loopback address refuses the connection.
    let url = "postgres://postgres@127.0.0.1:1/pons?password=LEAKME&sslmode=disable";
    let env = [("PONS_DATABASE_URL", url)];
    let output = pons_with_env(dir.path(), &["user", "add", "z@z.co"], &env);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("postgres://***@127.0.0.1:1/pons?password=***&sslmode=disable"),
        "{message}"
    );
    assert!(!message.contains("LEAKME"), "{message}");
}

#[test]
fn sqlite_uri_file_name_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["file:y.db", "sqlite:file:y.db", "sqlite://file:y.db"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PONS_") {
                command.env_remove(name);
            }
        }
        let output = command
            .args(["--database-url", url, "user", "add", "z@z.co"])
            .current_dir(dir.path())
            .env("PONS_DATA_DIR", dir.path().join("data"))
            .env("PONS_LOG", "warn")
            .output()
            .expect("run pons");

        let message = stderr(&output);
        assert!(!output.status.success(), "{url}: {message}");
        assert!(
            message.contains("SQLite URI file names are not supported"),
            "{message}"
        );
        assert!(message.contains("sqlite://PATH"), "{message}");
    }
    let created: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(created.is_empty(), "files created: {created:?}");
}
