//! The Meta stand-in called directly over HTTP, without the Graph client,
//! to check that it rejects bodies as Meta does and pages like Meta.

use std::time::Duration;

use serde_json::{Value, json};

use pons::metasim::{MetaSim, MetaSimConfig, SimRecipient, StatusPlan};

mod receiver;
use receiver::{next_webhook, verify, webhook_receiver};

struct Raw {
    sim: MetaSim,
    http: reqwest::Client,
}

impl Raw {
    async fn start(config: MetaSimConfig) -> Raw {
        let sim = MetaSim::start(config).await.expect("stand-in starts");
        let http = pons::whatsapp::graph::http_client(Duration::from_secs(5)).unwrap();
        Raw { sim, http }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.sim.config().access_token)
    }

    async fn post_message(&self, body: Value) -> (u16, Value) {
        let url = format!(
            "{}/{}/messages",
            self.sim.base_url(),
            self.sim.config().phone_number_id
        );
        let response = self
            .http
            .post(url)
            .header("authorization", self.bearer())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn get(&self, url: &str) -> (u16, Value) {
        let response = self
            .http
            .get(url)
            .header("authorization", self.bearer())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn code(body: &Value) -> i64 {
    body["error"]["code"].as_i64().expect("Meta error envelope")
}

#[tokio::test]
async fn rejects_bad_bodies_with_meta_codes() {
    let raw = Raw::start(MetaSimConfig::demo()).await;
    let to = "+15550002222";
    let cases = [
        (
            json!({"to": to, "type": "text", "text": {"body": "hi"}}),
            100,
        ),
        (
            json!({"messaging_product": "sms", "to": to, "text": {"body": "hi"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "text"}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {}}),
            131008,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "fax", "fax": {}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "image",
                   "image": {"link": "https://example.com/a.png", "id": "1"}}),
            131009,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "audio",
                   "audio": {"link": "https://example.com/a.ogg", "caption": "no"}}),
            131009,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "template",
                   "template": {"name": "hello_world", "language": {"code": "en_US"},
                                "components": [{"type": "BODY", "parameters": []}]}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "template",
                   "template": {"name": "appointment_reminder", "language": {"code": "en_US"},
                                "components": [{"type": "body", "parameters": [
                                    {"type": "text", "text": "Ana"},
                                    {"type": "text", "text": "May 5"}]}]}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "reaction",
                   "reaction": {"message_id": "wamid.A", "emoji": "👍"},
                   "context": {"message_id": "wamid.B"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "status": "read"}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "text",
                   "text": {"body": "hi"}, "biz_opaque_callback_data": "x".repeat(513)}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": to, "type": "text",
                   "text": {"body": "hi"}, "biz_opaque_callback_data": 42}),
            100,
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = raw.post_message(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&answer), expected, "{body}: {answer}");
        assert!(answer["error"]["fbtrace_id"].is_string());
    }
    assert!(raw.sim.accepted_messages().is_empty());
}

#[tokio::test]
async fn accepts_send_with_meta_response() {
    let raw = Raw::start(MetaSimConfig::default()).await;
    let (status, answer) = raw
        .post_message(
            json!({"messaging_product": "whatsapp", "to": "+1 555 000 2222",
                             "type": "text", "text": {"body": "hi"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["messaging_product"], "whatsapp");
    assert_eq!(answer["contacts"][0]["input"], "+1 555 000 2222");
    assert_eq!(answer["contacts"][0]["wa_id"], "15550002222");
    let wamid = answer["messages"][0]["id"].as_str().unwrap();
    assert!(wamid.starts_with("wamid."));
    assert_eq!(raw.sim.accepted_messages()[0].wamid, wamid);
}

#[tokio::test]
async fn unknown_ids_and_versions_rejected() {
    let raw = Raw::start(MetaSimConfig::default()).await;
    let origin = raw.sim.origin().to_owned();
    let (status, answer) = raw
        .get(&format!("{origin}/v25.0/123/message_templates"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["error_subcode"], 33);
    let waba = raw.sim.config().waba_id.clone();
    let (status, answer) = raw
        .get(&format!("{origin}/v1.0/{waba}/message_templates"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(code(&answer), 100);
}

#[tokio::test]
async fn template_pages_follow_next() {
    let raw = Raw::start(MetaSimConfig::demo()).await;
    let waba = raw.sim.config().waba_id.clone();
    let mut url = format!("{}/{waba}/message_templates?limit=3", raw.sim.base_url());
    let mut pages = Vec::new();
    loop {
        let (status, page) = raw.get(&url).await;
        assert_eq!(status, 200, "{page}");
        pages.push(page.clone());
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0]["data"].as_array().unwrap().len(), 3);
    assert_eq!(pages[1]["data"].as_array().unwrap().len(), 2);
    assert!(pages[1]["paging"]["cursors"]["after"].is_string());
    let first = &pages[0]["data"][0];
    assert_eq!(first["name"], "hello_world");
    assert_eq!(first["components"][0]["type"], "BODY");
    assert_eq!(pages[0]["data"][2]["parameter_format"], "NAMED");

    let only_names = format!(
        "{}/{waba}/message_templates?fields=name",
        raw.sim.base_url()
    );
    let (_, page) = raw.get(&only_names).await;
    let keys: Vec<&String> = page["data"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["id", "name"]);
}

/// Reads the status name and first error code of a status webhook.
fn status_of(body: &[u8]) -> (String, Option<i64>) {
    let payload: Value = serde_json::from_slice(body).unwrap();
    let status = &payload["entry"][0]["changes"][0]["value"]["statuses"][0];
    (
        status["status"].as_str().unwrap_or_default().to_owned(),
        status["errors"][0]["code"].as_i64(),
    )
}

fn text_to(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}})
}

#[tokio::test]
async fn recipients_fail_by_webhook() {
    let (url, mut webhooks) = webhook_receiver().await;
    let config = MetaSimConfig {
        webhook_url: Some(url),
        recipients: vec![SimRecipient {
            wa_id: "15550003333".into(),
            profile_name: None,
            fail_with: Some(131049),
            dialled_as: None,
        }],
        status_plan: StatusPlan {
            sent: Some(Duration::ZERO),
            delivered: None,
            read: None,
        },
        ..MetaSimConfig::default()
    };
    let raw = Raw::start(config).await;
    let secret = raw.sim.config().app_secret.clone();
    for (to, expected) in [("+15550002222", 131026), ("+15550003333", 131049)] {
        let (status, _) = raw.post_message(text_to(to)).await;
        assert_eq!(status, 200, "accepted first, failed later as Meta does");
        let (headers, body) = next_webhook(&mut webhooks).await;
        verify(&secret, &headers, &body);
        assert_eq!(status_of(&body), ("failed".to_owned(), Some(expected)));
    }
}

#[tokio::test]
async fn service_window_enforced() {
    let (url, mut webhooks) = webhook_receiver().await;
    let config = MetaSimConfig {
        webhook_url: Some(url),
        status_plan: StatusPlan {
            sent: Some(Duration::ZERO),
            delivered: None,
            read: None,
        },
        ..MetaSimConfig::demo()
    };
    let raw = Raw::start(config).await;
    let (status, _) = raw.post_message(text_to("+15550002222")).await;
    assert_eq!(status, 200);
    let (_, body) = next_webhook(&mut webhooks).await;
    assert_eq!(status_of(&body), ("failed".to_owned(), Some(131047)));

    let inbound = raw
        .sim
        .send_inbound_text("15550002222", "Ana", "hello")
        .await
        .unwrap();
    assert_eq!(inbound.http_status, Some(200));
    let (_, body) = next_webhook(&mut webhooks).await;
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let value = &payload["entry"][0]["changes"][0]["value"];
    assert_eq!(value["messages"][0]["text"]["body"], "hello");
    assert_eq!(value["contacts"][0]["profile"]["name"], "Ana");

    raw.post_message(text_to("+15550002222")).await;
    let (_, body) = next_webhook(&mut webhooks).await;
    assert_eq!(status_of(&body), ("sent".to_owned(), None));
}
