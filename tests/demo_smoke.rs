//! `pons demo` as a newcomer runs it: the built binary on a fresh data
//! directory, read for the URL and key it prints, called over MCP, then
//! stopped with SIGTERM. A second run on the same directory reuses the
//! sandbox, prints a new key and revokes the first run's key; one started
//! while the first runs is refused. A data directory with accounts, users
//! or API keys that the demo did not create, with an encryption key or
//! media files but no database, or with an encryption key beside a database
//! without accounts or the demo user, is rejected and left unchanged. A demo and a `pons serve` never run on one
//! data directory at once, while two servers can.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Maximum wait for the demo to print its key; it usually takes about a second.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `pons demo` and what it printed.
struct Demo {
    child: Child,
    mcp_url: String,
    key: String,
    /// Standard output up to the banner's last line.
    banner: String,
    log: PathBuf,
}

impl Demo {
    async fn start(data_dir: &Path, log: PathBuf) -> Demo {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pons"))
            .arg("demo")
            .env("PONS_DATA_DIR", data_dir)
            .env("PONS_BIND", "127.0.0.1:0")
            .env("PONS_LOG", "info,rmcp=warn")
            .env_remove("PONS_CONFIG")
            .env_remove("PONS_DATABASE_URL")
            .env_remove("PONS_ENCRYPTION_KEY_FILE")
            .env_remove("PONS_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pons demo");
        let stdout = child.stdout.take().expect("stdout");
        let printed = tokio::time::timeout(STARTUP_TIMEOUT, read_banner(stdout)).await;
        let Ok(Some(banner)) = printed else {
            panic!(
                "pons demo printed no complete banner; its log:\n{}",
                read_log(&log)
            );
        };
        let mcp_url = banner_value(&banner, "MCP URL: ");
        let key = banner_value(&banner, "export PONS_API_KEY=");
        Demo {
            child,
            mcp_url,
            key,
            banner,
            log,
        }
    }

    /// Sends SIGTERM and returns whether the demo exited with status 0.
    async fn terminate(mut self) -> bool {
        let pid = self.child.id().expect("demo still running").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(sent.expect("run kill").success(), "kill -TERM failed");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("demo did not stop; its log:\n{}", read_log(&self.log)))
            .expect("wait for demo");
        if !status.success() {
            eprintln!(
                "demo exited with {status}; its log:\n{}",
                read_log(&self.log)
            );
        }
        status.success()
    }

    /// Calls a tool and returns its structured content, failing on a tool error.
    async fn tool(&self, name: &str, arguments: Value) -> Value {
        let result = self
            .rpc("tools/call", json!({"name": name, "arguments": arguments}))
            .await;
        assert_ne!(result["isError"], json!(true), "{name} failed: {result}");
        result["structuredContent"].clone()
    }

    /// GETs a path of the demo server with the demo's key.
    async fn get(&self, path: &str) -> reqwest::Response {
        let base = self.mcp_url.trim_end_matches("/api/mcp");
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(10)).unwrap();
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(&self.key)
            .send();
        response.await.expect("HTTP exchange")
    }

    /// Sends an MCP `initialize` request with `key` and returns the HTTP status.
    async fn initialize_status(&self, key: &str) -> u16 {
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(10)).unwrap();
        let params = json!({"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "demo-smoke", "version": "1"}});
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params});
        let response = http
            .post(&self.mcp_url)
            .bearer_auth(key)
            .header("accept", "application/json, text/event-stream")
            .json(&body)
            .send()
            .await
            .expect("MCP request");
        response.status().as_u16()
    }

    /// Sends a JSON-RPC request to the MCP endpoint and returns its result.
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(10)).unwrap();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response = http
            .post(&self.mcp_url)
            .bearer_auth(&self.key)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
            .send()
            .await
            .expect("MCP request");
        assert_eq!(response.status(), 200, "{method}");
        let text = response.text().await.expect("MCP body");
        let message = parse_message(&text);
        assert!(message.get("error").is_none(), "{method} failed: {message}");
        message["result"].clone()
    }
}

/// Line that ends the banner.
const BANNER_END: &str = "Press Ctrl+C to stop.";

/// Reads standard output up to and including the banner's last line.
async fn read_banner(stdout: tokio::process::ChildStdout) -> Option<String> {
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    while let Some(line) = lines.next_line().await.ok()? {
        banner.push_str(&line);
        banner.push('\n');
        if line == BANNER_END {
            // Keep draining the pipe so the demo never blocks on a full one.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Some(banner);
        }
    }
    None
}

/// Returns the rest of the banner line that starts with `prefix`.
fn banner_value(banner: &str, prefix: &str) -> String {
    let line = banner.lines().find_map(|line| line.strip_prefix(prefix));
    line.unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{banner}"))
        .trim()
        .to_owned()
}

/// Parses a JSON body or the first `data:` event of an SSE body.
fn parse_message(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    let data = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .find(|data| !data.is_empty())
        .unwrap_or_else(|| panic!("body is neither JSON nor SSE: {text}"));
    serde_json::from_str(data).expect("SSE data is JSON")
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn demo_serves_mcp_and_restarts() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("demo-data");

    let demo = Demo::start(&data_dir, dir.path().join("first.log")).await;
    let tools = demo.rpc("tools/list", json!({})).await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert!(names.contains(&"list_conversations"), "{names:?}");
    let listed = demo
        .rpc(
            "tools/call",
            json!({"name": "list_conversations", "arguments": {}}),
        )
        .await;
    let conversations = listed["structuredContent"]["conversations"]
        .as_array()
        .expect("conversations")
        .len();
    assert_eq!(conversations, 4, "{listed}");
    newcomer_session(&demo).await;
    let first_key = demo.key.clone();
    assert!(first_key.starts_with("pons_"));

    // A second demo on the same directory while the first runs is refused
    // and leaves the first one's key working.
    let log = dir.path().join("second-at-once.log");
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_pons"))
        .arg("demo")
        .env("PONS_DATA_DIR", &data_dir)
        .env("PONS_BIND", "127.0.0.1:0")
        .env("PONS_LOG", "warn")
        .env_remove("PONS_CONFIG")
        .stderr(std::fs::File::create(&log).expect("log file"))
        .stdout(Stdio::null())
        .status()
        .expect("run a second pons demo");
    let message = read_log(&log);
    assert!(!second.success(), "{message}");
    assert!(
        message.contains("another pons demo is running with the data directory"),
        "{message}"
    );
    assert_eq!(demo.initialize_status(&first_key).await, 200);
    assert_eq!(
        demo.banner.matches(&first_key).count(),
        1,
        "the banner prints the key once:\n{}",
        demo.banner
    );
    assert!(demo.terminate().await, "first run exits with status 0");
    // The second run must accept the first one's user, key and photo.
    let media = directory_snapshot(&data_dir.join("media"));
    assert!(
        media.iter().any(|(_, content)| content.is_some()),
        "the first run stored no media file: {media:?}"
    );

    let again = Demo::start(&data_dir, dir.path().join("second.log")).await;
    assert_ne!(again.key, first_key, "every run prints a new key");
    let listed = again
        .rpc(
            "tools/call",
            json!({"name": "list_conversations", "arguments": {}}),
        )
        .await;
    let conversations = listed["structuredContent"]["conversations"]
        .as_array()
        .expect("conversations")
        .len();
    assert_eq!(
        conversations, 4,
        "the second run reuses the sandbox: {listed}"
    );
    assert_eq!(
        again.initialize_status(&first_key).await,
        401,
        "the second run revokes the first run's key"
    );
    assert_eq!(again.initialize_status(&again.key).await, 200);
    assert!(again.terminate().await, "second run exits with status 0");
}

/// Reads, searches and replies to the seeded conversations the way a
/// newcomer's MCP client would.
async fn newcomer_session(demo: &Demo) {
    let templates = demo.tool("list_templates", json!({})).await;
    let names: Vec<&str> = templates["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"order_update"),
        "templates synced: {templates}"
    );

    let tom = demo
        .tool("get_conversation", json!({"phone": "+15550100002"}))
        .await;
    let messages = tom["messages"].as_array().expect("messages");
    let photo = messages
        .iter()
        .find(|m| m["type"] == "image")
        .expect("the seeded photo");
    let media = demo
        .get(&format!("/api/media/{}", photo["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        media.status(),
        200,
        "the photo was downloaded before the key was printed"
    );
    let content_type = media.headers().get("content-type").cloned();
    assert_eq!(content_type.unwrap(), "image/png");
    assert!(media.bytes().await.unwrap().starts_with(b"\x89PNG"));

    let found = demo
        .tool("search_messages", json!({"query": "zipper"}))
        .await;
    assert!(
        !found["hits"].as_array().expect("hits").is_empty(),
        "{found}"
    );

    let last = messages.last().expect("a message");
    let wamid = last["wamid"].as_str().expect("wamid");
    let reply = json!({"phone": "+15550100002", "text": "Sorry about that! A new jacket is on its way.",
        "replyToMessageId": wamid});
    assert!(demo.tool("send_text", reply).await["wamid"].is_string());
    let reaction = json!({"phone": "+15550100002", "waMessageId": wamid, "emoji": "🙏"});
    demo.tool("send_reaction", reaction).await;
    let template = json!({"phone": "+15550100004", "templateName": "order_update",
        "templateLanguage": "en_US", "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "Kenji"}, {"type": "text", "text": "#4821"}]}]});
    assert!(demo.tool("send_template", template).await["wamid"].is_string());
    let photo_template = json!({"phone": "+15550100004", "templateName": "parcel_photo",
        "templateLanguage": "en_US", "components": [
            {"type": "header", "parameters": [
                {"type": "image", "image": {"link": "https://shop.example.com/parcel-4821.jpg"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Kenji"}, {"type": "text", "text": "#4821"}]}]});
    assert!(
        demo.tool("send_template", photo_template).await["wamid"].is_string(),
        "a template with an image header"
    );
    let media = json!({"phone": "+15550100003", "url": "https://shop.example.com/opening-hours.pdf",
        "mimeType": "application/pdf", "filename": "opening-hours.pdf"});
    assert!(demo.tool("send_media", media).await["wamid"].is_string());
    demo.tool("mark_as_read", json!({"waMessageId": wamid}))
        .await;

    let after = demo
        .tool("get_conversation", json!({"phone": "+15550100002"}))
        .await;
    let outbound: Vec<&Value> = after["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 1, "{after}");
    let status = outbound[0]["status"].as_str().unwrap_or_default();
    assert!(["sent", "delivered", "read"].contains(&status), "{after}");
}

/// Runs `pons ARGS` on `data_dir` with no other `PONS_*` setting and
/// returns the output, failing unless it exits with status 0.
fn admin(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pons"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PONS_") {
            command.env_remove(name);
        }
    }
    let output = command
        .args(args)
        .env("PONS_DATA_DIR", data_dir)
        .env("PONS_LOG", "warn")
        .output()
        .expect("run pons");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "pons {args:?}: {message}");
    output
}

/// Creates the SQLite database of `data_dir` as `pons serve` does at its
/// first start, because the admin commands that store no secret need one.
/// The store creates it in a scratch folder and `VACUUM INTO` copies it,
/// because the store's threads keep their file open and may still write it.
async fn create_database(data_dir: &Path) {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let source = scratch.path().join("pons.db");
    let url = format!("sqlite://{}", source.display());
    drop(pons::store::connect(&url).await.expect("create database"));
    std::fs::create_dir_all(data_dir).expect("create the data directory");
    let target = data_dir.join("pons.db");
    let conn = rusqlite::Connection::open(&source).expect("open the new database");
    conn.execute("VACUUM INTO ?1", [target.to_str().expect("UTF-8 path")])
        .expect("copy the new database");
}

/// Returns the bytes of the database file and its write-ahead log. An
/// empty log counts as none, because a read-only connection creates an
/// empty one when the writer deleted the log at close.
fn database_bytes(data_dir: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
    let database = std::fs::read(data_dir.join("pons.db")).expect("read pons.db");
    let wal = std::fs::read(data_dir.join("pons.db-wal"))
        .ok()
        .filter(|wal| !wal.is_empty());
    (database, wal)
}

#[tokio::test]
async fn demo_rejects_real_data_directory() {
    // The first account has numbers of its own. The second has the
    // sandbox's numbers, as an installation tried out against
    // `pons metasim` has, but a name of its own.
    let cases = [
        ("Real", "200000000000001", "200000000000002", "+15552223333"),
        ("Shop", "100000000000001", "100000000000002", "+15550001111"),
    ];
    for (name, waba_id, phone_number_id, phone_number) in cases {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("prod");
        let token = dir.path().join("token.txt");
        let secret = dir.path().join("app-secret.txt");
        std::fs::write(&token, "token").unwrap();
        std::fs::write(&secret, "secret").unwrap();
        create_database(&data_dir).await;
        admin(&data_dir, &["user", "add", "real@example.com"]);
        admin(
            &data_dir,
            &[
                "account",
                "add",
                "--owner",
                "real@example.com",
                "--name",
                name,
                "--waba-id",
                waba_id,
                "--phone-number-id",
                phone_number_id,
                "--phone-number",
                phone_number,
                "--access-token-file",
                token.to_str().unwrap(),
                "--app-secret-file",
                secret.to_str().unwrap(),
            ],
        );
        let before = database_bytes(&data_dir);

        let demo = Command::new(env!("CARGO_BIN_EXE_pons"))
            .arg("demo")
            .env("PONS_DATA_DIR", &data_dir)
            .env("PONS_BIND", "127.0.0.1:0")
            .env("PONS_LOG", "warn")
            .env_remove("PONS_CONFIG")
            .env_remove("PONS_DATABASE_URL")
            .env_remove("PONS_ENCRYPTION_KEY_FILE")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let demo = tokio::time::timeout(STARTUP_TIMEOUT, demo)
            .await
            .unwrap_or_else(|_| panic!("{name}: pons demo started on a real data directory"))
            .expect("run pons demo");
        let message = String::from_utf8_lossy(&demo.stderr);

        assert!(!demo.status.success(), "{name}: {message}");
        assert!(
            message.contains(&format!("data directory {}", data_dir.display())),
            "{name}: {message}"
        );
        assert!(
            message.contains("contains a Pons database with 1 account(s)"),
            "{name}: {message}"
        );
        assert!(
            message.contains(&format!("\"{name}\"")),
            "{name}: {message}"
        );
        assert!(message.contains("unset PONS_DATA_DIR"), "{name}: {message}");
        assert!(message.contains("--data-dir"), "{name}: {message}");
        assert!(
            before == database_bytes(&data_dir),
            "{name}: the demo changed the database"
        );
        assert!(
            !data_dir.join("pons.lock").exists(),
            "{name}: the demo created its lock file"
        );
        let accounts = admin(&data_dir, &["account", "list"]);
        let accounts = String::from_utf8_lossy(&accounts.stdout);
        assert!(!accounts.contains("Demo Shop"), "{name}: {accounts}");
    }
}

/// A running `pons serve` and the address it listens on.
struct Serve {
    child: Child,
    addr: String,
    /// Standard error so far, one JSON log line per entry.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `pons serve` on `data_dir` with the settings of `env`, and
    /// waits until it listens and `/readyz` returns 200.
    async fn start(data_dir: &Path, env: &[(&str, &str)]) -> Serve {
        let mut child = pons_command(data_dir)
            .arg("serve")
            .env("PONS_BIND", "127.0.0.1:0")
            .env("PONS_LOG", "info")
            .env("PONS_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pons serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (listening, addr) = tokio::sync::oneshot::channel();
        tokio::spawn(read_server_log(stderr, log.clone(), listening));
        let addr = tokio::time::timeout(STARTUP_TIMEOUT, addr).await;
        let Ok(Ok(addr)) = addr else {
            panic!(
                "pons serve did not listen; its log:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        let serve = Serve { child, addr, log };
        assert_eq!(serve.readyz().await, 200, "/readyz after start");
        serve
    }

    /// Returns the status of `GET /readyz`.
    async fn readyz(&self) -> u16 {
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(10)).unwrap();
        let response = http.get(format!("http://{}/readyz", self.addr)).send();
        response.await.expect("HTTP exchange").status().as_u16()
    }

    /// Sends SIGTERM and returns whether the server exited with status 0.
    async fn terminate(mut self) -> bool {
        let pid = self.child.id().expect("server still running").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(sent.expect("run kill").success(), "kill -TERM failed");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server stops within 30 seconds")
            .expect("wait for pons serve");
        if !status.success() {
            let log = self.log.lock().unwrap().join("\n");
            eprintln!("pons serve exited with {status}; its log:\n{log}");
        }
        status.success()
    }
}

/// Collects the server's log lines into `log` and sends the address of its
/// "pons listening" line to `listening`.
async fn read_server_log(
    stderr: tokio::process::ChildStderr,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    listening: tokio::sync::oneshot::Sender<String>,
) {
    let mut listening = Some(listening);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let record: Option<Value> = serde_json::from_str(&line).ok();
        let fields = record.as_ref().map(|record| &record["fields"]);
        if let Some(fields) = fields.filter(|fields| fields["message"] == "pons listening") {
            let addr = fields["addr"].as_str().unwrap_or_default().to_owned();
            if let Some(sender) = listening.take() {
                let _ = sender.send(addr);
            }
        }
        log.lock().unwrap().push(line);
    }
}

/// Builds a `pons` command on `data_dir` with no other `PONS_*` setting.
fn pons_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pons"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PONS_") {
            command.env_remove(name);
        }
    }
    command.env("PONS_DATA_DIR", data_dir);
    command
}

/// Runs `pons COMMAND` on `data_dir`, which must fail within the start-up
/// timeout, and returns its standard error.
async fn rejected_start(command: &str, data_dir: &Path) -> String {
    let run = pons_command(data_dir)
        .arg(command)
        .env("PONS_BIND", "127.0.0.1:0")
        .env("PONS_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(STARTUP_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("pons {command} started on {}", data_dir.display()))
        .expect("run pons");
    let message = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "pons {command}: {message}");
    message
}

/// Returns every path under `dir` with the content of each file, sorted.
fn directory_snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut snapshot = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("read directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path.clone());
                snapshot.push((path, None));
            } else {
                let content = std::fs::read(&path).expect("read file");
                snapshot.push((path, Some(content)));
            }
        }
    }
    snapshot.sort();
    snapshot
}

#[tokio::test]
async fn demo_rejects_key_without_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("prod");
    let database_url = format!("sqlite://{}", dir.path().join("elsewhere.db").display());
    let elsewhere = [("PONS_DATABASE_URL", database_url.as_str())];
    let key_file = data_dir.join("encryption.key");

    // First an admin command that stores the key, then a server that has
    // stopped, create the key in the data directory and the database
    // elsewhere. Both leave the lock file behind.
    let created = pons_command(&data_dir)
        .args(["encryption-key", "adopt"])
        .envs(elsewhere)
        .output()
        .await
        .expect("run pons encryption-key adopt");
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(
        created.status.success(),
        "pons encryption-key adopt: {stderr}"
    );
    assert!(
        key_file.exists(),
        "pons encryption-key adopt created no key file"
    );
    for case in ["after an admin command", "after a server"] {
        if case == "after a server" {
            let serve = Serve::start(&data_dir, &elsewhere).await;
            assert!(serve.terminate().await, "the server exits with status 0");
            assert!(data_dir.join("pons.lock").exists(), "no lock file");
        }
        let before = directory_snapshot(&data_dir);

        let message = rejected_start("demo", &data_dir).await;

        let directory = format!("data directory {}", data_dir.display());
        assert!(message.contains(&directory), "{case}: {message}");
        let key = format!("encryption key file {}", key_file.display());
        assert!(message.contains(&key), "{case}: {message}");
        assert!(message.contains("no database pons.db"), "{case}: {message}");
        assert!(
            message.contains("--data-dir or PONS_DATA_DIR"),
            "{case}: {message}"
        );
        assert!(
            before == directory_snapshot(&data_dir),
            "{case}: the demo changed the data directory"
        );
        assert!(
            !data_dir.join("pons.db").exists(),
            "{case}: pons.db created"
        );
    }
}

#[tokio::test]
async fn demo_rejects_directory_of_running_server() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("prod");
    let serve = Serve::start(&data_dir, &[]).await;

    let message = rejected_start("demo", &data_dir).await;

    let in_use = format!(
        "a `pons serve` is using the data directory {}",
        data_dir.display()
    );
    assert!(message.contains(&in_use), "{message}");
    assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
    assert_eq!(serve.readyz().await, 200, "the server still runs");
    assert!(serve.terminate().await, "the server exits with status 0");
    let accounts = admin(&data_dir, &["account", "list"]);
    let accounts = String::from_utf8_lossy(&accounts.stdout);
    assert!(!accounts.contains("Demo Shop"), "{accounts}");
}

#[tokio::test]
async fn server_rejects_directory_of_running_demo() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("demo-data");
    let demo = Demo::start(&data_dir, dir.path().join("demo.log")).await;

    let message = rejected_start("serve", &data_dir).await;

    let in_use = format!(
        "a `pons demo` is using the data directory {}",
        data_dir.display()
    );
    assert!(message.contains(&in_use), "{message}");
    assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
    assert_eq!(demo.initialize_status(&demo.key).await, 200);
    assert!(demo.terminate().await, "the demo exits with status 0");
}

#[tokio::test]
async fn two_servers_share_a_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("prod");

    let first = Serve::start(&data_dir, &[]).await;
    let second = Serve::start(&data_dir, &[]).await;

    assert_ne!(first.addr, second.addr);
    assert_eq!(first.readyz().await, 200, "the first server still runs");
    assert_eq!(second.readyz().await, 200, "the second server runs");
    assert!(
        first.terminate().await,
        "the first server exits with status 0"
    );
    assert!(
        second.terminate().await,
        "the second server exits with status 0"
    );
}

#[tokio::test]
async fn demo_rejects_database_without_accounts() {
    for case in ["user", "user and key"] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("prod");
        create_database(&data_dir).await;
        admin(&data_dir, &["user", "add", "real@example.com"]);
        if case == "user and key" {
            let args = [
                "key",
                "create",
                "--user",
                "real@example.com",
                "--name",
                "laptop",
                "--scopes",
                "read",
            ];
            admin(&data_dir, &args);
        }
        let before = database_bytes(&data_dir);

        let message = rejected_start("demo", &data_dir).await;

        let directory = format!("data directory {}", data_dir.display());
        assert!(message.contains(&directory), "{case}: {message}");
        let keys = if case == "user" { 0 } else { 1 };
        let counts = format!("1 user(s) and {keys} API key(s) that pons demo did not create");
        assert!(message.contains(&counts), "{case}: {message}");
        assert!(
            message.contains("\"real@example.com\""),
            "{case}: {message}"
        );
        assert!(
            message.contains("--data-dir or PONS_DATA_DIR"),
            "{case}: {message}"
        );
        assert!(
            !message.contains("start the demo over"),
            "{case}: a server's folder is no demo's: {message}"
        );
        assert!(
            before == database_bytes(&data_dir),
            "{case}: the demo changed the database"
        );
        assert!(
            !data_dir.join("pons.lock").exists(),
            "{case}: the demo created its lock file"
        );
    }
}

#[tokio::test]
async fn demo_folder_with_added_user_names_delete() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("pons-demo-data");
    create_database(&data_dir).await;
    // The demo user marks a database that a demo created.
    admin(&data_dir, &["user", "add", "demo@pons.local"]);
    admin(&data_dir, &["user", "add", "x@example.com"]);

    let message = rejected_start("demo", &data_dir).await;

    assert!(message.contains("\"x@example.com\""), "{message}");
    let delete = format!("delete the folder {}", data_dir.display());
    assert!(message.contains(&delete), "{message}");
    assert!(message.contains("start the demo over"), "{message}");
    assert!(data_dir.exists(), "the demo deleted the folder itself");
}

#[tokio::test]
async fn demo_rejects_key_beside_empty_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("prod");
    let key_file = data_dir.join("encryption.key");
    // A key file beside a database without accounts or users, as a server
    // on PostgreSQL has once some command created a SQLite database in its
    // data directory.
    let created = pons_command(&data_dir)
        .args(["encryption-key", "adopt"])
        .output()
        .await
        .expect("run pons encryption-key adopt");
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(created.status.success(), "{stderr}");
    let key = std::fs::read(&key_file).expect("read the key file");
    let before = database_bytes(&data_dir);

    let message = rejected_start("demo", &data_dir).await;

    let directory = format!("data directory {}", data_dir.display());
    assert!(message.contains(&directory), "{message}");
    let named = format!("encryption key file {}", key_file.display());
    assert!(message.contains(&named), "{message}");
    assert!(message.contains("no account and no demo user"), "{message}");
    assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
    assert!(
        before == database_bytes(&data_dir),
        "the demo changed the database"
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key, "the key changed");
}

#[tokio::test]
async fn demo_rejects_media_without_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("prod");
    // The media folder of a server whose database is in PostgreSQL and
    // whose key file is elsewhere.
    let stored = data_dir.join("media").join("ab");
    std::fs::create_dir_all(&stored).unwrap();
    std::fs::write(stored.join("ab12"), "photo").unwrap();
    let before = directory_snapshot(&data_dir);

    let message = rejected_start("demo", &data_dir).await;

    let directory = format!("data directory {}", data_dir.display());
    assert!(message.contains(&directory), "{message}");
    let media = format!("media folder {}", data_dir.join("media").display());
    assert!(message.contains(&media), "{message}");
    assert!(message.contains("no database pons.db"), "{message}");
    assert!(message.contains("--data-dir or PONS_DATA_DIR"), "{message}");
    assert!(
        before == directory_snapshot(&data_dir),
        "the demo changed the data directory"
    );
}
