//! Harness for tests of the whole server. It runs the real `Server` on
//! 127.0.0.1 with an OS-chosen port and a fresh database (SQLite in a
//! temporary directory, or a fresh PostgreSQL database). A Meta stand-in is
//! its Graph API and webhook sender, and a sandbox account has the
//! stand-in's credentials. Tests wait on job reports and HTTP responses,
//! never on a sleep.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use pons::apikey;
use pons::cli::{CommonArgs, ServeArgs, SettingText};
use pons::config::{Settings, ValueOrigin};
use pons::crypto::SecretBox;
use pons::jobs::{JobOutcome, JobReport};
use pons::metasim::{MetaSim, MetaSimConfig};
use pons::server::Server;
use pons::store::*;
use pons::whatsapp::signature;

use crate::postgres_harness::TestDatabase;

/// Maximum wait for a job report before a test fails.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// Returns the current time in seconds since the epoch, the server's clock.
pub fn now() -> UnixTime {
    chrono::Utc::now().timestamp()
}

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$test(Backend)` as two tests, `$test::sqlite` and
/// `$test::postgres`; the second fails when `PONS_TEST_DATABASE_URL` is
/// unset.
#[macro_export]
macro_rules! on_both_backends {
    ($test:ident) => {
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test($crate::app::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$test($crate::app::Backend::Postgres).await;
            }
        }
    };
}

/// What outlives one server run: data directory, database and stand-in.
pub struct Env {
    pub dir: TempDir,
    database: Option<TestDatabase>,
    pub sim: MetaSim,
}

impl Env {
    /// Creates the environment; PostgreSQL needs `PONS_TEST_DATABASE_URL`.
    pub async fn new(backend: Backend, sim: MetaSimConfig) -> Env {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        let sim = MetaSim::start(sim).await.expect("stand-in starts");
        Env {
            dir: tempfile::tempdir().expect("temporary directory"),
            database,
            sim,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Builds settings for a server on this environment; workers poll
    /// rarely, so a test passes only when the in-process wake-up works.
    pub fn settings(&self) -> Settings {
        let flag = |value: String| SettingText::new(value, ValueOrigin::Flag);
        let common = CommonArgs {
            config: None,
            data_dir: Some(self.dir.path().to_path_buf()),
            database_url: self.database.as_ref().map(TestDatabase::url).map(flag),
            encryption_key_file: None,
            log_format: None,
        };
        let serve = ServeArgs {
            bind: Some(flag("127.0.0.1:0".to_owned())),
            graph_api_url: Some(flag(self.sim.base_url())),
            ..ServeArgs::default()
        };
        let mut settings = Settings::load(&common, &serve).expect("valid settings");
        settings.server.jobs.poll_interval = Duration::from_secs(3600);
        settings.server.shutdown_grace_seconds = 5;
        settings.server.jobs.shutdown_grace = Duration::from_secs(5);
        settings
    }

    /// Binds a server with `settings`; it runs after [`Bound::run`].
    pub async fn bind(&self, settings: Settings) -> Bound {
        let server = Server::bind(&settings).await.expect("server binds");
        let events = server.job_events();
        Bound { server, events }
    }
}

/// A bound server that is not running yet.
pub struct Bound {
    server: Server,
    events: broadcast::Receiver<JobReport>,
}

impl Bound {
    pub fn store(&self) -> DynStore {
        self.server.store().clone()
    }

    pub fn secrets(&self) -> SecretBox {
        self.server.secrets().clone()
    }

    /// Starts serving and points the stand-in's webhooks at the server.
    pub fn run(self, env: &Env) -> App {
        let addr = self.server.local_addr();
        env.sim
            .set_webhook_url(Some(&format!("http://{addr}/api/webhook")));
        let store = self.store();
        let secrets = self.secrets();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(self.server.run(shutdown.clone()));
        App {
            addr,
            store,
            secrets,
            events: self.events,
            shutdown,
            task,
            http: pons::whatsapp::graph::http_client(Duration::from_secs(10)).expect("client"),
        }
    }
}

/// A running server.
pub struct App {
    pub addr: std::net::SocketAddr,
    pub store: DynStore,
    pub secrets: SecretBox,
    events: broadcast::Receiver<JobReport>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    pub http: reqwest::Client,
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server as SIGTERM would and waits until it has stopped.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }

    /// Waits for the next report of a `kind` job: the next final one
    /// (completed or failed), or the next of any outcome when
    /// `include_retries` is set.
    pub async fn next_report(&mut self, kind: &str, include_retries: bool) -> JobReport {
        let wait = async {
            loop {
                match self.events.recv().await {
                    Ok(report) if report.kind != kind => continue,
                    Ok(report)
                        if !include_retries
                            && matches!(report.outcome, JobOutcome::Retrying { .. }) =>
                    {
                        continue;
                    }
                    Ok(report) => return report,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(error) => panic!("job reports ended: {error}"),
                }
            }
        };
        tokio::time::timeout(JOB_TIMEOUT, wait)
            .await
            .unwrap_or_else(|_| panic!("no {kind} job report within {JOB_TIMEOUT:?}"))
    }

    /// GETs `path` with an optional API key.
    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("HTTP exchange")
    }

    /// Signs `body` with `app_secret` and POSTs it to `/api/webhook`.
    pub async fn post_webhook(&self, app_secret: &str, body: &Value) -> u16 {
        let bytes = body.to_string().into_bytes();
        let signature = signature::sign(app_secret.as_bytes(), &bytes);
        let response = self
            .http
            .post(self.url("/api/webhook"))
            .header("content-type", "application/json")
            .header(signature::HEADER, signature)
            .body(bytes)
            .send()
            .await
            .expect("webhook POST");
        response.status().as_u16()
    }
}

/// The demo-like tenant of a test: a user owning an account with the
/// stand-in's credentials, and a key with `read`.
pub struct Sandbox {
    pub user: User,
    pub account: Account,
    pub key: String,
}

/// Creates the user, the account with the stand-in's ids and secrets, and
/// a `read` key.
pub async fn seed_sandbox(store: &DynStore, secrets: &SecretBox, sim: &MetaSimConfig) -> Sandbox {
    let user = create_user(store, "owner@example.com").await;
    let account = store
        .create_account(NewAccount {
            name: "Sandbox".into(),
            waba_id: sim.waba_id.clone(),
            phone_number_id: sim.phone_number_id.clone(),
            phone_number: sim.display_phone_number.clone(),
            display_name: None,
            access_token_encrypted: secrets.encrypt(sim.access_token.as_bytes()),
            app_secret_encrypted: secrets.encrypt(sim.app_secret.as_bytes()),
            verify_token: "verify".into(),
            owner: user.id.clone(),
        })
        .await
        .expect("create account");
    let key = create_key(store, &user, &["read"]).await;
    Sandbox { user, account, key }
}

/// Creates a second tenant with its own account (fake credentials) and a
/// `read` key, to check that tenants cannot reach each other's media.
pub async fn seed_other_tenant(store: &DynStore, secrets: &SecretBox) -> String {
    let user = create_user(store, "other@example.com").await;
    store
        .create_account(NewAccount {
            name: "Other".into(),
            waba_id: "300000000000001".into(),
            phone_number_id: "300000000000002".into(),
            phone_number: "15550009999".into(),
            display_name: None,
            access_token_encrypted: secrets.encrypt(b"other-token"),
            app_secret_encrypted: secrets.encrypt(b"other-secret"),
            verify_token: "other-verify".into(),
            owner: user.id.clone(),
        })
        .await
        .expect("create other account");
    create_key(store, &user, &["read", "write", "send"]).await
}

pub async fn create_user(store: &DynStore, email: &str) -> User {
    store
        .create_user(NewUser {
            email: email.into(),
            password_hash: None,
        })
        .await
        .expect("create user")
}

/// Creates a key with `scopes` and returns its text.
pub async fn create_key(store: &DynStore, user: &User, scopes: &[&str]) -> String {
    let key = apikey::generate();
    store
        .create_api_key(NewApiKey {
            user_id: user.id.clone(),
            name: "test".into(),
            key_hash: key.hash,
            prefix: key.prefix.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            accounts: Vec::new(),
        })
        .await
        .expect("create key");
    key.text
}

/// Builds the webhook of a customer's image, as Meta sends it, announcing
/// `sha256` (base64) for the media `media_id`.
pub fn inbound_image(sim: &MetaSimConfig, wamid: &str, media_id: &str, sha256: &str) -> Value {
    let image = json!({"mime_type": "image/jpeg", "sha256": sha256, "id": media_id});
    inbound_media(sim, wamid, "image", image)
}

/// Builds the webhook of a customer's media message of type `kind` whose
/// type object is `media`.
pub fn inbound_media(sim: &MetaSimConfig, wamid: &str, kind: &str, media: Value) -> Value {
    let now = chrono::Utc::now().timestamp().to_string();
    let mut message = json!({"from": "15550102222", "id": wamid, "timestamp": now, "type": kind});
    message[kind] = media;
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": sim.waba_id, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": sim.display_phone_number,
                "phone_number_id": sim.phone_number_id,
            },
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15550102222"}],
            "messages": [message],
        }}]}],
    })
}

/// Finds the stored message with `wamid` in `account`.
pub async fn message_by_wamid(store: &DynStore, account: &Account, wamid: &str) -> Message {
    store
        .find_message_by_wamid(std::slice::from_ref(&account.id), wamid)
        .await
        .expect("find message")
        .expect("message stored")
        .1
}
