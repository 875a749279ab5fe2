//! The whole application router (webhook and MCP endpoint) wired to the
//! Meta stand-in both ways: tools call it as the Graph API, and it posts
//! signed webhooks back to `/api/webhook`. Accounts are seeded with the
//! stand-in's ids and credentials, encrypted like `pons account add` does.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use pons::config::{DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES, JobSettings, ServerSettings};
use pons::http::{AppState, REJECTION_LOG_INTERVAL, Rejections, WriteFailures, router};
use pons::ingest_gate::ParseGate;
use pons::jobs::JobQueue;
use pons::media_files::MediaFiles;
use pons::metasim::{MetaSimConfig, RecordedRequest, SimTemplate};
use pons::store::sqlite::SqliteStore;
use pons::store::*;
use pons::whatsapp::graph::{GraphClient, RetryPolicy};

use super::{KeyOptions, Server, create_key, create_user, start_sim, test_secrets, tool_output};

/// The customer who writes to the business in these tests.
pub const CUSTOMER: &str = "4930123456";

/// Settings of a server started with [`start_full`].
pub struct FullOptions {
    pub sim: MetaSimConfig,
    /// Timeout of each Graph API request.
    pub graph_timeout: Duration,
    pub retry: RetryPolicy,
    /// 0 disables the tool rate limit.
    pub tool_rate_per_minute: u32,
    /// How often a warning of each kind of rejected webhook is logged.
    pub rejection_log_interval: Duration,
}

impl Default for FullOptions {
    fn default() -> Self {
        FullOptions {
            sim: MetaSimConfig {
                templates: demo_templates(),
                ..MetaSimConfig::default()
            },
            graph_timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
                ..RetryPolicy::default()
            },
            tool_rate_per_minute: 0,
            rejection_log_interval: REJECTION_LOG_INTERVAL,
        }
    }
}

/// Templates the stand-in lists: positional, named, one with a media
/// header and a URL button, and a pending one.
pub fn demo_templates() -> Vec<SimTemplate> {
    vec![
        SimTemplate::positional(
            "200000000000002",
            "order_update",
            "en_US",
            "Hi {{1}}, your order {{2}} has shipped.",
        ),
        SimTemplate::named(
            "200000000000003",
            "appointment_reminder",
            "en_US",
            "Hello {{first_name}}, see you on {{date}}.",
        ),
        SimTemplate::positional(
            "200000000000005",
            "receipt",
            "de",
            "Danke {{1}}, hier ist deine Rechnung.",
        )
        .with_component(json!({"type": "HEADER", "format": "IMAGE"}))
        .with_component(json!({"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Open", "url": "https://shop.example/r/{{1}}"}
        ]})),
        SimTemplate::positional("200000000000004", "weekly_offer", "en_US", "Sale: {{1}}")
            .with_status("PENDING"),
    ]
}

/// Starts the whole router with the stand-in as Graph API and webhook sender.
pub async fn start_full(options: FullOptions) -> Server {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store: DynStore =
        Arc::new(SqliteStore::open(&dir.path().join("pons.db")).expect("open SQLite store"));
    let sim = start_sim(options.sim).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let graph = GraphClient::new(&sim.base_url(), options.graph_timeout)
        .expect("Graph client")
        .with_retry_policy(options.retry);

    let settings = ServerSettings {
        bind: addr,
        bind_origin: None,
        public_url: format!("http://{addr}"),
        graph_api_url: sim.base_url(),
        graph_api_url_origin: None,
        graph_timeout_seconds: options.graph_timeout.as_secs().max(1),
        read_timeout_seconds: 30,
        tool_rate_per_minute: options.tool_rate_per_minute,
        allowed_hosts: Vec::new(),
        allowed_origins: Vec::new(),
        webhook_max_body_bytes: 1024 * 1024,
        webhook_max_in_flight_bytes: DEFAULT_WEBHOOK_MAX_IN_FLIGHT_BYTES,
        shutdown_grace_seconds: 1,
        jobs: JobSettings::default(),
    };
    let secrets = test_secrets();
    let state = AppState {
        store: store.clone(),
        secrets: secrets.clone(),
        graph,
        settings: Arc::new(settings),
        jobs: JobQueue::new(store.clone()),
        media: MediaFiles::new(dir.path()),
        write_failures: WriteFailures::default(),
        rejections: Rejections::new(options.rejection_log_interval),
        parse_gate: ParseGate::default(),
    };

    let app = router(state);
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    sim.set_webhook_url(Some(&format!("http://{addr}/api/webhook")));
    Server {
        addr,
        store,
        sim,
        secrets,
        client: Client::builder(TokioExecutor::new()).build_http(),
        _dir: dir,
    }
}

/// Connects the stand-in's number as an account owned by `owner`.
pub async fn sim_account(server: &Server, owner: &User) -> Account {
    let config = server.sim.config();
    server
        .store
        .create_account(NewAccount {
            name: "Sim Shop".to_owned(),
            waba_id: config.waba_id.clone(),
            phone_number_id: config.phone_number_id.clone(),
            phone_number: config.display_phone_number.clone(),
            display_name: Some("Sim Shop".to_owned()),
            access_token_encrypted: server.secrets.encrypt(config.access_token.as_bytes()),
            app_secret_encrypted: server.secrets.encrypt(config.app_secret.as_bytes()),
            verify_token: "fake-verify-token".to_owned(),
            owner: owner.id.clone(),
        })
        .await
        .expect("create account")
}

/// A server with the stand-in's account, its owner, and a key with `scopes`.
pub struct Shop {
    pub server: Server,
    pub owner: User,
    pub account: Account,
    pub key: String,
}

/// Starts a full server with one account and a key with `scopes`.
pub async fn shop(scopes: &[&str]) -> Shop {
    shop_with(FullOptions::default(), scopes).await
}

pub async fn shop_with(options: FullOptions, scopes: &[&str]) -> Shop {
    let server = start_full(options).await;
    let owner = create_user(&server.store, "owner@example.com").await;
    let account = sim_account(&server, &owner).await;
    let options = KeyOptions {
        scopes,
        ..KeyOptions::default()
    };
    let (key, _) = create_key(&server.store, &owner, options).await;
    Shop {
        server,
        owner,
        account,
        key,
    }
}

impl Shop {
    /// Has the customer write `text` through a signed webhook, which opens
    /// the 24-hour window, and returns the new message's wamid.
    pub async fn inbound(&self, text: &str) -> String {
        let delivery = self
            .server
            .sim
            .send_inbound_text(CUSTOMER, "Hans", text)
            .await
            .expect("inbound webhook");
        assert_eq!(delivery.http_status, Some(200), "{delivery:?}");
        delivery.wamid
    }

    /// Creates another key of the owner.
    pub async fn key(&self, scopes: &[&str]) -> String {
        let options = KeyOptions {
            scopes,
            ..KeyOptions::default()
        };
        create_key(&self.server.store, &self.owner, options).await.0
    }

    /// Calls a tool with the shop's key.
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        self.server.call_tool(&self.key, tool, arguments).await
    }

    /// Reads the conversation with the customer through get_conversation
    /// and returns the tool's output.
    pub async fn read_conversation(&self) -> Value {
        let conversation = self.conversation().await.expect("a stored conversation");
        let arguments = json!({"conversationId": conversation.id.as_str()});
        tool_output(&self.call("get_conversation", arguments).await)
    }

    /// Reads the stored conversation with the customer.
    pub async fn conversation(&self) -> Option<ConversationSummary> {
        let by = ConversationRef::Phone(CUSTOMER.to_owned());
        self.server
            .store
            .find_conversation(std::slice::from_ref(&self.account.id), &by)
            .await
            .expect("find conversation")
    }

    /// Reads the stored messages with the customer, oldest first.
    pub async fn messages(&self) -> Vec<Message> {
        match self.conversation().await {
            Some(conversation) => self
                .server
                .store
                .conversation_messages(&conversation.id, 200)
                .await
                .expect("messages"),
            None => Vec::new(),
        }
    }

    /// Requests the stand-in received on `POST /messages`.
    pub fn message_posts(&self) -> Vec<RecordedRequest> {
        self.server
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .collect()
    }

    /// Loads the templates from the stand-in into the store.
    pub async fn sync_templates(&self) {
        let key = self.key(&["read"]).await;
        let result = self
            .server
            .call_tool(&key, "list_templates", json!({"refresh": true}))
            .await;
        let output = tool_output(&result);
        assert_eq!(output["warnings"], json!([]), "{output}");
    }
}

/// Counts the rows of the events table in the server's SQLite database.
pub fn count_events(server: &Server) -> i64 {
    let path = server._dir.path().join("pons.db");
    let connection = rusqlite::Connection::open(path).expect("open database");
    connection
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .expect("count events")
}
