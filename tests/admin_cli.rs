//! The administration commands as an operator types them: the built binary
//! on a fresh SQLite data directory, judged by exit status and output.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `pons ARGS` on `data_dir` with no other `PONS_*` setting.
fn pons(data_dir: &Path, args: &[&str]) -> Output {
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
        .output()
        .expect("run pons")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Creates a user and a read key for it and returns the key's whole text.
fn user_with_key(data_dir: &Path) -> String {
    let added = pons(data_dir, &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));
    let created = pons(
        data_dir,
        &[
            "key",
            "create",
            "--user",
            "you@example.com",
            "--name",
            "laptop",
            "--scopes",
            "read",
        ],
    );
    assert!(created.status.success(), "key create: {}", stderr(&created));
    stdout(&created).trim().to_owned()
}

#[test]
fn key_revoke_accepts_whole_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = user_with_key(dir.path());
    let prefix = &key[..pons::apikey::DISPLAY_PREFIX_LEN];

    let revoked = pons(dir.path(), &["key", "revoke", &key]);
    assert!(revoked.status.success(), "key revoke: {}", stderr(&revoked));
    assert!(
        stderr(&revoked).contains(&format!("revoked key {prefix}")),
        "{}",
        stderr(&revoked)
    );

    let listed = stdout(&pons(dir.path(), &["key", "list"]));
    let row = listed
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no row for {prefix} in:\n{listed}"));
    assert!(row.trim_end().ends_with("revoked"), "{row}");
}

#[test]
fn key_revoke_unknown_key_hides_it() {
    let dir = tempfile::tempdir().unwrap();
    user_with_key(dir.path());
    let unknown = pons::apikey::generate().text;

    let revoked = pons(dir.path(), &["key", "revoke", &unknown]);
    let message = stderr(&revoked);
    assert!(!revoked.status.success());
    assert!(message.contains("pons key list"), "{message}");
    assert!(!message.contains(&unknown), "{message}");
}

#[test]
fn key_revoke_unknown_prefix_names_fix() {
    let dir = tempfile::tempdir().unwrap();
    user_with_key(dir.path());

    let revoked = pons(dir.path(), &["key", "revoke", "pons_missing"]);
    let message = stderr(&revoked);
    assert!(!revoked.status.success());
    assert!(message.contains("\"pons_missing\" not found"), "{message}");
    assert!(message.contains("pons key list"), "{message}");
}

#[test]
fn key_name_with_control_character_rejected() {
    let dir = tempfile::tempdir().unwrap();
    user_with_key(dir.path());

    for name in ["two\nlines", "red \u{1b}[31m", "tab\there"] {
        let created = pons(
            dir.path(),
            &[
                "key",
                "create",
                "--user",
                "you@example.com",
                "--name",
                name,
                "--scopes",
                "read",
            ],
        );
        let message = stderr(&created);
        assert!(!created.status.success(), "{name:?} accepted");
        assert!(stdout(&created).is_empty(), "{name:?} printed a key");
        assert!(message.contains("control character"), "{message}");
    }
    let listed = stdout(&pons(dir.path(), &["key", "list"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn account_name_with_control_character_rejected() {
    let dir = tempfile::tempdir().unwrap();
    user_with_key(dir.path());
    let token = dir.path().join("token.txt");
    let secret = dir.path().join("app-secret.txt");
    std::fs::write(&token, "token\n").unwrap();
    std::fs::write(&secret, "secret\n").unwrap();

    let added = pons(
        dir.path(),
        &[
            "account",
            "add",
            "--owner",
            "you@example.com",
            "--name",
            "Shop\n",
            "--waba-id",
            "100000000000001",
            "--phone-number-id",
            "100000000000002",
            "--phone-number",
            "+15550001111",
            "--access-token-file",
            token.to_str().unwrap(),
            "--app-secret-file",
            secret.to_str().unwrap(),
        ],
    );
    let message = stderr(&added);
    assert!(!added.status.success());
    assert!(message.contains("control character"), "{message}");
    let listed = stdout(&pons(dir.path(), &["account", "list"]));
    assert!(listed.is_empty(), "{listed}");
}
