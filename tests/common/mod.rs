//! Test harness for the MCP endpoint: a real SQLite store in a temporary
//! directory, the real router on 127.0.0.1 with an OS-chosen port, the Meta
//! stand-in as the Graph API, and a plain HTTP/1 client.

#![allow(dead_code)]

pub mod meta;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tempfile::TempDir;

use pons::apikey;
use pons::crypto::SecretBox;
use pons::mcp::{McpSettings, router};
use pons::metasim::{MetaSim, MetaSimConfig, StatusPlan};
use pons::store::sqlite::SqliteStore;
use pons::store::*;
use pons::tools::Sender;
use pons::whatsapp::graph::GraphClient;

/// The encryption key of test servers: 32 zero bytes in base64.
pub const TEST_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// Returns the cipher the test servers encrypt account secrets with.
pub fn test_secrets() -> SecretBox {
    SecretBox::from_base64(TEST_KEY, "test key").expect("valid test key")
}

/// Returns the current time in seconds since the epoch, the server's clock.
pub fn now() -> UnixTime {
    chrono::Utc::now().timestamp()
}

/// A running server, its store and the Meta stand-in it calls.
pub struct Server {
    pub addr: SocketAddr,
    pub store: DynStore,
    /// The Graph API the server's tools call; it sends no status webhooks
    /// unless a test asks for them.
    pub sim: MetaSim,
    /// The cipher of the server's account secrets.
    pub secrets: SecretBox,
    pub(crate) client: Client<HttpConnector, Full<Bytes>>,
    pub(crate) _dir: TempDir,
}

/// An HTTP response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the body as JSON, or as the first `data:` event of an SSE body.
    pub fn json(&self) -> Value {
        if let Ok(value) = serde_json::from_str(&self.body) {
            return value;
        }
        let data = self
            .body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .find(|data| !data.is_empty())
            .unwrap_or_else(|| panic!("body is neither JSON nor SSE with data: {}", self.body));
        serde_json::from_str(data).expect("SSE data is JSON")
    }
}

impl Server {
    /// Starts a server with default settings.
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its settings.
    pub async fn start_with(adjust: impl FnOnce(&mut McpSettings)) -> Server {
        Server::start_merged(adjust, axum::Router::new()).await
    }

    /// Starts a server whose router also serves the routes of `extra`, the
    /// way the binary merges the MCP router with its other routers.
    pub async fn start_merged(
        adjust: impl FnOnce(&mut McpSettings),
        extra: axum::Router,
    ) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store: DynStore =
            Arc::new(SqliteStore::open(&dir.path().join("pons.db")).expect("open SQLite store"));
        let sim = start_sim(MetaSimConfig::default()).await;
        let secrets = test_secrets();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let mut settings = McpSettings {
            public_url: format!("http://127.0.0.1:{}/", addr.port()),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            tool_rate_per_minute: 0,
        };
        adjust(&mut settings);
        let graph = GraphClient::new(&sim.base_url(), std::time::Duration::from_secs(10))
            .expect("Graph client");
        let sender = Sender::new(store.clone(), graph, secrets.clone());
        let app = router(store.clone(), sender, settings).merge(extra);
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("server runs");
        });
        let client = Client::builder(TokioExecutor::new()).build_http();
        Server {
            addr,
            store,
            sim,
            secrets,
            client,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Sends a request with the given headers and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("request");
        let response = self.client.request(request).await.expect("HTTP exchange");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("response body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    }

    /// POSTs a JSON-RPC body to `/api/mcp` with the usual MCP headers.
    pub async fn post_mcp(&self, key: Option<&str>, body: &Value) -> Reply {
        let bearer = key.map(|k| format!("Bearer {k}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        self.send(Method::POST, "/api/mcp", &headers, &body.to_string())
            .await
    }

    /// Sends a JSON-RPC request and returns its `result`, failing on an error.
    pub async fn rpc(&self, key: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply = self.post_mcp(Some(key), &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.body);
        let message = reply.json();
        assert!(message.get("error").is_none(), "{method} failed: {message}");
        message["result"].clone()
    }

    /// Calls a tool and returns the `tools/call` result object.
    pub async fn call_tool(&self, key: &str, name: &str, arguments: Value) -> Value {
        self.rpc(
            key,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
        .await
    }
}

/// Starts a Meta stand-in that sends status webhooks only on request.
pub async fn start_sim(config: MetaSimConfig) -> MetaSim {
    let config = MetaSimConfig {
        status_plan: StatusPlan::none(),
        ..config
    };
    MetaSim::start(config).await.expect("start Meta stand-in")
}

/// Joins the text of a tool result's content blocks.
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .expect("content array")
        .iter()
        .filter_map(|block| block["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts a tool result is an error and returns its text.
pub fn tool_error(result: &Value) -> String {
    assert_eq!(
        result["isError"],
        json!(true),
        "expected a tool error: {result}"
    );
    assert!(
        result.get("structuredContent").is_none_or(Value::is_null),
        "{result}"
    );
    result_text(result)
}

/// Asserts a tool result succeeded and returns its structured content.
pub fn tool_output(result: &Value) -> Value {
    assert_ne!(
        result["isError"],
        json!(true),
        "tool failed: {}",
        result_text(result)
    );
    result["structuredContent"].clone()
}

pub async fn create_user(store: &DynStore, email: &str) -> User {
    store
        .create_user(NewUser {
            email: email.to_owned(),
            password_hash: None,
        })
        .await
        .expect("create user")
}

pub async fn create_account(store: &DynStore, owner: &User, name: &str, phone: &str) -> Account {
    store
        .create_account(NewAccount {
            name: name.to_owned(),
            waba_id: format!("waba-{phone}"),
            phone_number_id: format!("pnid-{phone}"),
            phone_number: phone.to_owned(),
            display_name: Some(name.to_owned()),
            access_token_encrypted: vec![1, 2, 3],
            app_secret_encrypted: vec![4, 5, 6],
            verify_token: format!("verify-{phone}"),
            owner: owner.id.clone(),
        })
        .await
        .expect("create account")
}

/// Options of a key created for a test.
pub struct KeyOptions<'a> {
    pub scopes: &'a [&'a str],
    pub expires_at: Option<UnixTime>,
    pub accounts: Vec<AccountId>,
}

impl Default for KeyOptions<'_> {
    fn default() -> Self {
        KeyOptions {
            scopes: &["read"],
            expires_at: None,
            accounts: Vec::new(),
        }
    }
}

/// Creates a key and returns its full text and its row.
pub async fn create_key(
    store: &DynStore,
    user: &User,
    options: KeyOptions<'_>,
) -> (String, ApiKey) {
    let generated = apikey::generate();
    let row = store
        .create_api_key(NewApiKey {
            user_id: user.id.clone(),
            name: "test key".to_owned(),
            key_hash: generated.hash,
            prefix: generated.prefix.clone(),
            scopes: options.scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: options.expires_at,
            accounts: options.accounts,
        })
        .await
        .expect("create API key");
    (generated.text, row)
}

/// Stores one inbound text message from `from` (with profile name `name`)
/// to `account`, the way a verified webhook would.
pub async fn ingest_text(
    store: &DynStore,
    account: &Account,
    from: &str,
    name: &str,
    wamid: &str,
    text: &str,
    timestamp: UnixTime,
) {
    let content = json!({"body": text}).to_string();
    let raw = json!({"from": from, "id": wamid, "timestamp": timestamp.to_string(),
        "type": "text", "text": {"body": text}})
    .to_string();
    let batch = WebhookBatch {
        log: NewWebhookLog {
            received_at: timestamp,
            account_id: Some(account.id.clone()),
            headers_json: "{}".to_owned(),
            body: raw.clone().into_bytes().into(),
            outcome: "processed".to_owned(),
            detail: None,
        },
        items: vec![
            IngestItem::Contact(ContactSeen {
                account_id: account.id.clone(),
                wa_id: from.to_owned(),
                profile_name: Some(name.to_owned()),
                user_id: None,
            }),
            IngestItem::Message(InboundMessage {
                account_id: account.id.clone(),
                from: from.to_owned(),
                wamid: wamid.to_owned(),
                timestamp,
                kind: "text".to_owned(),
                text: Some(text.to_owned()),
                caption: None,
                media: None,
                context_wamid: None,
                content_json: content,
                raw_json: raw,
                errors: Vec::new(),
            }),
        ],
    };
    let report = store.ingest(batch).await.expect("ingest");
    assert_eq!(
        report.messages_inserted, 1,
        "message {wamid} was not inserted"
    );
}

/// Two tenants: Alice is a member of shop A and shop C, Bob of shop B only.
/// Shop A has a conversation with Hans, shop B one with Brit.
pub struct Tenants {
    pub alice: User,
    pub bob: User,
    pub shop_a: Account,
    pub shop_b: Account,
    pub shop_c: Account,
}

pub const HANS: &str = "4930123456";
pub const BRIT: &str = "447700900123";

pub async fn two_tenants(store: &DynStore) -> Tenants {
    let alice = create_user(store, "alice@example.com").await;
    let bob = create_user(store, "bob@example.com").await;
    let shop_a = create_account(store, &alice, "Shop A", "15550001111").await;
    let shop_b = create_account(store, &bob, "Shop B", "15550002222").await;
    let shop_c = create_account(store, &alice, "Shop C", "15550003333").await;

    let t = now();
    ingest_text(
        store,
        &shop_a,
        HANS,
        "Hans",
        "wamid.A1",
        "Where is my order?",
        t - 7200,
    )
    .await;
    ingest_text(
        store,
        &shop_a,
        HANS,
        "Hans",
        "wamid.A2",
        "It was due yesterday",
        t - 3600,
    )
    .await;
    ingest_text(
        store,
        &shop_b,
        BRIT,
        "Brit",
        "wamid.B1",
        "The zeppelin arrived",
        t - 600,
    )
    .await;

    Tenants {
        alice,
        bob,
        shop_a,
        shop_b,
        shop_c,
    }
}
