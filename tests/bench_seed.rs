//! `pons bench seed` as the benchmark scripts run it: the built binary on
//! a data directory, judged by exit status, output and what the database
//! contains afterwards.

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Seeds a small corpus into `data_dir`.
fn bench_seed(data_dir: &Path) -> Output {
    pons(
        data_dir,
        &[
            "bench",
            "seed",
            "--conversations",
            "100",
            "--messages",
            "20",
        ],
    )
}

/// Counts the rows of `table` in the SQLite database of `data_dir`.
fn count_rows(data_dir: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(data_dir.join("pons.db")).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

/// Adds the account "Shop" with +15550001111, the benchmark's default
/// number, owned by a real user.
fn add_shop(data_dir: &Path) {
    let added = pons(data_dir, &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));
    let token = data_dir.join("token.txt");
    let secret = data_dir.join("app-secret.txt");
    std::fs::write(&token, "token").unwrap();
    std::fs::write(&secret, "secret").unwrap();
    let added = pons(
        data_dir,
        &[
            "account",
            "add",
            "--owner",
            "you@example.com",
            "--name",
            "Shop",
            "--waba-id",
            "200000000000001",
            "--phone-number-id",
            "200000000000002",
            "--phone-number",
            "+15550001111",
            "--access-token-file",
            token.to_str().unwrap(),
            "--app-secret-file",
            secret.to_str().unwrap(),
        ],
    );
    assert!(added.status.success(), "account add: {}", stderr(&added));
}

#[test]
fn seed_rejects_real_installation() {
    let dir = tempfile::tempdir().unwrap();
    add_shop(dir.path());
    let before = std::fs::read(dir.path().join("pons.db")).unwrap();

    let output = bench_seed(dir.path());

    assert!(
        !output.status.success(),
        "bench seed wrote into a real database"
    );
    let message = stderr(&output);
    assert!(message.contains("\"Shop\""), "{message}");
    assert!(
        message.contains(&dir.path().join("pons.db").display().to_string()),
        "{message}"
    );
    assert!(message.contains("an empty directory"), "{message}");
    assert!(output.stdout.is_empty(), "printed a key: {output:?}");
    let after = std::fs::read(dir.path().join("pons.db")).unwrap();
    assert!(before == after, "the database changed");
}

#[test]
fn seed_rejects_database_with_other_user() {
    let dir = tempfile::tempdir().unwrap();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));

    let output = bench_seed(dir.path());

    assert!(
        !output.status.success(),
        "bench seed wrote into a real database"
    );
    let message = stderr(&output);
    assert!(message.contains("you@example.com"), "{message}");
    assert_eq!(count_rows(dir.path(), "users"), 1);
    assert_eq!(count_rows(dir.path(), "api_keys"), 0);
}

#[test]
fn seed_runs_again_on_own_database() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");

    let first = bench_seed(&data_dir);
    assert!(first.status.success(), "first seed: {}", stderr(&first));
    let second = bench_seed(&data_dir);
    assert!(second.status.success(), "second seed: {}", stderr(&second));

    assert_eq!(count_rows(&data_dir, "users"), 1);
    assert_eq!(count_rows(&data_dir, "accounts"), 1);
    assert_eq!(count_rows(&data_dir, "api_keys"), 2);
}
