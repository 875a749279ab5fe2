//! The control API that `pons metasim` mounts under `/_metasim`: each
//! endpoint drives the same state as the in-process `MetaSim` methods, and
//! bad control requests get a 400 that names the field.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use pons::cli::MetasimArgs;
use pons::metasim::{
    CONTROL_PREFIX, Fault, FaultTarget, MetaSim, MetaSimConfig, standalone_config,
};

mod receiver;
use receiver::{next_webhook, verify, webhook_receiver};

const CUSTOMER: &str = "15550002222";

struct Controlled {
    sim: Arc<MetaSim>,
    http: reqwest::Client,
}

impl Controlled {
    async fn start(config: MetaSimConfig) -> Controlled {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sim = MetaSim::start_with_control(config, addr)
            .await
            .expect("stand-in starts");
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(5)).unwrap();
        Controlled { sim, http }
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}{CONTROL_PREFIX}{path}", self.sim.origin())
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.control_url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON control response")
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, value) = self.control(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {value}");
        value
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.control(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Queues `fault` for the next send and checks that the stand-in accepted it.
    async fn inject_send_fault(&self, fault: Value) {
        let (status, body) = self
            .post("/faults", json!({"target": "send", "fault": fault}))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Starts sending `text` to the customer on a client without timeout,
    /// for a fault that keeps the response back.
    fn send_in_background(self: &Arc<Self>, text: &'static str) -> JoinHandle<(u16, Value)> {
        let sim = Arc::clone(self);
        let http = patient_client();
        tokio::spawn(async move { sim.graph_send_via(&http, CUSTOMER, text).await })
    }

    /// Sends a text message through the Graph API as Pons would.
    async fn graph_send(&self, to: &str, text: &str) -> (u16, Value) {
        self.graph_send_via(&self.http, to, text).await
    }

    /// Sends a text message as `graph_send` does, through `http`.
    async fn graph_send_via(&self, http: &reqwest::Client, to: &str, text: &str) -> (u16, Value) {
        let url = format!(
            "{}/{}/messages",
            self.sim.base_url(),
            self.sim.config().phone_number_id
        );
        let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                          "to": to, "type": "text", "text": {"body": text}});
        self.graph(http.post(url).json(&body)).await
    }

    async fn graph_get(&self, url: &str) -> (u16, Value) {
        self.graph(self.http.get(url)).await
    }

    async fn graph(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let bearer = format!("Bearer {}", self.sim.config().access_token);
        let response = request
            .header("authorization", bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Points the stand-in's webhooks at a new receiver and limits automatic
/// status webhooks to `sent`, so each accepted send yields one webhook.
async fn receive_webhooks(
    sim: &Controlled,
) -> tokio::sync::mpsc::UnboundedReceiver<(axum::http::HeaderMap, axum::body::Bytes)> {
    let (url, webhooks) = webhook_receiver().await;
    let (status, body) = sim.put("/webhook-url", json!({"url": url})).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = sim
        .put(
            "/status-plan",
            json!({"sent_ms": 0, "delivered_ms": null, "read_ms": null}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    webhooks
}

/// Returns the status and error code of the next status webhook.
async fn next_status(
    webhooks: &mut tokio::sync::mpsc::UnboundedReceiver<(axum::http::HeaderMap, axum::body::Bytes)>,
) -> (String, Option<i64>) {
    let (_, body) = next_webhook(webhooks).await;
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let entry = &payload["entry"][0]["changes"][0]["value"]["statuses"][0];
    (
        entry["status"]
            .as_str()
            .expect("a status webhook")
            .to_owned(),
        entry["errors"][0]["code"].as_i64(),
    )
}

#[tokio::test]
async fn records_and_clears_requests() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    let (status, _) = sim.graph_send(CUSTOMER, "Hello").await;
    assert_eq!(status, 200);
    let requests = sim.get("/requests").await;
    let requests = requests.as_array().expect("list");
    assert_eq!(requests.len(), 1, "control requests are not recorded");
    let request = &requests[0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/v25.0/100000000000002/messages");
    assert_eq!(request["body_is_json"], true);
    assert_eq!(request["body"]["text"]["body"], "Hello");
    assert_eq!(request["token_valid"], true);
    let authorization = request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == "authorization")
        .expect("authorization header recorded");
    assert_eq!(authorization[1], "Bearer <redacted>");

    let (status, _) = sim
        .control(reqwest::Method::DELETE, "/requests", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(sim.get("/requests").await, json!([]));
    assert!(
        sim.sim.requests().is_empty(),
        "the handle sees the same state"
    );
}

#[tokio::test]
async fn queued_faults_apply_in_order() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    let faults = [
        json!({"kind": "graph", "code": 131047}),
        json!({"kind": "graph", "code": 130429, "http_status": 429}),
        json!({"kind": "http", "status": 502}),
    ];
    for (index, fault) in faults.into_iter().enumerate() {
        let (status, body) = sim
            .post("/faults", json!({"target": "send", "fault": fault}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["pending"], index + 1);
    }
    assert_eq!(sim.get("/faults").await["pending"], 3);

    let (status, body) = sim.graph_send(CUSTOMER, "a").await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(131047))
    );
    let (status, body) = sim.graph_send(CUSTOMER, "b").await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (429, Some(130429))
    );
    let (status, body) = sim.graph_send(CUSTOMER, "c").await;
    assert_eq!(status, 502);
    assert_eq!(body, Value::Null, "a proxy page is not JSON");
    assert_eq!(sim.get("/faults").await["pending"], 0);
    let (status, _) = sim.graph_send(CUSTOMER, "d").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delay_and_dropped_connection() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    for fault in [
        json!({"kind": "delay", "ms": 1}),
        json!({"kind": "drop_connection"}),
    ] {
        let (status, body) = sim
            .post("/faults", json!({"target": "any", "fault": fault}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = sim.graph_send(CUSTOMER, "slow").await;
    assert_eq!(status, 200, "a delayed request still succeeds");
    let url = format!("{}/{}/messages", sim.sim.base_url(), "100000000000002");
    let dropped = sim
        .http
        .post(url)
        .json(&json!({"messaging_product": "whatsapp", "to": CUSTOMER,
                      "type": "text", "text": {"body": "x"}}))
        .send()
        .await;
    assert!(dropped.is_err(), "the connection closes without a response");
}

#[tokio::test]
async fn accept_then_drop_after_release() {
    let sim = Arc::new(Controlled::start(MetaSimConfig::default()).await);
    sim.inject_send_fault(json!({"kind": "accept_then_drop", "hold": true}))
        .await;

    let url = format!("{}/{}/messages", sim.sim.base_url(), "100000000000002");
    let bearer = format!("Bearer {}", sim.sim.config().access_token);
    let send = patient_client()
        .post(url)
        .header("authorization", bearer)
        .json(
            &json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                      "text": {"body": "x"}, "biz_opaque_callback_data": "message-9"}),
        )
        .send();
    let mut sending = tokio::spawn(send);
    tokio::select! {
        () = sim.sim.wait_for_held(1) => {}
        outcome = &mut sending => {
            panic!("the send ended before the stand-in held it: {outcome:?}");
        }
    }
    let accepted = sim.get("/accepted-messages").await;
    assert_eq!(accepted.as_array().unwrap().len(), 1, "{accepted}");
    assert_eq!(accepted[0]["biz_opaque_callback_data"], "message-9");
    assert!(!sending.is_finished(), "the client still waits");

    let (status, body) = sim.post("/release", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], 1);
    let outcome = sending.await.unwrap();
    assert!(
        outcome.is_err(),
        "the connection closes without a response: {outcome:?}"
    );
    assert_eq!(sim.get("/faults").await["pending"], 0);
}

/// Builds a client for a held request. The request waits for the test's
/// control calls, however slow they are, so its timeout only ends a hung test.
fn patient_client() -> reqwest::Client {
    pons::whatsapp::graph::http_client(Duration::from_secs(600)).unwrap()
}

#[tokio::test]
async fn hold_keeps_response_until_release() {
    let sim = Arc::new(Controlled::start(MetaSimConfig::default()).await);
    let (status, body) = sim.post("/release", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], 0, "nothing is held before a send");
    sim.inject_send_fault(json!({"kind": "hold"})).await;

    let mut sending = sim.send_in_background("held");
    tokio::select! {
        () = sim.sim.wait_for_held(1) => {}
        outcome = &mut sending => {
            panic!("the send ended before the stand-in held it: {outcome:?}");
        }
    }
    assert_eq!(sim.get("/held").await["held"], 1);
    assert_eq!(sim.sim.held_requests(), 1, "the handle sees the same state");
    assert_eq!(sim.get("/requests").await.as_array().unwrap().len(), 1);
    assert_eq!(
        sim.get("/accepted-messages").await,
        json!([]),
        "a held send is not handled yet"
    );
    assert!(!sending.is_finished(), "the client still waits");

    let (status, body) = sim.post("/release", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], 1);
    let (status, body) = sending.await.unwrap();
    assert_eq!(
        status, 200,
        "a released send gets the normal response: {body}"
    );
    let accepted = sim.sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(body["messages"][0]["id"], accepted[0].wamid.as_str());
    assert_eq!(sim.get("/held").await["held"], 0);
    assert_eq!(sim.get("/faults").await["pending"], 0);

    let (status, _) = sim.graph_send(CUSTOMER, "next").await;
    assert_eq!(status, 200, "the hold applies to one request only");
}

#[tokio::test]
async fn accept_then_hold_accepts_first() {
    let sim = Arc::new(Controlled::start(MetaSimConfig::default()).await);
    sim.inject_send_fault(json!({"kind": "accept_then_hold"}))
        .await;

    let mut sending = sim.send_in_background("applied");
    for _ in 0..2_000 {
        if !sim.sim.accepted_messages().is_empty() || sending.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let accepted = sim.sim.accepted_messages();
    assert_eq!(accepted.len(), 1, "the send is handled before the release");
    assert_eq!(sim.sim.held_requests(), 1);
    assert!(!sending.is_finished(), "the response waits for the release");

    let (status, body) = sim.post("/release", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], 1);
    let (status, body) = (&mut sending).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][0]["id"], accepted[0].wamid.as_str());
    assert_eq!(sim.sim.accepted_messages().len(), 1, "handled once");
}

#[tokio::test]
async fn handle_releases_held_request() {
    let sim = MetaSim::start(MetaSimConfig::default())
        .await
        .expect("stand-in starts");
    let sim = Arc::new(sim);
    sim.inject(FaultTarget::Any, Fault::Hold);
    let http = patient_client();
    let url = format!("{}/unknown/path", sim.origin());
    let mut fetching = tokio::spawn(async move { http.get(url).send().await });
    tokio::select! {
        () = sim.wait_for_held(1) => {}
        outcome = &mut fetching => {
            panic!("the request ended before the stand-in held it: {outcome:?}");
        }
    }
    assert_eq!(sim.release_held(), 1);
    let response = fetching.await.unwrap().expect("a response after release");
    assert_eq!(
        response.status().as_u16(),
        400,
        "the normal response follows"
    );
    assert_eq!(sim.release_held(), 0, "a release frees each request once");
}

#[tokio::test]
async fn seeds_templates_recipients_and_media() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    let template = json!({"id": "200000000000009", "name": "pickup", "language": "de",
                          "parameter_format": "NAMED",
                          "components": [{"type": "BODY", "text": "Hallo {{name}}"}]});
    let (status, body) = sim.post("/templates", template).await;
    assert_eq!(status, 204, "{body}");
    let url = format!("{}/100000000000001/message_templates", sim.sim.base_url());
    let (status, listed) = sim.graph_get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["name"], "pickup");
    assert_eq!(listed["data"][0]["status"], "APPROVED");
    assert_eq!(listed["data"][0]["parameter_format"], "NAMED");

    let mut webhooks = receive_webhooks(&sim).await;
    let (status, body) = sim
        .post(
            "/recipients",
            json!({"wa_id": "15550003333", "profile_name": "Kim"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = sim.graph_send(CUSTOMER, "unknown number").await;
    assert_eq!(status, 200, "Meta accepts, then reports the failure");
    assert_eq!(
        next_status(&mut webhooks).await,
        ("failed".to_owned(), Some(131026))
    );
    let (status, _) = sim.graph_send("15550003333", "known").await;
    assert_eq!(status, 200);
    assert_eq!(next_status(&mut webhooks).await, ("sent".to_owned(), None));

    let bytes = b"\x89PNG fake image";
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let (status, added) = sim
        .post(
            "/media",
            json!({"data_base64": encoded, "mime_type": "image/png"}),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let media_id = added["id"].as_str().expect("media id");
    let (status, info) = sim
        .graph_get(&format!("{}/{media_id}", sim.sim.base_url()))
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["mime_type"], "image/png");
    let download = info["url"].as_str().unwrap().to_owned();
    let (status, _) = sim
        .control(reqwest::Method::POST, "/media/expire", None)
        .await;
    assert_eq!(status, 204);
    let bearer = format!("Bearer {}", sim.sim.config().access_token);
    let expired = sim
        .http
        .get(download)
        .header("authorization", bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status().as_u16(), 404);
}

#[tokio::test]
async fn service_window_follows_last_inbound() {
    let config = MetaSimConfig {
        enforce_service_window: true,
        ..MetaSimConfig::default()
    };
    let sim = Controlled::start(config).await;
    let mut webhooks = receive_webhooks(&sim).await;
    let (status, _) = sim.graph_send(CUSTOMER, "closed").await;
    assert_eq!(status, 200, "Meta accepts, then reports the failure");
    assert_eq!(
        next_status(&mut webhooks).await,
        ("failed".to_owned(), Some(131047))
    );
    let (status, body) = sim
        .post(
            "/last-inbound",
            json!({"wa_id": CUSTOMER, "seconds_ago": 60}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = sim.graph_send(CUSTOMER, "open").await;
    assert_eq!(status, 200);
    assert_eq!(next_status(&mut webhooks).await, ("sent".to_owned(), None));
}

#[tokio::test]
async fn webhooks_on_demand_and_records() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    let secret = sim.sim.config().app_secret.clone();
    let (status, _) = sim.graph_send(CUSTOMER, "Before any webhook URL").await;
    assert_eq!(status, 200);
    let early = sim.get("/accepted-messages").await[0]["wamid"].clone();
    let (status, body) = sim
        .post("/statuses", json!({"wamid": early, "status": "read"}))
        .await;
    assert_eq!(status, 409, "no webhook URL yet: {body}");
    assert!(
        body["error"].as_str().unwrap().contains("no webhook URL"),
        "{body}"
    );
    let (status, body) = sim
        .post(
            "/statuses",
            json!({"wamid": "wamid.unknown", "status": "read"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("wamid.unknown"),
        "{body}"
    );

    let mut webhooks = receive_webhooks(&sim).await;

    let (status, inbound) = sim
        .post(
            "/inbound/text",
            json!({"from": CUSTOMER, "profile_name": "Hans", "body": "Hi there"}),
        )
        .await;
    assert_eq!(status, 200, "{inbound}");
    assert_eq!(inbound["kind"], "inbound:text");
    assert_eq!(inbound["http_status"], 200);
    assert_eq!(
        inbound["body"]["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"],
        "Hi there"
    );
    let (headers, bytes) = next_webhook(&mut webhooks).await;
    verify(&secret, &headers, &bytes);

    let image = base64::engine::general_purpose::STANDARD.encode(b"jpeg bytes");
    let (status, sent) = sim
        .post(
            "/inbound/image",
            json!({"from": CUSTOMER, "profile_name": "Hans", "data_base64": image,
                   "mime_type": "image/jpeg", "caption": "Look"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let media_id = sent["media_id"].as_str().unwrap();
    let message = &sent["delivery"]["body"]["entry"][0]["changes"][0]["value"]["messages"][0];
    assert_eq!(message["image"]["id"], media_id);
    assert_eq!(message["image"]["caption"], "Look");
    next_webhook(&mut webhooks).await;

    let (status, _) = sim.graph_send(CUSTOMER, "Reply").await;
    assert_eq!(status, 200);
    let accepted = sim.get("/accepted-messages").await;
    assert_eq!(accepted.as_array().unwrap().len(), 2);
    let wamid = accepted[1]["wamid"].as_str().unwrap().to_owned();
    assert_eq!(accepted[1]["wa_id"], CUSTOMER);
    assert_eq!(accepted[1]["kind"], "text");
    assert_eq!(accepted[1]["body"]["text"]["body"], "Reply");
    let (_, body) = next_webhook(&mut webhooks).await;
    let automatic: Value = serde_json::from_slice(&body).unwrap();
    let statuses = &automatic["entry"][0]["changes"][0]["value"]["statuses"];
    assert_eq!(statuses[0]["status"], "sent", "the plan sends only sent");

    let (status, failed) = sim
        .post(
            "/statuses",
            json!({"wamid": wamid, "status": "failed", "error_code": 131047}),
        )
        .await;
    assert_eq!(status, 200, "{failed}");
    let entry = &failed["body"]["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(entry["status"], "failed");
    assert_eq!(entry["errors"][0]["code"], 131047);
    next_webhook(&mut webhooks).await;

    let deliveries = sim.get("/webhook-deliveries").await;
    let kinds: Vec<&str> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "inbound:text",
            "inbound:image",
            "status:sent",
            "status:failed"
        ]
    );

    let read = json!({"messaging_product": "whatsapp", "status": "read",
                      "message_id": inbound["wamid"]});
    let url = format!("{}/100000000000002/messages", sim.sim.base_url());
    let (status, _) = sim.graph(sim.http.post(url).json(&read)).await;
    assert_eq!(status, 200);
    assert_eq!(sim.get("/read-receipts").await, json!([inbound["wamid"]]));
}

#[tokio::test]
async fn bad_control_requests_name_the_field() {
    let sim = Controlled::start(MetaSimConfig::default()).await;
    let cases = [
        (
            "/faults",
            json!({"target": "sned", "fault": {"kind": "drop_connection"}}),
            "target",
        ),
        (
            "/faults",
            json!({"target": "send", "fault": {"kind": "http", "status": 1000}}),
            "fault.status",
        ),
        ("/recipients", json!({"profile_name": "Kim"}), "wa_id"),
        (
            "/recipients",
            json!({"wa_id": "+1 555", "profile_name": "Kim"}),
            "wa_id",
        ),
        (
            "/media",
            json!({"data_base64": "***", "mime_type": "image/png"}),
            "data_base64",
        ),
        (
            "/last-inbound",
            json!({"wa_id": CUSTOMER, "seconds_ago": "soon"}),
            "seconds_ago",
        ),
        (
            "/statuses",
            json!({"wamid": "wamid.x", "status": "failed"}),
            "error_code",
        ),
        (
            "/statuses",
            json!({"wamid": "wamid.x", "status": "gone"}),
            "status",
        ),
        (
            "/templates",
            json!({"id": "1", "name": "x", "language": "en", "parameter_format": "ODD",
                   "components": []}),
            "parameter_format",
        ),
    ];
    for (path, body, field) in cases {
        let (status, response) = sim.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {response}");
        let message = response["error"].as_str().expect("error message");
        assert!(message.contains(field), "{path} {body}: {message}");
    }
    let (status, response) = sim
        .put("/webhook-url", json!({"url": "ftp://127.0.0.1/"}))
        .await;
    assert_eq!(status, 400, "{response}");
    assert!(response["error"].as_str().unwrap().contains("webhook url"));
}

#[test]
fn command_line_overrides_test_values() {
    let args = MetasimArgs {
        bind: None,
        webhook_url: Some("http://127.0.0.1:9/api/webhook".to_owned()),
        access_token: Some("token-2".to_owned()),
        app_secret: None,
        waba_id: Some("300".to_owned()),
        phone_number_id: None,
        display_phone_number: None,
        demo_templates: true,
        enforce_service_window: false,
    };
    let config = standalone_config(&args).unwrap();
    assert_eq!(config.access_token, "token-2");
    assert_eq!(config.waba_id, "300");
    assert_eq!(config.app_secret, MetaSimConfig::default().app_secret);
    assert_eq!(
        config.templates.len(),
        MetaSimConfig::demo().templates.len()
    );
    assert!(
        !config.enforce_service_window,
        "the flag decides, not demo()"
    );
    assert_eq!(
        config.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/api/webhook")
    );

    let bad = MetasimArgs {
        webhook_url: Some("localhost:3000".to_owned()),
        ..args
    };
    let error = standalone_config(&bad).unwrap_err().to_string();
    assert!(error.contains("webhook url"), "{error}");
}
