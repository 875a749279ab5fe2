//! The administration commands as an operator types them: the built binary
//! on a fresh data directory (its SQLite database, or a PostgreSQL one
//! where a test names it), judged by exit status and output.

mod postgres_harness;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sqlx::Connection;

/// Runs `pons ARGS` on `data_dir` with no other `PONS_*` setting.
fn pons(data_dir: &Path, args: &[&str]) -> Output {
    pons_with_env(data_dir, args, &[])
}

/// Runs `pons ARGS` on `data_dir` with the `PONS_*` settings `env` only.
fn pons_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    pons_command(data_dir, env)
        .args(args)
        .output()
        .expect("run pons")
}

/// Builds a `pons` command on `data_dir` with the `PONS_*` settings `env`
/// and none of the test process's own.
fn pons_command(data_dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PONS_") {
            command.env_remove(name);
        }
    }
    command
        .env("PONS_DATA_DIR", data_dir)
        .env("PONS_LOG", "warn")
        .envs(env.iter().copied());
    command
}

/// Returns the arguments of `pons account add` for "Shop" with
/// +15550001111, owned by you@example.com, with its secrets read from the
/// files `token` and `secret`.
fn shop_add_args<'a>(token: &'a str, secret: &'a str) -> [&'a str; 16] {
    [
        "account",
        "add",
        "--owner",
        "you@example.com",
        "--name",
        "Shop",
        "--waba-id",
        "100000000000001",
        "--phone-number-id",
        "100000000000002",
        "--phone-number",
        "+15550001111",
        "--access-token-file",
        token,
        "--app-secret-file",
        secret,
    ]
}

/// Creates the SQLite database of `data_dir` as `pons serve` does at its
/// first start, because the commands that store no secret need one. The
/// store creates it in a scratch folder and `VACUUM INTO` copies it,
/// because the store's threads keep their file open.
fn create_database(data_dir: &Path) {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("pons.db");
    let url = format!("sqlite://{}", source.display());
    // A thread of its own, so that async tests can call it too.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            drop(pons::store::connect(&url).await.expect("create database"));
        });
    })
    .join()
    .expect("create database");
    std::fs::create_dir_all(data_dir).unwrap();
    let target = data_dir.join("pons.db");
    let conn = rusqlite::Connection::open(&source).expect("open the new database");
    conn.execute("VACUUM INTO ?1", [target.to_str().expect("UTF-8 path")])
        .expect("copy the new database");
}

/// Returns a new temporary data directory with an empty database.
fn data_dir_with_database() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    create_database(dir.path());
    dir
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
    let dir = data_dir_with_database();
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
    let dir = data_dir_with_database();
    user_with_key(dir.path());
    let unknown = pons::apikey::generate().text;

    let revoked = pons(dir.path(), &["key", "revoke", &unknown]);
    let message = stderr(&revoked);
    assert!(!revoked.status.success());
    assert!(message.contains("pons key list"), "{message}");
    assert!(!message.contains(&unknown), "{message}");
}

#[test]
fn key_revoke_mistyped_key_hides_it() {
    let dir = data_dir_with_database();
    let key = user_with_key(dir.path());
    let mut mistyped = key[..key.len() - 1].to_owned();
    mistyped.push(if key.ends_with('A') { 'B' } else { 'A' });

    for reference in [mistyped.as_str(), &key[..key.len() - 1]] {
        let revoked = pons(dir.path(), &["key", "revoke", reference]);
        let message = stderr(&revoked);
        assert!(!revoked.status.success(), "{reference} accepted");
        assert!(message.contains("not a valid API key"), "{message}");
        assert!(!message.contains(&key[..key.len() - 1]), "{message}");
    }
    let listed = stdout(&pons(dir.path(), &["key", "list"]));
    assert!(
        !listed.contains("revoked"),
        "the key stays active: {listed}"
    );
}

#[test]
fn key_revoke_trims_pasted_key() {
    let dir = data_dir_with_database();
    let key = user_with_key(dir.path());
    let pasted = format!(" {key}\n");

    let revoked = pons(dir.path(), &["key", "revoke", &pasted]);
    assert!(revoked.status.success(), "key revoke: {}", stderr(&revoked));
    assert!(!stderr(&revoked).contains(&key), "{}", stderr(&revoked));
}

#[test]
fn key_revoke_unknown_prefix_names_fix() {
    let dir = data_dir_with_database();
    user_with_key(dir.path());

    let revoked = pons(dir.path(), &["key", "revoke", "pons_missing"]);
    let message = stderr(&revoked);
    assert!(!revoked.status.success());
    assert!(message.contains("\"pons_missing\" not found"), "{message}");
    assert!(message.contains("pons key list"), "{message}");
}

#[test]
fn key_name_with_control_character_rejected() {
    let dir = data_dir_with_database();
    user_with_key(dir.path());

    for name in [
        "two\nlines",
        "red \u{1b}[31m",
        "tab\there",
        "Desk\u{202e}top",
        "line\u{2028}separator",
    ] {
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
fn long_email_rejected() {
    let dir = data_dir_with_database();
    let domain = "@example.com";
    let longest = format!("{}{domain}", "a".repeat(254 - domain.len()));
    let too_long = format!("{}{domain}", "a".repeat(255 - domain.len()));
    let huge = format!("{}{domain}", "a".repeat(5000));

    for email in [&too_long, &huge] {
        let added = pons(dir.path(), &["user", "add", email]);
        let message = stderr(&added);
        assert!(
            !added.status.success(),
            "{} characters accepted",
            email.len()
        );
        assert!(message.contains("at most 254"), "{message}");
        assert!(
            message.contains(&format!("{}…", "a".repeat(63))),
            "{message}"
        );
        assert!(
            message.len() < 500,
            "the whole email is repeated: {message}"
        );
    }
    let added = pons(dir.path(), &["user", "add", &longest]);
    assert!(added.status.success(), "254 characters: {}", stderr(&added));
}

#[test]
fn long_key_name_rejected() {
    let dir = data_dir_with_database();
    user_with_key(dir.path());
    let create = |name: &str| {
        pons(
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
        )
    };

    for length in [101, 20_000] {
        let created = create(&"k".repeat(length));
        let message = stderr(&created);
        assert!(!created.status.success(), "{length} characters accepted");
        assert!(
            stdout(&created).is_empty(),
            "{length} characters printed a key"
        );
        assert!(
            message.contains(&format!("is {length} characters long")),
            "{message}"
        );
        assert!(message.contains("at most 100"), "{message}");
        assert!(message.len() < 500, "the whole name is repeated: {message}");
    }
    let created = create(&"k".repeat(100));
    assert!(
        created.status.success(),
        "100 characters: {}",
        stderr(&created)
    );
}

#[test]
fn long_account_name_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));

    for length in [101, 100_000] {
        let name = "s".repeat(length);
        let added = add_account(dir.path(), &[], &name, "+15550001111", "100000000000002");
        let message = stderr(&added);
        assert!(!added.status.success(), "{length} characters accepted");
        assert!(
            message.contains(&format!("is {length} characters long")),
            "{message}"
        );
        assert!(message.contains("at most 100"), "{message}");
        assert!(message.len() < 500, "the whole name is repeated: {message}");
    }
    let name = "s".repeat(100);
    let added = add_account(dir.path(), &[], &name, "+15550001111", "100000000000002");
    assert!(added.status.success(), "100 characters: {}", stderr(&added));
}

#[test]
fn account_name_with_control_character_rejected() {
    let dir = data_dir_with_database();
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

/// Creates users you@example.com and them@example.com and the account
/// +15550001111, owned by you@example.com.
fn shop_with_two_users(data_dir: &Path) {
    for email in ["you@example.com", "them@example.com"] {
        let added = pons(data_dir, &["user", "add", email]);
        assert!(added.status.success(), "user add: {}", stderr(&added));
    }
    let added = add_shop(data_dir, &[]);
    assert!(added.status.success(), "account add: {}", stderr(&added));
}

/// Runs `pons account add` for +15550001111, owned by you@example.com, with
/// the `PONS_*` settings `env`.
fn add_shop(data_dir: &Path, env: &[(&str, &str)]) -> Output {
    add_account(data_dir, env, "Shop", "+15550001111", "100000000000002")
}

/// Runs `pons account add` for the number `phone` named `name`, owned by
/// you@example.com, with the `PONS_*` settings `env`.
fn add_account(
    data_dir: &Path,
    env: &[(&str, &str)],
    name: &str,
    phone: &str,
    phone_number_id: &str,
) -> Output {
    let token = data_dir.join("token.txt");
    let secret = data_dir.join("app-secret.txt");
    std::fs::write(&token, "token").unwrap();
    std::fs::write(&secret, "secret").unwrap();
    pons_with_env(
        data_dir,
        &[
            "account",
            "add",
            "--owner",
            "you@example.com",
            "--name",
            name,
            "--waba-id",
            "100000000000001",
            "--phone-number-id",
            phone_number_id,
            "--phone-number",
            phone,
            "--access-token-file",
            token.to_str().unwrap(),
            "--app-secret-file",
            secret.to_str().unwrap(),
        ],
        env,
    )
}

/// Token or secret files that are no Meta credential, with the part of
/// the error that names the problem.
const BAD_CREDENTIALS: [(&str, &str); 4] = [
    ("tok\0en", "the character '\\u{0}' at byte offset 3"),
    ("a\nb", "the character '\\n' at byte offset 1"),
    (
        "tok\r\nX-Injected: 1\n",
        "the character '\\r' at byte offset 3",
    ),
    ("  tok en\n", "the character ' ' at byte offset 5"),
];

#[test]
fn account_add_rejects_overlong_ids() {
    let dir = tempfile::tempdir().unwrap();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));
    let long_id = "1".repeat(400);

    let output = add_account(dir.path(), &[], "Shop", "+15550001111", &long_id);

    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains("invalid --phone-number-id: 400 digits"),
        "{message}"
    );
    assert!(
        !message.contains(&long_id),
        "the id is not echoed: {message}"
    );
}

#[test]
fn account_add_rejects_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "user add: {}", stderr(&added));
    let long = "t".repeat(2 * 1024 * 1024);
    let too_long = "t".repeat(4097);
    let mut cases: Vec<(&str, &str)> = BAD_CREDENTIALS.to_vec();
    cases.push((&long, "bytes or longer"));
    cases.push((&too_long, "is 4097 characters long"));
    for (file, content, expected) in cases.iter().flat_map(|(content, expected)| {
        ["token.txt", "app-secret.txt"].map(|file| (file, *content, *expected))
    }) {
        let output = add_account_with_file(dir.path(), file, content);
        let message = stderr(&output);
        assert!(!output.status.success(), "{file} {content:?}: {message}");
        let path = dir.path().join(file).display().to_string();
        assert!(message.contains(&path), "{file} {content:?}: {message}");
        assert!(message.contains(expected), "{file} {content:?}: {message}");
        assert!(
            message.contains("put only the token or secret in the file"),
            "{file} {content:?}: {message}"
        );
    }
    let listed = pons(dir.path(), &["account", "list"]);
    assert!(
        !stdout(&listed).contains("+15550001111"),
        "{}",
        stdout(&listed)
    );

    let output = add_account_with_file(dir.path(), "token.txt", " \t token \r\n");
    assert!(
        output.status.success(),
        "trimmed token: {}",
        stderr(&output)
    );
}

#[test]
fn set_credentials_rejects_bad_token() {
    let dir = tempfile::tempdir().unwrap();
    shop_with_two_users(dir.path());
    let token = dir.path().join("new-token.txt");
    for (content, expected) in BAD_CREDENTIALS {
        std::fs::write(&token, content).unwrap();
        let output = pons(
            dir.path(),
            &[
                "account",
                "set-credentials",
                "--account",
                "+15550001111",
                "--access-token-file",
                token.to_str().unwrap(),
            ],
        );
        let message = stderr(&output);
        assert!(!output.status.success(), "{content:?}: {message}");
        assert!(message.contains(expected), "{content:?}: {message}");
        assert!(
            message.contains(&token.display().to_string()),
            "{content:?}: {message}"
        );
    }
}

/// Runs `pons account add` for +15550001111 with `content` in the token or
/// secret file `file` and a valid value in the other.
fn add_account_with_file(data_dir: &Path, file: &str, content: &str) -> Output {
    let token = data_dir.join("token.txt");
    let secret = data_dir.join("app-secret.txt");
    std::fs::write(&token, "token").unwrap();
    std::fs::write(&secret, "secret").unwrap();
    std::fs::write(data_dir.join(file), content).unwrap();
    let args = shop_add_args(token.to_str().unwrap(), secret.to_str().unwrap());
    pons(data_dir, &args)
}

/// Runs `pons member ACTION --account +15550001111 ARGS`.
fn member(data_dir: &Path, action: &str, args: &[&str]) -> Output {
    let mut all = vec!["member", action, "--account", "+15550001111"];
    all.extend_from_slice(args);
    pons(data_dir, &all)
}

/// Returns each member's email and role as `member list` prints them.
fn members(data_dir: &Path) -> Vec<(String, String)> {
    let listed = member(data_dir, "list", &[]);
    assert!(listed.status.success(), "member list: {}", stderr(&listed));
    stdout(&listed)
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect()
}

fn pair(email: &str, role: &str) -> (String, String) {
    (email.to_owned(), role.to_owned())
}

#[test]
fn member_add_list_and_remove() {
    let dir = data_dir_with_database();
    shop_with_two_users(dir.path());
    assert_eq!(members(dir.path()), [pair("you@example.com", "owner")]);

    let added = member(
        dir.path(),
        "add",
        &["--user", "them@example.com", "--role", "member"],
    );
    assert!(added.status.success(), "member add: {}", stderr(&added));
    assert_eq!(
        members(dir.path()),
        [
            pair("you@example.com", "owner"),
            pair("them@example.com", "member")
        ]
    );

    let removed = member(dir.path(), "remove", &["--user", "them@example.com"]);
    assert!(
        removed.status.success(),
        "member remove: {}",
        stderr(&removed)
    );
    assert_eq!(members(dir.path()), [pair("you@example.com", "owner")]);

    let again = member(dir.path(), "remove", &["--user", "them@example.com"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("them@example.com is not a member of +15550001111"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn only_owner_stays_owner() {
    let dir = data_dir_with_database();
    shop_with_two_users(dir.path());

    let demoted = member(
        dir.path(),
        "add",
        &["--user", "you@example.com", "--role", "member"],
    );
    assert!(!demoted.status.success());
    assert!(
        stderr(&demoted).contains("only owner of +15550001111"),
        "{}",
        stderr(&demoted)
    );
    let removed = member(dir.path(), "remove", &["--user", "you@example.com"]);
    assert!(!removed.status.success());
    assert!(
        stderr(&removed).contains("only owner of +15550001111"),
        "{}",
        stderr(&removed)
    );
    assert_eq!(members(dir.path()), [pair("you@example.com", "owner")]);

    // With a second owner the first may step down.
    let promoted = member(
        dir.path(),
        "add",
        &["--user", "them@example.com", "--role", "owner"],
    );
    assert!(promoted.status.success(), "{}", stderr(&promoted));
    let stepped_down = member(
        dir.path(),
        "add",
        &["--user", "you@example.com", "--role", "admin"],
    );
    assert!(stepped_down.status.success(), "{}", stderr(&stepped_down));
    assert_eq!(
        members(dir.path()),
        [
            pair("them@example.com", "owner"),
            pair("you@example.com", "admin")
        ]
    );
}

#[test]
fn first_admin_command_notes_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let note = "so a new one was created";

    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains(note), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("PONS_DATA_DIR"),
        "{}",
        stderr(&first)
    );

    let second = pons(dir.path(), &["key", "list"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stderr(&second).contains(note), "{}", stderr(&second));
}

/// Runs `pons ARGS` in the folder `cwd` with no `PONS_*` setting at all,
/// as an operator does from an unrelated folder.
fn pons_in_folder(cwd: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PONS_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .current_dir(cwd)
        .env("PONS_LOG", "warn")
        .output()
        .expect("run pons")
}

#[test]
fn no_secret_commands_need_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 4] = [
        &["account", "list"],
        &["key", "list"],
        &["member", "list", "--account", "+15550001111"],
        &["key", "revoke", "pons_abc"],
    ];
    for args in commands {
        let output = pons_in_folder(dir.path(), args);

        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?}: {message}");
        assert!(
            message.contains("no Pons database at ./pons-data/pons.db"),
            "{args:?}: {message}"
        );
        for setting in [
            "--data-dir (PONS_DATA_DIR)",
            "--database-url (PONS_DATABASE_URL)",
            "configuration file",
        ] {
            assert!(message.contains(setting), "{args:?}: {message}");
        }
        let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(created.is_empty(), "{args:?} created {created:?}");
    }
}

#[test]
fn first_user_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = pons_in_folder(dir.path(), &["user", "add", "you@example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("pons-data/pons.db").is_file());
    assert!(
        !dir.path().join("pons-data/encryption.key").exists(),
        "a user needs no encryption key"
    );
    let listed = pons_in_folder(dir.path(), &["account", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

#[test]
fn set_credentials_needs_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("pons-data");
    let token = dir.path().join("token.txt");
    std::fs::write(&token, "token").unwrap();

    let replaced = pons(
        &data_dir,
        &[
            "account",
            "set-credentials",
            "--account",
            "+15550001111",
            "--access-token-file",
            token.to_str().unwrap(),
        ],
    );

    let message = stderr(&replaced);
    assert!(!replaced.status.success(), "{message}");
    assert!(message.contains("no Pons database at"), "{message}");
    assert!(!data_dir.exists(), "no data directory is created");
}

#[test]
fn empty_database_file_is_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("pons.db");
    std::fs::write(&database, "").unwrap();

    let listed = pons(dir.path(), &["account", "list"]);

    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    let expected = format!("no Pons database at {}", database.display());
    assert!(message.contains(&expected), "{message}");
    assert_eq!(std::fs::metadata(&database).unwrap().len(), 0);
}

#[test]
fn account_add_prints_public_webhook_url() {
    let dir = data_dir_with_database();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));

    let account = add_shop(
        dir.path(),
        &[("PONS_PUBLIC_URL", "https://pons.example.com")],
    );

    assert!(account.status.success(), "{}", stderr(&account));
    let printed = format!("{}{}", stdout(&account), stderr(&account));
    assert!(
        printed.contains("https://pons.example.com/api/webhook"),
        "{printed}"
    );
}

/// Returns a valid encryption key that differs from the one a data
/// directory creates.
fn other_key() -> String {
    BASE64.encode([7u8; 32])
}

/// Adds the shop with the data directory's own key, then replaces the key
/// file with [`other_key`] and keeps the original as `original.key`.
fn shop_under_replaced_key(data_dir: &Path, env: &[(&str, &str)]) {
    let added = pons_with_env(data_dir, &["user", "add", "you@example.com"], env);
    assert!(added.status.success(), "user add: {}", stderr(&added));
    let added = add_shop(data_dir, env);
    assert!(added.status.success(), "account add: {}", stderr(&added));
    let key_file = data_dir.join("encryption.key");
    std::fs::rename(&key_file, data_dir.join("original.key")).unwrap();
    std::fs::write(&key_file, other_key()).unwrap();
}

/// Checks that admin commands reject the replaced key with an error that
/// names the key file and the account, and accept the original key again.
fn assert_wrong_key_rejected(data_dir: &Path, env: &[(&str, &str)]) {
    shop_under_replaced_key(data_dir, env);
    let key_file = data_dir.join("encryption.key");

    let listed = pons_with_env(data_dir, &["account", "list"], env);
    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    assert!(
        message.contains(&format!("encryption key file {}", key_file.display())),
        "{message}"
    );
    assert!(message.contains("\"Shop\" (+15550001111"), "{message}");
    assert!(message.contains("restore the key file"), "{message}");
    assert!(
        message.contains("pons account set-credentials"),
        "{message}"
    );
    assert!(!message.contains(&other_key()), "{message}");

    // One new secret under the other key would leave the account needing
    // both keys.
    let secret = data_dir.join("new-app-secret.txt");
    std::fs::write(&secret, "new-secret").unwrap();
    let args = [
        "account",
        "set-credentials",
        "--account",
        "+15550001111",
        "--app-secret-file",
        secret.to_str().unwrap(),
    ];
    let mixed = pons_with_env(data_dir, &args, env);
    assert!(!mixed.status.success(), "{}", stderr(&mixed));
    assert!(
        stderr(&mixed).contains("cannot decrypt the access token"),
        "{}",
        stderr(&mixed)
    );

    std::fs::rename(data_dir.join("original.key"), &key_file).unwrap();
    let restored = pons_with_env(data_dir, &["account", "list"], env);
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert!(stdout(&restored).contains("Shop"), "{}", stdout(&restored));
}

#[test]
fn wrong_key_rejected_on_sqlite() {
    let dir = data_dir_with_database();
    assert_wrong_key_rejected(dir.path(), &[]);
}

#[tokio::test]
async fn wrong_key_rejected_on_postgres() {
    let database = postgres_harness::TestDatabase::create().await;
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    assert_wrong_key_rejected(dir.path(), &[("PONS_DATABASE_URL", &url)]);

    let accounts = pons::store::Store::list_accounts(&database.store)
        .await
        .expect("list accounts");
    let numbers: Vec<&str> = accounts.iter().map(|a| a.phone_number.as_str()).collect();
    assert_eq!(numbers, ["15550001111"], "the shop is stored on PostgreSQL");
}

/// Runs `pons serve` on `data_dir` with the `PONS_*` settings `env` and
/// returns its exit status and standard error once it has stopped. Fails
/// the test instead of hanging when the server starts.
fn serve_until_exit(data_dir: &Path, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    run_until_exit(data_dir, "serve", env)
}

/// Runs `pons SUBCOMMAND --bind 127.0.0.1:0` (`serve` or `demo`) on
/// `data_dir` with the `PONS_*` settings `env` and returns its exit status
/// and standard error once it has stopped. Fails the test instead of
/// hanging when the server starts.
fn run_until_exit(
    data_dir: &Path,
    subcommand: &str,
    env: &[(&str, &str)],
) -> (std::process::ExitStatus, String) {
    let log = data_dir.join(format!("{subcommand}.log"));
    run_until_exit_logging(data_dir, subcommand, env, &log)
}

/// Like [`run_until_exit`], with standard error written to `log`.
fn run_until_exit_logging(
    data_dir: &Path,
    subcommand: &str,
    env: &[(&str, &str)],
    log: &Path,
) -> (std::process::ExitStatus, String) {
    let mut serve = pons_command(data_dir, env)
        .args([subcommand, "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|error| panic!("run pons {subcommand}: {error}"));

    let mut status = None;
    for _ in 0..600 {
        status = serve.try_wait().expect("wait for pons");
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if status.is_none() {
        serve.kill().expect("stop pons");
        serve.wait().expect("wait for pons");
    }
    let message = std::fs::read_to_string(log).unwrap();
    let status = status.unwrap_or_else(|| panic!("pons {subcommand} started: {message}"));
    (status, message)
}

#[test]
fn serve_rejects_wrong_key() {
    let dir = data_dir_with_database();
    shop_under_replaced_key(dir.path(), &[]);

    let (status, message) = serve_until_exit(dir.path(), &[]);

    assert!(!status.success(), "{message}");
    assert!(
        message.contains("cannot decrypt the access token"),
        "{message}"
    );
    assert!(message.contains("\"Shop\""), "{message}");
}

#[test]
fn set_credentials_recovers_lost_key() {
    let dir = data_dir_with_database();
    shop_under_replaced_key(dir.path(), &[]);
    let token = dir.path().join("new-token.txt");
    let secret = dir.path().join("new-app-secret.txt");
    std::fs::write(&token, "new-token").unwrap();
    std::fs::write(&secret, "new-secret").unwrap();

    let args = [
        "account",
        "set-credentials",
        "--account",
        "+15550001111",
        "--access-token-file",
        token.to_str().unwrap(),
        "--app-secret-file",
        secret.to_str().unwrap(),
    ];

    // Without --key-lost, a key that is not the database's may be the key
    // file of another data directory, so nothing is stored.
    let rejected = pons(dir.path(), &args);
    let message = stderr(&rejected);
    assert!(!rejected.status.success(), "{message}");
    assert!(message.contains("is not this database's key"), "{message}");
    assert!(message.contains("--key-lost"), "{message}");

    let replaced = pons(
        dir.path(),
        &[&args[..4], &["--key-lost"], &args[4..]].concat(),
    );
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert!(
        stderr(&replaced).contains("is now this database's key"),
        "{}",
        stderr(&replaced)
    );
    let listed = pons(dir.path(), &["account", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));

    let key_file = dir.path().join("encryption.key");
    std::fs::rename(dir.path().join("original.key"), &key_file).unwrap();
    let lost = pons(dir.path(), &["key", "list"]);
    assert!(
        !lost.status.success(),
        "the lost key is rejected once found"
    );
}

/// Checks the error of a key that cannot decrypt the key verifier.
fn assert_verifier_rejection(output: &Output, key_file: &Path) {
    let message = stderr(output);
    assert!(!output.status.success(), "{message}");
    assert!(
        message.contains(&format!("encryption key file {}", key_file.display())),
        "{message}"
    );
    assert!(
        message.contains("cannot decrypt the database's key verifier"),
        "{message}"
    );
    assert!(message.contains("restore the key file"), "{message}");
    assert!(message.contains("PONS_ENCRYPTION_KEY_FILE"), "{message}");
    assert!(message.contains("pons encryption-key adopt"), "{message}");
    assert!(!message.contains(&other_key()), "{message}");
}

/// Uses a database with no account with its own key, then with another
/// key and with a missing key file, which are rejected before anything is
/// stored, and then with its own key again.
fn assert_other_key_rejected_without_accounts(data_dir: &Path, env: &[(&str, &str)]) {
    let first = pons_with_env(data_dir, &["encryption-key", "adopt"], env);
    assert!(first.status.success(), "{}", stderr(&first));
    let key_file = data_dir.join("encryption.key");
    let original = std::fs::read_to_string(&key_file).unwrap();
    std::fs::write(&key_file, other_key()).unwrap();

    let listed = pons_with_env(data_dir, &["key", "list"], env);
    assert_verifier_rejection(&listed, &key_file);
    let added = pons_with_env(data_dir, &["user", "add", "you@example.com"], env);
    assert_verifier_rejection(&added, &key_file);

    let missing = data_dir.join("missing.key");
    let missing_text = missing.to_str().unwrap();
    let mut missing_env = env.to_vec();
    missing_env.push(("PONS_ENCRYPTION_KEY_FILE", missing_text));
    let without_file = pons_with_env(data_dir, &["key", "list"], &missing_env);
    let message = stderr(&without_file);
    assert!(!without_file.status.success(), "{message}");
    assert!(
        message.contains(&format!("encryption key file {missing_text} is missing")),
        "{message}"
    );
    assert!(message.contains("restore that file"), "{message}");
    assert!(!missing.exists(), "no new key file is created");

    std::fs::write(&key_file, original).unwrap();
    let added = pons_with_env(data_dir, &["user", "add", "you@example.com"], env);
    assert!(
        added.status.success(),
        "the rejected `user add` stored nothing: {}",
        stderr(&added)
    );
}

#[test]
fn other_key_rejected_without_accounts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    assert_other_key_rejected_without_accounts(dir.path(), &[]);
}

#[tokio::test]
async fn other_key_rejected_without_accounts_on_postgres() {
    let database = postgres_harness::TestDatabase::create().await;
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    assert_other_key_rejected_without_accounts(dir.path(), &[("PONS_DATABASE_URL", &url)]);

    let user = pons::store::Store::find_user_by_email(&database.store, "you@example.com")
        .await
        .expect("find user");
    assert!(user.is_some(), "the user is stored on PostgreSQL");
}

#[test]
fn wrong_key_error_names_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let other = dir.path().join("other.key");
    std::fs::write(&other, other_key()).unwrap();
    let other_text = other.to_str().unwrap();
    let config = dir.path().join("pons.toml");
    std::fs::write(&config, format!("encryption_key_file = \"{other_text}\"\n")).unwrap();
    let config_text = config.to_str().unwrap();

    let by_flag = pons(
        dir.path(),
        &["key", "list", "--encryption-key-file", other_text],
    );
    let by_variable = pons_with_env(
        dir.path(),
        &["key", "list"],
        &[("PONS_ENCRYPTION_KEY_FILE", other_text)],
    );
    let by_file = pons(dir.path(), &["--config", config_text, "key", "list"]);
    let named_in_file =
        format!("point `encryption_key_file` in the configuration file {config_text} at it");
    let cases = [
        (by_flag, "point --encryption-key-file at it".to_owned()),
        (
            by_variable,
            "point the environment variable PONS_ENCRYPTION_KEY_FILE at it".to_owned(),
        ),
        (by_file, named_in_file),
    ];
    let rejection =
        format!("encryption key file {other_text} cannot decrypt the database's key verifier");
    for (output, named) in cases {
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains(&rejection), "{message}");
        assert!(message.contains(&named), "{message}");
        assert!(!message.contains("PONS_DATA_DIR"), "{message}");
    }

    // The default key file names the data directory's settings.
    let key_file = dir.path().join("encryption.key");
    std::fs::write(&key_file, other_key()).unwrap();
    let by_default = pons(dir.path(), &["key", "list"]);
    assert_verifier_rejection(&by_default, &key_file);
    let message = stderr(&by_default);
    assert!(
        message.contains("point the data directory (--data-dir, PONS_DATA_DIR or `data_dir`"),
        "{message}"
    );
    assert!(message.contains("default key file"), "{message}");
}

#[test]
fn unreadable_key_file_error_names_its_setting() {
    let dir = tempfile::tempdir().unwrap();
    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let short = dir.path().join("short.key");
    std::fs::write(&short, "c2hvcnQ=").unwrap();
    let short_text = short.to_str().unwrap();
    let folder_text = dir.path().to_str().unwrap();

    let cases = [
        (
            pons(
                dir.path(),
                &["key", "list", "--encryption-key-file", short_text],
            ),
            "it decodes to 5 bytes",
            "This path comes from --encryption-key-file.",
        ),
        (
            pons_with_env(
                dir.path(),
                &["key", "list"],
                &[("PONS_ENCRYPTION_KEY_FILE", folder_text)],
            ),
            "it is not a regular file",
            "This path comes from the environment variable PONS_ENCRYPTION_KEY_FILE.",
        ),
    ];
    for (output, problem, named) in cases {
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert!(message.contains(problem), "{message}");
        assert!(message.contains(named), "{message}");
    }

    std::fs::write(dir.path().join("encryption.key"), "").unwrap();
    let by_default = pons(dir.path(), &["key", "list"]);
    let message = stderr(&by_default);
    assert!(!by_default.status.success(), "{message}");
    assert!(message.contains("it is empty"), "{message}");
    assert!(
        message.contains("This path is the default key file in the data directory"),
        "{message}"
    );
}

#[test]
fn serve_rejects_other_key_without_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let other = dir.path().join("other.key");
    std::fs::write(&other, other_key()).unwrap();

    let env = [("PONS_ENCRYPTION_KEY_FILE", other.to_str().unwrap())];
    let (status, message) = serve_until_exit(dir.path(), &env);

    assert!(!status.success(), "{message}");
    assert!(
        message.contains(&format!(
            "encryption key file {} cannot decrypt the database's key verifier",
            other.display()
        )),
        "{message}"
    );
    assert!(message.contains("restore the key file"), "{message}");
    assert!(message.contains("PONS_ENCRYPTION_KEY_FILE"), "{message}");
}

#[test]
fn encryption_key_adopt_replaces_lost_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let key_file = dir.path().join("encryption.key");
    std::fs::rename(&key_file, dir.path().join("lost.key")).unwrap();

    let adopted = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(adopted.status.success(), "{}", stderr(&adopted));
    assert!(
        stderr(&adopted).contains(&format!(
            "encryption key file {} is now this database's key",
            key_file.display()
        )),
        "{}",
        stderr(&adopted)
    );
    assert!(key_file.exists(), "a new key file is created");
    let listed = pons(dir.path(), &["key", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let again = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already this database's key"),
        "{}",
        stderr(&again)
    );

    std::fs::rename(dir.path().join("lost.key"), &key_file).unwrap();
    let lost = pons(dir.path(), &["key", "list"]);
    assert_verifier_rejection(&lost, &key_file);
}

#[test]
fn encryption_key_adopt_needs_every_account() {
    let dir = data_dir_with_database();
    shop_under_replaced_key(dir.path(), &[]);

    let adopted = pons(dir.path(), &["encryption-key", "adopt"]);

    let message = stderr(&adopted);
    assert!(!adopted.status.success(), "{message}");
    assert!(message.contains("\"Shop\" (+15550001111"), "{message}");
    assert!(
        message.contains("pons account set-credentials"),
        "{message}"
    );
    std::fs::rename(
        dir.path().join("original.key"),
        dir.path().join("encryption.key"),
    )
    .unwrap();
    let restored = pons(dir.path(), &["account", "list"]);
    assert!(restored.status.success(), "{}", stderr(&restored));
}

/// Runs `pons account set-credentials --account PHONE` with both secrets
/// and the further arguments `extra`, with the `PONS_*` settings `env`.
fn set_credentials(data_dir: &Path, env: &[(&str, &str)], phone: &str, extra: &[&str]) -> Output {
    let token = data_dir.join("new-token.txt");
    let secret = data_dir.join("new-app-secret.txt");
    std::fs::write(&token, "new-token").unwrap();
    std::fs::write(&secret, "new-secret").unwrap();
    let mut args = vec![
        "account",
        "set-credentials",
        "--account",
        phone,
        "--access-token-file",
        token.to_str().unwrap(),
        "--app-secret-file",
        secret.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pons_with_env(data_dir, &args, env)
}

#[test]
fn lost_key_file_one_account_recovered() {
    let dir = data_dir_with_database();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_shop(dir.path(), &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    let key_file = dir.path().join("encryption.key");
    std::fs::rename(&key_file, dir.path().join("lost.key")).unwrap();

    let listed = pons(dir.path(), &["account", "list"]);
    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    assert!(
        message.contains(&format!(
            "encryption key file {} is missing",
            key_file.display()
        )),
        "{message}"
    );
    assert!(message.contains("\"Shop\" (+15550001111"), "{message}");
    assert!(
        message.contains(
            "`pons account set-credentials --account +15550001111 --key-lost \
             --access-token-file PATH --app-secret-file PATH`"
        ),
        "{message}"
    );
    assert!(!key_file.exists(), "a rejected command creates no key file");

    // A missing key file may be a wrong data directory, so creating a new
    // one takes --key-lost.
    let rejected = set_credentials(dir.path(), &[], "+15550001111", &[]);
    let message = stderr(&rejected);
    assert!(!rejected.status.success(), "{message}");
    assert!(message.contains("is missing"), "{message}");
    assert!(message.contains("add --key-lost"), "{message}");
    assert!(!key_file.exists(), "a rejected command creates no key file");

    let replaced = set_credentials(dir.path(), &[], "+15550001111", &["--key-lost"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert!(
        stderr(&replaced).contains("is now this database's key"),
        "{}",
        stderr(&replaced)
    );
    assert!(key_file.exists(), "a new key file is created");
    let listed = pons(dir.path(), &["account", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("Shop"), "{}", stdout(&listed));

    std::fs::rename(dir.path().join("lost.key"), &key_file).unwrap();
    let lost = pons(dir.path(), &["key", "list"]);
    assert!(
        !lost.status.success(),
        "the lost key is rejected once found"
    );
}

#[test]
fn set_credentials_unknown_account_creates_no_key() {
    let dir = data_dir_with_database();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_shop(dir.path(), &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    let key_file = dir.path().join("encryption.key");
    std::fs::remove_file(&key_file).unwrap();

    let replaced = set_credentials(dir.path(), &[], "+15559999999", &["--key-lost"]);

    let message = stderr(&replaced);
    assert!(!replaced.status.success(), "{message}");
    assert!(
        message.contains("account \"+15559999999\" not found"),
        "{message}"
    );
    assert!(!key_file.exists(), "no key file for an unknown account");
}

#[test]
fn rejected_key_lost_leaves_no_key_file() {
    let dir = data_dir_with_database();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_shop(dir.path(), &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    let key_file = dir.path().join("encryption.key");
    std::fs::remove_file(&key_file).unwrap();
    let token = dir.path().join("new-token.txt");
    let empty = dir.path().join("empty-app-secret.txt");
    std::fs::write(&token, "new-token").unwrap();
    std::fs::write(&empty, " \n").unwrap();
    let args = [
        "account",
        "set-credentials",
        "--account",
        "+15550001111",
        "--key-lost",
        "--access-token-file",
        token.to_str().unwrap(),
        "--app-secret-file",
        empty.to_str().unwrap(),
    ];

    let empty_secret = pons(dir.path(), &args);
    let message = stderr(&empty_secret);
    assert!(!empty_secret.status.success(), "{message}");
    assert!(message.contains("is empty"), "{message}");
    assert!(!key_file.exists(), "an empty app secret left a key file");

    let server = pons::data_dir_lock::lock_for_server(dir.path()).unwrap();
    let beside_server = set_credentials(dir.path(), &[], "+15550001111", &["--key-lost"]);
    drop(server);
    assert_key_change_rejected(&beside_server, dir.path(), "pons account set-credentials");
    assert!(!key_file.exists(), "a running server left a key file");

    let replaced = set_credentials(dir.path(), &[], "+15550001111", &["--key-lost"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert!(
        stderr(&replaced).contains("is now this database's key"),
        "{}",
        stderr(&replaced)
    );
    let listed = pons(dir.path(), &["account", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

#[test]
fn rejected_account_add_creates_no_key() {
    let dir = data_dir_with_database();
    let key_file = dir.path().join("encryption.key");

    let unknown_owner = add_shop(dir.path(), &[]);
    let message = stderr(&unknown_owner);
    assert!(!unknown_owner.status.success(), "{message}");
    assert!(
        message.contains("user \"you@example.com\" not found"),
        "{message}"
    );
    assert!(!key_file.exists(), "an unknown owner left a key file");

    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_account(dir.path(), &[], "Shop", "+15550001111", "not-digits");
    let message = stderr(&added);
    assert!(!added.status.success(), "{message}");
    assert!(message.contains("invalid --phone-number-id"), "{message}");
    assert!(!key_file.exists(), "an invalid id left a key file");

    let added = add_shop(dir.path(), &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        key_file.exists(),
        "a successful command creates the key file"
    );
}

#[test]
fn key_lost_needs_both_secret_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token.txt");
    std::fs::write(&token, "token").unwrap();

    let replaced = pons(
        dir.path(),
        &[
            "account",
            "set-credentials",
            "--account",
            "+15550001111",
            "--access-token-file",
            token.to_str().unwrap(),
            "--key-lost",
        ],
    );

    let message = stderr(&replaced);
    assert!(!replaced.status.success(), "{message}");
    assert!(message.contains("--app-secret-file"), "{message}");
}

/// Adds the shop and a second account, the cafe (+15550002222), then moves
/// the key file away as if it were lost, and stores both accounts' secrets
/// again one by one with `--key-lost`.
fn assert_lost_key_recovered_one_by_one(data_dir: &Path, env: &[(&str, &str)]) {
    let added = pons_with_env(data_dir, &["user", "add", "you@example.com"], env);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_shop(data_dir, env);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_account(data_dir, env, "Cafe", "+15550002222", "100000000000003");
    assert!(added.status.success(), "{}", stderr(&added));
    let key_file = data_dir.join("encryption.key");
    let lost_key = data_dir.join("lost.key");
    std::fs::rename(&key_file, &lost_key).unwrap();

    let listed = pons_with_env(data_dir, &["account", "list"], env);
    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    assert!(message.contains("is missing"), "{message}");
    assert!(
        message.contains("--key-lost --access-token-file PATH --app-secret-file PATH"),
        "{message}"
    );
    assert!(message.contains("+15550001111, +15550002222"), "{message}");

    let without_flag = set_credentials(data_dir, env, "+15550001111", &[]);
    let message = stderr(&without_flag);
    assert!(!without_flag.status.success(), "{message}");
    assert!(message.contains("is missing"), "{message}");
    assert!(
        message.contains("add --key-lost to this command"),
        "{message}"
    );
    assert!(message.contains("\"Cafe\" (+15550002222"), "{message}");
    assert!(!key_file.exists(), "a rejected command creates no key file");

    let first = set_credentials(data_dir, env, "+15550001111", &["--key-lost"]);
    let message = stderr(&first);
    assert!(first.status.success(), "{message}");
    assert!(key_file.exists(), "the first command creates a key file");
    assert!(
        message.contains("1 account(s) still have secrets"),
        "{message}"
    );
    assert!(message.contains("\"Cafe\" (+15550002222"), "{message}");
    assert!(!message.contains("is now this database's key"), "{message}");

    let listed = pons_with_env(data_dir, &["account", "list"], env);
    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    assert!(
        message.contains("cannot decrypt the access token of account \"Cafe\""),
        "{message}"
    );
    assert!(!message.contains("\"Shop\""), "{message}");
    assert!(
        message.contains("pons account set-credentials --account +15550002222"),
        "{message}"
    );

    let last = set_credentials(data_dir, env, "+15550002222", &["--key-lost"]);
    assert!(last.status.success(), "{}", stderr(&last));
    assert!(
        stderr(&last).contains("is now this database's key"),
        "{}",
        stderr(&last)
    );
    let listed = pons_with_env(data_dir, &["account", "list"], env);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("Shop"), "{}", stdout(&listed));
    assert!(stdout(&listed).contains("Cafe"), "{}", stdout(&listed));

    let mut lost_env = env.to_vec();
    lost_env.push(("PONS_ENCRYPTION_KEY_FILE", lost_key.to_str().unwrap()));
    let lost = pons_with_env(data_dir, &["key", "list"], &lost_env);
    assert!(
        !lost.status.success(),
        "the lost key is rejected once found"
    );
}

#[test]
fn lost_key_two_accounts_on_sqlite() {
    let dir = data_dir_with_database();
    assert_lost_key_recovered_one_by_one(dir.path(), &[]);
}

#[tokio::test]
async fn lost_key_two_accounts_on_postgres() {
    let database = postgres_harness::TestDatabase::create().await;
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    assert_lost_key_recovered_one_by_one(dir.path(), &[("PONS_DATABASE_URL", &url)]);

    let accounts = pons::store::Store::list_accounts(&database.store)
        .await
        .expect("list accounts");
    assert_eq!(accounts.len(), 2, "both accounts are stored on PostgreSQL");
}

#[test]
fn serve_lists_accounts_under_lost_key() {
    let dir = data_dir_with_database();
    let added = pons(dir.path(), &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_shop(dir.path(), &[]);
    assert!(added.status.success(), "{}", stderr(&added));
    let added = add_account(dir.path(), &[], "Cafe", "+15550002222", "100000000000003");
    assert!(added.status.success(), "{}", stderr(&added));
    std::fs::remove_file(dir.path().join("encryption.key")).unwrap();
    let first = set_credentials(dir.path(), &[], "+15550001111", &["--key-lost"]);
    assert!(first.status.success(), "{}", stderr(&first));

    let (status, message) = serve_until_exit(dir.path(), &[]);

    assert!(!status.success(), "{message}");
    assert!(message.contains("\"Cafe\" (+15550002222"), "{message}");
    assert!(!message.contains("\"Shop\""), "{message}");
    assert!(
        message.contains("pons account set-credentials --account +15550002222"),
        "{message}"
    );
}

/// Runs the commands that store no secret on a new database, with a data
/// directory that does not exist, and checks that they neither create a
/// key file nor store a key verifier.
fn assert_no_secret_commands_create_no_key(data_dir: &Path, env: &[(&str, &str)]) {
    let commands: [&[&str]; 4] = [
        &["account", "list"],
        &["key", "list"],
        &["user", "add", "you@example.com"],
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
    ];
    for args in commands {
        let output = pons_with_env(data_dir, args, env);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }
    assert!(
        !data_dir.join("encryption.key").exists(),
        "no key file is created"
    );
}

#[tokio::test]
async fn no_secret_commands_store_no_key_on_postgres() {
    let database = postgres_harness::TestDatabase::create().await;
    let url = database.url();
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("elsewhere").join("pons-data");

    assert_no_secret_commands_create_no_key(&stray, &env);

    assert!(!stray.exists(), "no data directory is created");
    let verifier = pons::store::Store::key_verifier(&database.store)
        .await
        .expect("read verifier");
    assert_eq!(verifier, None, "no key verifier is stored");

    let server = dir.path().join("server");
    std::fs::create_dir(&server).unwrap();
    let added = add_shop(&server, &env);
    assert!(
        added.status.success(),
        "the server's key is accepted: {}",
        stderr(&added)
    );
    let listed = pons_with_env(&stray, &["account", "list"], &env);
    let message = stderr(&listed);
    assert!(!listed.status.success(), "{message}");
    assert!(message.contains("is missing"), "{message}");
    assert!(!stray.exists(), "no data directory is created");
}

#[tokio::test]
async fn no_secret_commands_store_no_key_on_sqlite() {
    let dir = data_dir_with_database();

    assert_no_secret_commands_create_no_key(dir.path(), &[]);

    let url = format!("sqlite://{}", dir.path().join("pons.db").display());
    let store = pons::store::connect(&url).await.expect("open store");
    let verifier = store.key_verifier().await.expect("read verifier");
    assert_eq!(verifier, None, "no key verifier is stored");
}

/// Checks the error of a command that would change the database's key
/// while a server or demo has the data directory locked.
fn assert_key_change_rejected(output: &Output, data_dir: &Path, command: &str) {
    let message = stderr(output);
    assert!(!output.status.success(), "{message}");
    let directory = format!("is using the data directory {}", data_dir.display());
    assert!(message.contains(&directory), "{message}");
    assert!(
        message.contains("stop every server and demo on this directory first"),
        "{message}"
    );
    assert!(
        message.contains(&format!("run `{command}` again")),
        "{message}"
    );
}

#[test]
fn encryption_key_adopt_waits_for_stopped_servers() {
    let dir = tempfile::tempdir().unwrap();
    let first = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::rename(
        dir.path().join("encryption.key"),
        dir.path().join("lost.key"),
    )
    .unwrap();

    // The lock of a running `pons serve`, then the one of `pons demo`.
    let server = pons::data_dir_lock::lock_for_server(dir.path()).unwrap();
    let beside_server = pons(dir.path(), &["encryption-key", "adopt"]);
    drop(server);
    let demo = pons::data_dir_lock::lock_for_demo(dir.path()).unwrap();
    let beside_demo = pons(dir.path(), &["encryption-key", "adopt"]);
    drop(demo);

    for output in [&beside_server, &beside_demo] {
        assert_key_change_rejected(output, dir.path(), "pons encryption-key adopt");
    }
    assert!(
        !dir.path().join("encryption.key").exists(),
        "a rejected adopt created a key file"
    );
    let adopted = pons(dir.path(), &["encryption-key", "adopt"]);
    assert!(adopted.status.success(), "{}", stderr(&adopted));
    let _server = pons::data_dir_lock::lock_for_server(dir.path()).unwrap();
    let listed = pons(dir.path(), &["key", "list"]);
    assert!(listed.status.success(), "adopt released its lock");
}

#[test]
fn set_credentials_moving_key_waits_for_stopped_servers() {
    let dir = data_dir_with_database();
    shop_under_replaced_key(dir.path(), &[]);
    let token = dir.path().join("new-token.txt");
    let secret = dir.path().join("new-app-secret.txt");
    std::fs::write(&token, "new-token").unwrap();
    std::fs::write(&secret, "new-secret").unwrap();
    let args = [
        "account",
        "set-credentials",
        "--account",
        "+15550001111",
        "--key-lost",
        "--access-token-file",
        token.to_str().unwrap(),
        "--app-secret-file",
        secret.to_str().unwrap(),
    ];

    let server = pons::data_dir_lock::lock_for_server(dir.path()).unwrap();
    let moving = pons(dir.path(), &args);
    drop(server);

    assert_key_change_rejected(&moving, dir.path(), "pons account set-credentials");
    let key_file = dir.path().join("encryption.key");
    std::fs::rename(&key_file, dir.path().join("other.key")).unwrap();
    std::fs::rename(dir.path().join("original.key"), &key_file).unwrap();
    let listed = pons(dir.path(), &["account", "list"]);
    assert!(
        listed.status.success(),
        "the rejected command changed the secrets: {}",
        stderr(&listed)
    );

    // With the database's own key, new credentials move no key, so a
    // running server does not stop them.
    let _server = pons::data_dir_lock::lock_for_server(dir.path()).unwrap();
    let same_key = pons(dir.path(), &args);
    assert!(same_key.status.success(), "{}", stderr(&same_key));
}

#[test]
fn serve_rejects_directory_as_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let lock_file = dir.path().join("pons.lock");
    std::fs::create_dir(&lock_file).unwrap();

    let (status, message) = serve_until_exit(dir.path(), &[]);

    assert!(!status.success(), "{message}");
    let expected = format!("the lock file {} is a directory", lock_file.display());
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("remove"), "{message}");
}

#[test]
fn serve_and_demo_name_bad_data_paths() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data-file");
    std::fs::write(&file, "not a directory").unwrap();
    let file_setting = file.to_str().unwrap();

    for subcommand in ["serve", "demo"] {
        let env = [("PONS_DATA_DIR", file_setting)];
        let (status, message) = run_until_exit(dir.path(), subcommand, &env);

        assert!(!status.success(), "{subcommand}: {message}");
        let expected = format!("the data directory {} is a file", file.display());
        assert!(message.contains(&expected), "{subcommand}: {message}");
        assert!(
            message.contains("not a directory"),
            "{subcommand}: {message}"
        );
        assert!(message.contains("PONS_DATA_DIR"), "{subcommand}: {message}");
        assert!(!message.contains("read access"), "{subcommand}: {message}");

        let data_dir = dir.path().join(format!("{subcommand}-data"));
        let database = data_dir.join("pons.db");
        std::fs::create_dir_all(&database).unwrap();
        let (status, message) = run_until_exit(&data_dir, subcommand, &[]);

        assert!(!status.success(), "{subcommand}: {message}");
        let expected = format!("SQLite database {} is a directory", database.display());
        assert!(message.contains(&expected), "{subcommand}: {message}");
        assert!(message.contains("move it away"), "{subcommand}: {message}");
        assert!(
            !message.contains("disk I/O error"),
            "{subcommand}: {message}"
        );
    }
    assert!(file.is_file(), "the file stays as it was");
}

#[test]
fn demo_names_empty_database_beside_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("pons.db");
    std::fs::write(&database, "").unwrap();
    std::fs::write(dir.path().join("encryption.key"), "key").unwrap();

    let (status, message) = run_until_exit(dir.path(), "demo", &[]);

    assert!(!status.success(), "{message}");
    let expected = format!("an empty database file {} (0 bytes)", database.display());
    assert!(message.contains(&expected), "{message}");
    assert!(!message.contains("no database"), "{message}");
    assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
}

#[test]
fn symbolic_link_lock_file_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for subcommand in ["serve", "demo"] {
        let target = dir.path().join(format!("{subcommand}-target.lock"));
        let data_dir = dir.path().join(subcommand);
        std::fs::create_dir(&data_dir).unwrap();
        let lock_file = data_dir.join("pons.lock");
        std::os::unix::fs::symlink(&target, &lock_file).unwrap();

        let (status, message) = run_until_exit(&data_dir, subcommand, &[]);

        assert!(!status.success(), "{subcommand}: {message}");
        let expected = format!("the lock file {} is a symbolic link", lock_file.display());
        assert!(message.contains(&expected), "{subcommand}: {message}");
        assert!(
            message.contains("remove the link"),
            "{subcommand}: {message}"
        );
        assert!(!target.exists(), "{subcommand} created the link's target");
    }
}

#[tokio::test]
async fn list_commands_set_up_no_postgres_database() {
    let database = postgres_harness::EmptyDatabase::create().await;
    let url = database.url();
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("pons-data");

    for args in [&["account", "list"][..], &["key", "list"][..]] {
        let output = pons_with_env(&data_dir, args, &env);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?}: {message}");
        assert!(message.contains("no Pons tables"), "{args:?}: {message}");
        assert!(message.contains("pons user add"), "{args:?}: {message}");
    }
    let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_one(&mut connection)
            .await
            .expect("count tables");
    assert_eq!(tables, 0, "no table was created");

    let added = pons_with_env(&data_dir, &["user", "add", "you@example.com"], &env);
    assert!(added.status.success(), "{}", stderr(&added));
    let listed = pons_with_env(&data_dir, &["account", "list"], &env);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

/// The first command on an empty PostgreSQL database notes that it set
/// the database up, naming the database without its password and the
/// setting that chose it, as on a new SQLite file.
#[tokio::test]
async fn first_postgres_command_notes_new_database() {
    let database = postgres_harness::EmptyDatabase::create().await;
    let url = database.url();
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("pons-data");
    let note = "had no Pons tables, so a new one was created";

    let added = pons_with_env(&data_dir, &["user", "add", "you@example.com"], &env);
    let message = stderr(&added);
    assert!(added.status.success(), "{message}");
    assert!(message.contains(note), "{message}");
    let shown = pons::echo::without_credentials(&url);
    assert!(message.contains(&shown), "{message}");
    assert!(
        message.contains("point the environment variable PONS_DATABASE_URL at its database"),
        "{message}"
    );
    assert!(!message.contains("PONS_DATA_DIR"), "{message}");

    let second = pons_with_env(&data_dir, &["user", "add", "them@example.com"], &env);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stderr(&second).contains(note), "{}", stderr(&second));
}

/// A search_path that names no existing schema leaves PostgreSQL no
/// schema to create the tables in. The error explains that once, with the
/// fix.
#[tokio::test]
async fn postgres_search_path_without_schema_explained() {
    let database = postgres_harness::EmptyDatabase::create().await;
    let url = format!(
        "{}{}options=-c%20search_path%3Dno_such_schema",
        database.url(),
        if database.url().contains('?') {
            "&"
        } else {
            "?"
        }
    );
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();

    let added = pons_with_env(
        &dir.path().join("pons-data"),
        &["user", "add", "you@example.com"],
        &env,
    );

    let message = stderr(&added);
    assert!(!added.status.success(), "{message}");
    assert!(
        message.contains("search_path (\"no_such_schema\") names no existing schema"),
        "{message}"
    );
    assert!(message.contains("CREATE SCHEMA"), "{message}");
    assert!(
        message.matches("no schema has been selected").count() <= 1,
        "{message}"
    );
}

/// The note about a new SQLite database names the setting that chose it.
#[test]
fn new_database_note_names_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db").join("pons.db");
    std::fs::create_dir(dir.path().join("db")).unwrap();
    let url = format!("sqlite://{}", file.display());

    let added = pons(
        &dir.path().join("pons-data"),
        &["--database-url", &url, "user", "add", "you@example.com"],
    );

    let message = stderr(&added);
    assert!(added.status.success(), "{message}");
    assert!(message.contains("so a new one was created"), "{message}");
    assert!(
        message.contains("point --database-url at its database"),
        "{message}"
    );
    assert!(!message.contains("PONS_DATA_DIR"), "{message}");
}

#[test]
fn failed_first_commands_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    let secret = secret.to_str().unwrap();
    let commands: [&[&str]; 2] = [
        &["user", "add", "not-an-email"],
        &[
            "account",
            "add",
            "--owner",
            "nobody@example.com",
            "--name",
            "Shop",
            "--waba-id",
            "100000000000001",
            "--phone-number-id",
            "100000000000002",
            "--phone-number",
            "+15550001111",
            "--access-token-file",
            secret,
            "--app-secret-file",
            secret,
        ],
    ];
    for args in commands {
        let output = pons_in_folder(dir.path(), args);
        assert!(!output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(
            !dir.path().join("pons-data").exists(),
            "{args:?} left {:?}",
            std::fs::read_dir(dir.path().join("pons-data"))
                .map(|entries| entries.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
    }
}

#[test]
fn account_add_checks_arguments_before_owner() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    let secret = secret.to_str().unwrap();
    let output = pons_in_folder(
        dir.path(),
        &[
            "account",
            "add",
            "--owner",
            "nobody@example.com",
            "--name",
            "Shop",
            "--waba-id",
            "1000000000000x1",
            "--phone-number-id",
            "100000000000002",
            "--phone-number",
            "+15550001111",
            "--access-token-file",
            secret,
            "--app-secret-file",
            secret,
        ],
    );
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("invalid --waba-id"), "{message}");
}

#[test]
fn unreadable_key_file_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.key");
    std::fs::write(&empty, "").unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("enc.key");
    for (name, key_file) in [("empty", &empty), ("under-file", &under_file)] {
        let data_dir = dir.path().join(name);
        // A closed loopback port as the Graph API, in case the server starts.
        let output = pons_with_env(
            &data_dir,
            &[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--encryption-key-file",
                key_file.to_str().unwrap(),
            ],
            &[("PONS_GRAPH_API_URL", "http://127.0.0.1:9/v25.0")],
        );
        let message = stderr(&output);
        assert!(!output.status.success(), "{name}: {message}");
        assert!(
            message.contains("--encryption-key-file"),
            "{name}: {message}"
        );
        assert!(
            !data_dir.join("pons.db").exists(),
            "{name}: a failed start created a database"
        );
    }
}

/// A first start on a PostgreSQL database that does not exist, and a key
/// adoption there, fail without leaving the data directory they created.
#[tokio::test]
async fn failed_first_start_leaves_no_data_directory() {
    let server_url = std::env::var(postgres_harness::URL_VARIABLE).expect("test server URL");
    let name = format!("pons_missing_{}", uuid::Uuid::new_v4().simple());
    let url = postgres_harness::database_url(&server_url, &name);
    let env = [("PONS_DATABASE_URL", url.as_str())];
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("new").join("pons-data");

    let (status, message) =
        run_until_exit_logging(&data_dir, "serve", &env, &root.path().join("serve.log"));

    assert!(!status.success(), "{message}");
    assert!(message.contains("createdb"), "{message}");
    assert!(!root.path().join("new").exists(), "{message}");

    let adopted = pons_with_env(&data_dir, &["encryption-key", "adopt"], &env);
    let message = stderr(&adopted);
    assert!(!adopted.status.success(), "{message}");
    assert!(!root.path().join("new").exists(), "{message}");
}

/// Ctrl-C while `pons account add` waits for a secret on standard input
/// removes the database and the data directory that it created.
#[test]
fn interrupted_secret_prompt_leaves_no_database() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("new").join("pons-data");
    let secret = root.path().join("app-secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    let mut child = pons_command(&data_dir, &[])
        .args(shop_add_args("-", secret.to_str().unwrap()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pons account add");
    // The database exists once the command waits for the token.
    for _ in 0..300 {
        if data_dir.join("pons.db").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        data_dir.join("pons.db").exists(),
        "the command created its database"
    );

    // Standard input stays open until the command has exited, so that it
    // never reads the end of its input instead of the interruption.
    let stdin = child.stdin.take();
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill only sends a signal to the child started above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().expect("wait for pons");
    drop(stdin);

    let mut message = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut message).unwrap();
    assert_eq!(status.code(), Some(130), "{message}");
    assert!(message.contains("interrupted by Ctrl-C"), "{message}");
    assert!(message.contains("removed again"), "{message}");
    assert!(!root.path().join("new").exists(), "{message}");
}

/// Ctrl-C while `pons account add` waits for a secret on standard input,
/// on a database that an earlier command created, removes nothing and
/// prints no removal message.
#[test]
fn interrupted_prompt_on_existing_database() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("pons-data");
    let added = pons(&data_dir, &["user", "add", "you@example.com"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let secret = root.path().join("app-secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    let mut child = pons_command(&data_dir, &[])
        .args(shop_add_args("-", secret.to_str().unwrap()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pons account add");
    // The command opens the database after it has started listening for
    // Ctrl-C, and then waits for the token.
    let database = data_dir.join("pons.db");
    let has_database_open = || {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{}/fd", child.id())) else {
            return false;
        };
        entries
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .any(|target| target == database)
    };
    let mut opened = false;
    for _ in 0..300 {
        opened = has_database_open();
        if opened {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(opened, "the command opened its database");

    let stdin = child.stdin.take();
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill only sends a signal to the child started above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().expect("wait for pons");
    drop(stdin);

    let mut message = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut message).unwrap();
    assert_eq!(status.code(), Some(130), "{message}");
    assert!(message.contains("interrupted by Ctrl-C"), "{message}");
    assert!(!message.contains("removed"), "{message}");
    assert!(data_dir.join("pons.db").exists(), "{message}");
}

/// A failed first command removes every folder of the data directory's
/// path that it created, not only the last one.
#[test]
fn failed_command_removes_created_parents() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("new").join("x").join("pons-data");

    let added = pons(&data_dir, &["user", "add", "not an email"]);

    assert!(!added.status.success(), "{}", stderr(&added));
    assert!(!root.path().join("new").exists(), "{}", stderr(&added));
}
