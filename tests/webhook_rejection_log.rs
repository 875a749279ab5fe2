//! Warnings about rejected webhooks through the real router: a flood of
//! rejected requests logs one line per kind at once, and the next line of
//! each kind, an interval later, carries the count of the lines left out.
//!
//! The log is captured by a subscriber for the whole test binary, so this
//! file contains a single test.

mod common;

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::create_user;
use common::meta::{FullOptions, sim_account, start_full};
use pons::whatsapp::signature;

/// Interval of the rejection lines in this test.
const INTERVAL: Duration = Duration::from_secs(5);

/// Requests of each kind in the first round.
const FLOOD: u64 = 5;

/// The JSON log lines of the test binary.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns the fields of each WARN line logged so far.
fn warnings() -> Vec<Value> {
    let log = String::from_utf8(LOG.lock().unwrap().clone()).expect("UTF-8 log");
    log.lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON log line"))
        .filter(|line| line["level"] == "WARN")
        .map(|line| line["fields"].clone())
        .collect()
}

/// A kind of rejected request, and how to tell its log line.
struct Kind {
    name: &'static str,
    message: &'static str,
    /// Text that the line's `error` field starts with, for kinds that
    /// share a message.
    error_prefix: Option<&'static str>,
}

impl Kind {
    fn matches(&self, fields: &Value) -> bool {
        let error = fields["error"].as_str().unwrap_or_default();
        fields["message"].as_str() == Some(self.message)
            && self
                .error_prefix
                .is_none_or(|prefix| error.starts_with(prefix))
    }
}

const KINDS: [Kind; 10] = [
    Kind {
        name: "missing signature",
        message: "webhook rejected with 401",
        error_prefix: Some("missing"),
    },
    Kind {
        name: "malformed signature",
        message: "webhook rejected with 401",
        error_prefix: Some("malformed"),
    },
    Kind {
        name: "mismatched signature",
        message: "webhook rejected with 401",
        error_prefix: Some("X-Hub-Signature-256 does not match"),
    },
    Kind {
        name: "invalid JSON",
        message: "webhook body is not valid JSON; rejected with 400",
        error_prefix: None,
    },
    Kind {
        name: "unknown account",
        message: "webhook for no known account acknowledged and ignored",
        error_prefix: None,
    },
    Kind {
        name: "body over the size limit",
        message: "webhook body over the size limit rejected with 413; raise \
                  PONS_WEBHOOK_MAX_BODY_BYTES to accept it",
        error_prefix: None,
    },
    Kind {
        name: "unknown verify token",
        message: "webhook handshake with an unknown verify token rejected with 403",
        error_prefix: None,
    },
    Kind {
        name: "no accounts",
        message: "webhook rejected with 503 because the database holds no account; Meta \
                  sends it again later, so add the account or point the server at the \
                  database that holds it",
        error_prefix: None,
    },
    Kind {
        name: "change for an unknown number",
        message: "webhook changes for unknown numbers skipped",
        error_prefix: None,
    },
    Kind {
        name: "message with problems",
        message: "webhook stored with problems noted in its log entry",
        error_prefix: None,
    },
];

/// Builds a body with one `messages` change for `phone_number_id` and no
/// message in it.
fn body_for(waba_id: &str, phone_number_id: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba_id,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550000000",
                        "phone_number_id": phone_number_id
                    }
                }
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// The server with an account, the server whose database contains none,
/// and the client that sends the requests.
struct Servers {
    shop: common::Server,
    empty: common::Server,
    http: reqwest::Client,
}

impl Servers {
    async fn post(&self, server: &common::Server, body: Vec<u8>, signature: Option<&str>) -> u16 {
        let mut request = self
            .http
            .post(format!("http://{}/api/webhook", server.addr))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header(signature::HEADER, signature);
        }
        request
            .send()
            .await
            .expect("webhook POST")
            .status()
            .as_u16()
    }

    /// Sends the head of a POST whose Content-Length is over the limit
    /// of 1 MiB, and returns the status of the response.
    async fn post_too_large(&self) -> u16 {
        let mut stream = TcpStream::connect(self.shop.addr).await.expect("connect");
        let head = format!(
            "POST /api/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             content-type: application/json\r\n{}: sha256={}\r\n\
             Content-Length: {}\r\n\r\n",
            signature::HEADER,
            "0".repeat(64),
            2 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read response");
        let response = String::from_utf8_lossy(&response);
        response[9..12].parse().expect("status code")
    }

    /// Sends one request of the kind at `index` in [`KINDS`], and returns
    /// the status of the response.
    async fn send(&self, index: usize) -> u16 {
        let config = self.shop.sim.config();
        let known = || body_for(&config.waba_id, &config.phone_number_id);
        let any_signature = format!("sha256={}", "0".repeat(64));
        match index {
            0 => self.post(&self.shop, known(), None).await,
            1 => self.post(&self.shop, known(), Some("sha256=zz")).await,
            2 => {
                let wrong = signature::sign(b"not the app secret", &known());
                self.post(&self.shop, known(), Some(&wrong)).await
            }
            3 => {
                let body = br#"{"entry":["#.to_vec();
                self.post(&self.shop, body, Some(&any_signature)).await
            }
            4 => {
                let body = body_for("999999999999999", "888888888888888");
                self.post(&self.shop, body, Some(&any_signature)).await
            }
            5 => self.post_too_large().await,
            6 => {
                let url = format!(
                    "http://{}/api/webhook?hub.mode=subscribe&hub.verify_token=wrong&\
                     hub.challenge=42",
                    self.shop.addr
                );
                let response = self.http.get(url).send().await.expect("handshake GET");
                response.status().as_u16()
            }
            7 => self.post(&self.empty, known(), Some(&any_signature)).await,
            8 => {
                let mut body: Value = serde_json::from_slice(&known()).expect("JSON body");
                let unknown = serde_json::from_slice::<Value>(&body_for("1", "2"))
                    .expect("JSON body")["entry"][0]
                    .clone();
                body["entry"].as_array_mut().expect("entries").push(unknown);
                let body = body.to_string().into_bytes();
                let signed = signature::sign(config.app_secret.as_bytes(), &body);
                self.post(&self.shop, body, Some(&signed)).await
            }
            9 => {
                let mut body: Value = serde_json::from_slice(&known()).expect("JSON body");
                body["entry"][0]["changes"][0]["value"]["messages"] = json!([{"from": "4930123456", "id": "", "timestamp": "1", "type": "text",
                            "text": {"body": "no wamid"}}]);
                let body = body.to_string().into_bytes();
                let signed = signature::sign(config.app_secret.as_bytes(), &body);
                self.post(&self.shop, body, Some(&signed)).await
            }
            _ => unreachable!("KINDS has 10 entries"),
        }
    }
}

/// Statuses that the requests of each kind in [`KINDS`] get.
const STATUSES: [u16; 10] = [401, 401, 401, 400, 200, 413, 403, 503, 200, 200];

/// Sends one request of each kind `count` times, and returns how long
/// that took.
async fn send_round(servers: &Servers, count: u64) -> Duration {
    let start = Instant::now();
    for (index, kind) in KINDS.iter().enumerate() {
        for _ in 0..count {
            let status = servers.send(index).await;
            assert_eq!(status, STATUSES[index], "status of a {}", kind.name);
        }
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejection_lines_are_limited_per_kind() {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::WARN)
        .with_writer(|| LogWriter)
        .init();
    let options = || FullOptions {
        rejection_log_interval: INTERVAL,
        ..FullOptions::default()
    };
    let shop = start_full(options()).await;
    let owner = create_user(&shop.store, "owner@example.com").await;
    sim_account(&shop, &owner).await;
    let empty = start_full(options()).await;
    let http = pons::whatsapp::graph::http_client(Duration::from_secs(10)).expect("client");
    let servers = Servers { shop, empty, http };

    // Each round may be slower than the interval on a busy machine, so the
    // checks allow one more line per interval the round took, and count
    // every request either as a line or in a line's count.
    let flood = send_round(&servers, FLOOD).await;
    let max_lines = 1 + (flood.as_secs() / INTERVAL.as_secs()) as usize;
    let logged = warnings();
    for kind in &KINDS {
        let lines: Vec<&Value> = logged.iter().filter(|line| kind.matches(line)).collect();
        assert!(
            (1..=max_lines).contains(&lines.len()),
            "{} lines of a {} after {flood:?}: {lines:?}",
            lines.len(),
            kind.name
        );
        assert_eq!(
            lines[0]["similar_before"], 0,
            "count on the first line of a {}",
            kind.name
        );
    }

    tokio::time::sleep(INTERVAL).await;
    send_round(&servers, 1).await;
    let logged = warnings();
    for kind in &KINDS {
        let lines: Vec<&Value> = logged.iter().filter(|line| kind.matches(line)).collect();
        assert!(lines.len() >= 2, "lines of a {}: {lines:?}", kind.name);
        let counted: u64 = lines
            .iter()
            .map(|line| 1 + line["similar_before"].as_u64().expect("count"))
            .sum();
        assert_eq!(
            counted,
            FLOOD + 1,
            "requests of a {} counted in its lines: {lines:?}",
            kind.name
        );
    }
}
