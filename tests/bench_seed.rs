//! `pons bench seed` as the benchmark scripts run it: the built binary on
//! a data directory, judged by exit status, output and what the database
//! contains afterwards.

#[allow(dead_code)]
mod postgres_harness;

use std::path::Path;
use std::process::{Command, Output};

use sqlx::Connection;

/// Runs `pons ARGS` on `data_dir` with no other `PONS_*` setting.
fn pons(data_dir: &Path, args: &[&str]) -> Output {
    pons_with_env(data_dir, args, &[])
}

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

/// Seeds a small corpus into `data_dir`.
fn bench_seed(data_dir: &Path) -> Output {
    bench_seed_with_env(data_dir, &[])
}

/// Arguments of `pons bench seed` for a small corpus.
const SMALL_SEED: [&str; 6] = [
    "bench",
    "seed",
    "--conversations",
    "100",
    "--messages",
    "20",
];

/// Seeds a small corpus with the `PONS_*` settings `env`.
fn bench_seed_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Output {
    pons_with_env(data_dir, &SMALL_SEED, env)
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
    assert_eq!(
        count_rows(&data_dir, "api_keys WHERE revoked_at IS NULL"),
        1,
        "only the latest run's key works"
    );
    assert!(
        stderr(&second).contains("revoked the API key"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn seed_rerun_with_other_email_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let first = bench_seed(dir.path());
    assert!(first.status.success(), "first seed: {}", stderr(&first));

    let args = [&SMALL_SEED[..], &["--email", "other@example.com"]].concat();
    let output = pons(dir.path(), &args);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("bench@example.com"), "{message}");
    assert!(
        message.contains("run it with the values of that run"),
        "{message}"
    );
    assert_eq!(count_rows(dir.path(), "users"), 1);
}

/// Counts the rows of `table` in the PostgreSQL database at `url`.
async fn count_postgres_rows(url: &str, table: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let sql = format!("SELECT count(*) FROM {table}");
    let count = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .expect("count rows");
    conn.close().await.ok();
    count
}

#[tokio::test]
async fn seed_rejects_postgres_installation() {
    let database = postgres_harness::EmptyDatabase::create().await;
    let url = database.url();
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let added = pons_with_env(dir.path(), &["user", "add", "you@example.com"], &env);
    assert!(added.status.success(), "user add: {}", stderr(&added));

    let output = bench_seed_with_env(dir.path(), &env);

    assert!(
        !output.status.success(),
        "bench seed wrote into a real database"
    );
    let message = stderr(&output);
    assert!(message.contains("you@example.com"), "{message}");
    assert!(message.contains("an empty database"), "{message}");
    assert!(output.stdout.is_empty(), "printed a key: {output:?}");
    assert_eq!(count_postgres_rows(&url, "users").await, 1);
    assert_eq!(count_postgres_rows(&url, "api_keys").await, 0);
}

#[tokio::test]
async fn seed_runs_again_on_own_postgres_database() {
    let database = postgres_harness::EmptyDatabase::create().await;
    let url = database.url();
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();

    let first = bench_seed_with_env(dir.path(), &env);
    assert!(first.status.success(), "first seed: {}", stderr(&first));
    let second = bench_seed_with_env(dir.path(), &env);
    assert!(second.status.success(), "second seed: {}", stderr(&second));

    assert_eq!(count_postgres_rows(&url, "users").await, 1);
    assert_eq!(count_postgres_rows(&url, "api_keys").await, 2);
    let working = count_postgres_rows(&url, "api_keys WHERE revoked_at IS NULL").await;
    assert_eq!(working, 1, "only the latest run's key works");
}

#[test]
fn seed_rejects_days_out_of_range() {
    for days in ["0", "99999999"] {
        let dir = tempfile::tempdir().unwrap();
        let output = pons(dir.path(), &["bench", "seed", "--days", days]);
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains("--days"), "{message}");
        assert!(message.contains("1..=3650"), "{message}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing created for --days {days}"
        );
    }
}
