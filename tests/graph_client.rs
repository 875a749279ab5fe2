//! The Graph API client against the Meta stand-in on loopback: exact
//! request bodies, paging, typed errors for injected faults, the retry
//! rules, media downloads and signed status webhooks.

use std::time::Duration;

use serde_json::{Value, json};

use pons::media_files::{MediaFiles, PartialFile};
use pons::metasim::{
    Fault, FaultTarget, MetaSim, MetaSimConfig, RecordedRequest, SimStatus, SimTemplate, StatusPlan,
};
use pons::whatsapp::graph::{
    AccessToken, Currency, GraphClient, GraphError, MediaKind, MediaLink, MediaSource, Parameter,
    ParameterValue, RetryPolicy, SendComponent, SendRequest, TemplateMessage,
    sha256_digest_matches,
};

mod receiver;
use receiver::{next_webhook, verify, webhook_receiver};

const TO: &str = "+1 555-000-2222";
const WAMID: &str = "wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQTRFMDAwMDAwMDAwMDAwMDAwMQA=";

/// Short pauses so retries do not slow the suite; the pair limit keeps a
/// longer base so the test can tell the two apart.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
        pair_limit_base_delay: Duration::from_millis(200),
        pair_limit_max_delay: Duration::from_millis(400),
    }
}

async fn start(config: MetaSimConfig) -> (MetaSim, GraphClient, AccessToken) {
    let sim = MetaSim::start(config).await.expect("stand-in starts");
    let client = GraphClient::new(&sim.base_url(), Duration::from_secs(5))
        .expect("client builds")
        .with_retry_policy(fast_retries());
    let token = AccessToken::new(sim.config().access_token.clone());
    (sim, client, token)
}

/// Creates a temporary media file of at most `max_bytes` for a download.
fn partial_file(dir: &tempfile::TempDir, max_bytes: u64) -> PartialFile {
    MediaFiles::new(dir.path())
        .create_partial(max_bytes)
        .expect("temporary media file")
}

fn phone_number_id(sim: &MetaSim) -> String {
    sim.config().phone_number_id.clone()
}

fn message_posts(sim: &MetaSim) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect()
}

/// Sends `request` and returns the body the stand-in received.
async fn sent_body(request: SendRequest) -> Value {
    let (sim, client, token) = start(MetaSimConfig::demo()).await;
    let response = client
        .send_message(&phone_number_id(&sim), &token, &request)
        .await
        .expect("send accepted");
    let posts = message_posts(&sim);
    assert_eq!(posts.len(), 1);
    assert_eq!(sim.accepted_messages()[0].wamid, response.wamid());
    posts[0].json().expect("JSON body")
}

#[tokio::test]
async fn text_reply_body_and_response() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    let request = SendRequest::text(TO, "See https://example.com/a", true).reply_to(WAMID);
    let response = client
        .send_message(&phone_number_id(&sim), &token, &request)
        .await
        .unwrap();
    let posts = message_posts(&sim);
    assert_eq!(
        posts[0].json().unwrap(),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": TO,
            "type": "text",
            "text": {"body": "See https://example.com/a", "preview_url": true},
            "context": {"message_id": WAMID},
        })
    );
    assert!(posts[0].token_valid);
    assert_eq!(posts[0].header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    assert!(response.wamid().starts_with("wamid."));
    assert_eq!(response.wa_id(), Some("15550002222"));
    assert_eq!(response.contacts[0].input.as_deref(), Some(TO));
}

#[tokio::test]
async fn media_bodies_by_link() {
    let link = "https://example.com/files/report.pdf";
    let cases = [
        (MediaKind::Image, Some("A photo"), None, "image"),
        (MediaKind::Video, Some("A clip"), None, "video"),
        (MediaKind::Audio, None, None, "audio"),
        (
            MediaKind::Document,
            Some("Q3"),
            Some("report.pdf"),
            "document",
        ),
    ];
    for (kind, caption, filename, name) in cases {
        let request =
            SendRequest::media(TO, kind, MediaSource::Link(link.into()), caption, filename);
        let mut object = json!({"link": link});
        if let Some(caption) = caption {
            object["caption"] = json!(caption);
        }
        if let Some(filename) = filename {
            object["filename"] = json!(filename);
        }
        let expected = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": TO,
            "type": name,
            name: object,
        });
        assert_eq!(sent_body(request).await, expected, "{name}");
    }
}

#[tokio::test]
async fn reaction_set_and_removed() {
    for emoji in ["👍", ""] {
        let body = sent_body(SendRequest::reaction(TO, WAMID, emoji)).await;
        assert_eq!(
            body,
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": TO,
                "type": "reaction",
                "reaction": {"message_id": WAMID, "emoji": emoji},
            })
        );
    }
}

#[tokio::test]
async fn template_positional_body() {
    let mut config = MetaSimConfig::default();
    config.templates.push(
        SimTemplate::positional("7001", "order_update", "en_US", "Hi {{1}}, total {{2}}")
            .with_component(json!({"type": "HEADER", "format": "IMAGE"}))
            .with_component(json!({"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Track"}
            ]})),
    );
    let (sim, client, token) = start(config).await;
    let currency = Currency {
        fallback_value: "$100.99".into(),
        code: "USD".into(),
        amount_1000: 100990,
    };
    let header_image = ParameterValue::Image {
        image: MediaLink {
            link: Some("https://example.com/box.png".into()),
            id: None,
            filename: None,
        },
    };
    let template = TemplateMessage::new("order_update", "en_US")
        .with(SendComponent::Header {
            parameters: vec![Parameter::of(header_image)],
        })
        .with(SendComponent::Body {
            parameters: vec![
                Parameter::text("Jessica"),
                Parameter::of(ParameterValue::Currency { currency }),
            ],
        })
        .with(SendComponent::button(
            "quick_reply",
            0,
            vec![Parameter::of(ParameterValue::Payload {
                payload: "track-42".into(),
            })],
        ));
    let request = SendRequest::template(TO, template);
    client
        .send_message(&phone_number_id(&sim), &token, &request)
        .await
        .expect("template accepted");
    assert_eq!(
        message_posts(&sim)[0].json().unwrap(),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": TO,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [
                        {"type": "image", "image": {"link": "https://example.com/box.png"}}
                    ]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Jessica"},
                        {"type": "currency", "currency": {
                            "fallback_value": "$100.99", "code": "USD", "amount_1000": 100990
                        }}
                    ]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [
                        {"type": "payload", "payload": "track-42"}
                    ]}
                ]
            }
        })
    );
}

#[tokio::test]
async fn template_named_body() {
    let template =
        TemplateMessage::new("appointment_reminder", "en_US").with(SendComponent::Body {
            parameters: vec![
                Parameter::named_text("date", "May 5"),
                Parameter::named_text("first_name", "Ana"),
            ],
        });
    let body = sent_body(SendRequest::template(TO, template)).await;
    assert_eq!(
        body["template"],
        json!({
            "name": "appointment_reminder",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "May 5", "parameter_name": "date"},
                {"type": "text", "text": "Ana", "parameter_name": "first_name"}
            ]}]
        })
    );
}

#[tokio::test]
async fn template_errors_are_typed() {
    let (sim, client, token) = start(MetaSimConfig::demo()).await;
    let id = phone_number_id(&sim);
    let missing_parameter =
        TemplateMessage::new("order_update", "en_US").with(SendComponent::Body {
            parameters: vec![Parameter::text("Ana")],
        });
    let error = client
        .send_message(&id, &token, &SendRequest::template(TO, missing_parameter))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(132000));
    assert!(!error.is_retryable());

    let pending = TemplateMessage::new("weekly_offer", "en_US");
    let error = client
        .send_message(&id, &token, &SendRequest::template(TO, pending))
        .await
        .unwrap_err();
    let meta = error.meta().expect("Meta envelope");
    assert_eq!(meta.code, 132001);
    assert_eq!(meta.http_status, 404);
    assert!(meta.fbtrace_id.is_some());
    assert_eq!(message_posts(&sim).len(), 2);
}

#[tokio::test]
async fn mark_as_read_body() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    client
        .mark_as_read(&phone_number_id(&sim), &token, WAMID)
        .await
        .expect("read receipt accepted");
    assert_eq!(
        message_posts(&sim)[0].json().unwrap(),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": WAMID})
    );
    assert_eq!(sim.read_receipts(), vec![WAMID.to_owned()]);
}

#[tokio::test]
async fn templates_across_three_pages() {
    let mut config = MetaSimConfig::default();
    for n in 0..7 {
        let name = format!("template_{n}");
        let template = if n % 2 == 0 {
            SimTemplate::positional(&format!("80{n}"), &name, "en_US", "Hi {{1}}")
        } else {
            SimTemplate::named(&format!("80{n}"), &name, "pt_BR", "Oi {{first_name}}")
        };
        config.templates.push(template);
    }
    let (sim, client, token) = start(config).await;
    let client = client.with_template_page_size(3);
    let templates = client
        .list_templates(&sim.config().waba_id, &token)
        .await
        .expect("templates listed");

    let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        (0..7).map(|n| format!("template_{n}")).collect::<Vec<_>>()
    );
    let named = &templates[1];
    assert_eq!(named.id, "801");
    assert_eq!(named.language, "pt_BR");
    assert_eq!(named.status, "APPROVED");
    assert_eq!(named.category.as_deref(), Some("UTILITY"));
    assert!(named.is_named());
    assert_eq!(named.body_text(), Some("Oi {{first_name}}"));
    assert_eq!(named.components[0]["type"], "BODY");
    assert!(!templates[0].is_named());

    let gets = sim.requests();
    assert_eq!(gets.len(), 3, "one request per page");
    assert!(!gets[0].query.as_deref().unwrap().contains("after="));
    for page in &gets[1..] {
        assert!(page.query.as_deref().unwrap().contains("after="));
    }
    assert!(gets[0].query.as_deref().unwrap().contains("limit=3"));
}

#[tokio::test]
async fn wrong_token_is_token_error() {
    let (sim, client, _) = start(MetaSimConfig::default()).await;
    let wrong = AccessToken::new("expired-token");
    let error = client
        .send_message(
            &phone_number_id(&sim),
            &wrong,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    assert!(error.is_token_error(), "{error}");
    assert_eq!(error.meta().unwrap().http_status, 401);
    assert!(!error.to_string().contains("expired-token"));
    assert!(!format!("{error:?}").contains("expired-token"));
    assert_eq!(message_posts(&sim).len(), 1, "not retried");
    assert!(!message_posts(&sim)[0].token_valid);

    let token = AccessToken::new(sim.config().access_token.clone());
    sim.inject(FaultTarget::Any, Fault::graph(190));
    let error = client
        .list_templates(&sim.config().waba_id, &token)
        .await
        .unwrap_err();
    assert!(error.is_token_error(), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(
        sim.requests().len(),
        2,
        "read with a token error not retried"
    );
}

#[tokio::test]
async fn reengagement_error_not_retried() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    sim.inject(FaultTarget::Send, Fault::graph(131047));
    let error = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    let meta = error.meta().expect("Meta envelope");
    assert_eq!(meta.code, 131047);
    assert_eq!(meta.title(), "Re-engagement message");
    assert!(meta.details.is_some());
    assert!(!error.is_retryable());
    assert_eq!(error.to_meta_error().code, Some(131047));
    assert_eq!(message_posts(&sim).len(), 1);
    assert!(sim.accepted_messages().is_empty());
}

#[tokio::test]
async fn throughput_limit_retried_then_sent() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    sim.inject(FaultTarget::Send, Fault::graph(130429));
    let response = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .expect("second attempt accepted");
    assert_eq!(message_posts(&sim).len(), 2);
    assert_eq!(sim.accepted_messages().len(), 1);
    assert_eq!(sim.accepted_messages()[0].wamid, response.wamid());
}

#[tokio::test]
async fn pair_limit_waits_longer() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    sim.inject(FaultTarget::Send, Fault::graph(131056));
    let started = std::time::Instant::now();
    client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .expect("retry after the pair limit accepted");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(message_posts(&sim).len(), 2);
}

#[tokio::test]
async fn rate_limits_exhaust_attempts() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    for _ in 0..3 {
        sim.inject(FaultTarget::Send, Fault::Http { status: 429 });
    }
    let error = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, GraphError::UnexpectedResponse { status: 429, .. }),
        "{error}"
    );
    assert_eq!(message_posts(&sim).len(), 3, "bounded by max_attempts");
}

#[tokio::test]
async fn server_errors_on_send_not_retried() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    let id = phone_number_id(&sim);
    sim.inject(FaultTarget::Send, Fault::graph(131000));
    let error = client
        .send_message(&id, &token, &SendRequest::text(TO, "hi", false))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(131000));
    assert!(error.is_retryable(), "retryable in general");
    assert!(!error.proves_not_executed());
    assert_eq!(message_posts(&sim).len(), 1);

    sim.inject(FaultTarget::Send, Fault::Http { status: 502 });
    let error = client
        .send_message(&id, &token, &SendRequest::text(TO, "hi", false))
        .await
        .unwrap_err();
    assert!(
        matches!(error, GraphError::UnexpectedResponse { status: 502, .. }),
        "{error}"
    );
    assert_eq!(message_posts(&sim).len(), 2);
}

#[tokio::test]
async fn timeout_on_send_not_retried() {
    let sim = MetaSim::start(MetaSimConfig::default()).await.unwrap();
    let client = GraphClient::new(&sim.base_url(), Duration::from_millis(300))
        .unwrap()
        .with_retry_policy(fast_retries());
    let token = AccessToken::new(sim.config().access_token.clone());
    sim.inject(FaultTarget::Send, Fault::Delay(Duration::from_secs(5)));
    let error = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::Timeout { .. }), "{error}");
    assert_eq!(message_posts(&sim).len(), 1);
}

#[tokio::test]
async fn dropped_connection_on_send_not_retried() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    sim.inject(FaultTarget::Send, Fault::DropConnection);
    let error = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::Connection { .. }), "{error}");
    assert_eq!(message_posts(&sim).len(), 1);
}

#[tokio::test]
async fn refused_connection_is_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = GraphClient::new(&format!("http://{address}/v25.0"), Duration::from_secs(2))
        .unwrap()
        .with_retry_policy(fast_retries());
    let error = client
        .send_message(
            "100",
            &AccessToken::new("t"),
            &SendRequest::text(TO, "hi", false),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::Connect { .. }), "{error}");
    assert!(error.proves_not_executed());
}

#[tokio::test]
async fn reads_retried_after_faults() {
    let (sim, client, token) = start(MetaSimConfig::demo()).await;
    sim.inject(FaultTarget::Templates, Fault::Http { status: 503 });
    sim.inject(FaultTarget::Templates, Fault::DropConnection);
    let templates = client
        .list_templates(&sim.config().waba_id, &token)
        .await
        .expect("third attempt succeeds");
    assert_eq!(templates.len(), sim.config().templates.len());
    assert_eq!(sim.requests().len(), 3);

    sim.inject(FaultTarget::MarkRead, Fault::graph(131016));
    client
        .mark_as_read(&phone_number_id(&sim), &token, WAMID)
        .await
        .expect("read receipt retried");
    assert_eq!(sim.read_receipts().len(), 1);
}

#[tokio::test]
async fn media_timeout_retried() {
    let sim = MetaSim::start(MetaSimConfig::default()).await.unwrap();
    let client = GraphClient::new(&sim.base_url(), Duration::from_millis(300))
        .unwrap()
        .with_retry_policy(fast_retries());
    let token = AccessToken::new(sim.config().access_token.clone());
    let media_id = sim.add_media(b"bytes".to_vec(), "image/png");
    sim.inject(FaultTarget::MediaInfo, Fault::Delay(Duration::from_secs(5)));
    let info = client.media_info(&media_id, &token).await.expect("retried");
    assert_eq!(info.id, media_id);
    assert_eq!(sim.requests().len(), 2);
}

#[tokio::test]
async fn media_download_with_token() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"\x89PNG\r\n\x1a\nfake image".to_vec();
    let media_id = sim.add_media(bytes.clone(), "image/png");
    let info = client.media_info(&media_id, &token).await.unwrap();
    assert_eq!(info.file_size, Some(bytes.len() as u64));
    assert_eq!(info.mime_type.as_deref(), Some("image/png"));
    let mut partial = partial_file(&dir, 1024);
    let media = client
        .download_media(&info.url, &token, &mut partial)
        .await
        .expect("downloaded");
    assert_eq!(media.size, bytes.len() as u64);
    assert_eq!(media.content_type.as_deref(), Some("image/png"));
    assert!(
        sha256_digest_matches(&partial.sha256(), info.sha256.as_deref().unwrap()),
        "checksum matches"
    );
    let stored = partial.persist().await.unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(stored.relative_path)).unwrap(),
        bytes
    );
    let download = sim.requests().pop().unwrap();
    assert!(download.token_valid, "token sent to the download URL");

    let mut small = partial_file(&dir, 4);
    let error = client
        .download_media(&info.url, &token, &mut small)
        .await
        .unwrap_err();
    assert!(
        matches!(error, GraphError::MediaTooLarge { max_bytes: 4 }),
        "{error}"
    );
    assert_eq!(small.size(), 0, "the Content-Length stops the download");
    let error = client
        .download_media(
            &info.url,
            &AccessToken::new("wrong"),
            &mut partial_file(&dir, 1024),
        )
        .await
        .unwrap_err();
    assert!(error.is_token_error(), "{error}");
}

#[tokio::test]
async fn expired_media_url_not_found() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let media_id = sim.add_media(b"voice".to_vec(), "audio/ogg");
    let info = client.media_info(&media_id, &token).await.unwrap();
    sim.expire_media_urls();
    let error = client
        .download_media(&info.url, &token, &mut partial_file(&dir, 1024))
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::MediaUrlNotFound), "{error}");
    assert!(!error.is_retryable());

    let (short_lived, client, token) = start(MetaSimConfig {
        media_url_ttl: Duration::ZERO,
        ..MetaSimConfig::default()
    })
    .await;
    let media_id = short_lived.add_media(b"voice".to_vec(), "audio/ogg");
    let info = client.media_info(&media_id, &token).await.unwrap();
    let error = client
        .download_media(&info.url, &token, &mut partial_file(&dir, 1024))
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::MediaUrlNotFound), "{error}");

    let error = client.media_info("999", &token).await.unwrap_err();
    assert_eq!(error.code(), Some(100));
    assert_eq!(error.meta().unwrap().subcode, Some(33));
}

#[tokio::test]
async fn media_url_must_not_leak_token() {
    let (_sim, client, token) = start(MetaSimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let error = client
        .download_media(
            "http://127.0.0.2:9/media",
            &token,
            &mut partial_file(&dir, 1024),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::InvalidRequest(_)), "{error}");
}

#[tokio::test]
async fn status_webhooks_signed() {
    let (url, mut receiver) = webhook_receiver().await;
    let config = MetaSimConfig {
        webhook_url: Some(url),
        status_plan: StatusPlan {
            sent: Some(Duration::ZERO),
            delivered: Some(Duration::from_millis(20)),
            read: None,
        },
        ..MetaSimConfig::default()
    };
    let (sim, client, token) = start(config).await;
    let secret = sim.config().app_secret.clone();
    let response = client
        .send_message(
            &phone_number_id(&sim),
            &token,
            &SendRequest::text(TO, "Olá 👋", false),
        )
        .await
        .unwrap();

    for expected in ["sent", "delivered"] {
        let (headers, body) = next_webhook(&mut receiver).await;
        verify(&secret, &headers, &body);
        assert!(body.is_ascii());
        let payload: Value = serde_json::from_slice(&body).unwrap();
        let value = &payload["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["phone_number_id"], phone_number_id(&sim));
        assert_eq!(value["statuses"][0]["id"], response.wamid());
        assert_eq!(value["statuses"][0]["status"], expected);
        assert_eq!(value["statuses"][0]["recipient_id"], "15550002222");
        assert!(
            value["statuses"][0]
                .get("biz_opaque_callback_data")
                .is_none(),
            "a send without the field gets statuses without it"
        );
    }

    let delivery = sim
        .send_status(response.wamid(), SimStatus::Failed(131026))
        .await
        .unwrap();
    assert_eq!(delivery.http_status, Some(200));
    let (headers, body) = next_webhook(&mut receiver).await;
    verify(&secret, &headers, &body);
    let payload: Value = serde_json::from_slice(&body).unwrap();
    let status = &payload["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["status"], "failed");
    assert_eq!(status["errors"][0]["code"], 131026);
}

#[tokio::test]
async fn callback_data_echoed_in_status_webhooks() {
    let (url, mut receiver) = webhook_receiver().await;
    let config = MetaSimConfig {
        webhook_url: Some(url),
        status_plan: StatusPlan {
            sent: Some(Duration::ZERO),
            delivered: Some(Duration::from_millis(20)),
            read: None,
        },
        ..MetaSimConfig::default()
    };
    let (sim, client, token) = start(config).await;
    let request = SendRequest::text(TO, "hi", false).with_callback_data("message-42");
    let response = client
        .send_message(&phone_number_id(&sim), &token, &request)
        .await
        .unwrap();
    let accepted = &sim.accepted_messages()[0];
    assert_eq!(accepted.body["biz_opaque_callback_data"], "message-42");
    assert_eq!(
        accepted.biz_opaque_callback_data.as_deref(),
        Some("message-42")
    );

    let on_demand = sim
        .send_status(response.wamid(), SimStatus::Read)
        .await
        .unwrap();
    assert_eq!(on_demand.http_status, Some(200));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, body) = next_webhook(&mut receiver).await;
        let payload: Value = serde_json::from_slice(&body).unwrap();
        let status = payload["entry"][0]["changes"][0]["value"]["statuses"][0].clone();
        assert_eq!(status["id"], response.wamid());
        assert_eq!(status["biz_opaque_callback_data"], "message-42", "{status}");
        seen.push(status["status"].as_str().unwrap().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["delivered", "read", "sent"]);
}

#[tokio::test]
async fn accepted_then_dropped_send_is_connection_error() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    sim.inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: false });
    let request = SendRequest::text(TO, "hi", false).with_callback_data("message-7");
    let error = client
        .send_message(&phone_number_id(&sim), &token, &request)
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::Connection { .. }), "{error}");
    assert_eq!(
        message_posts(&sim).len(),
        1,
        "a send that may have run is not retried"
    );
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1, "the stand-in accepted the send");
    assert_eq!(
        accepted[0].biz_opaque_callback_data.as_deref(),
        Some("message-7")
    );
}

#[tokio::test]
async fn accepted_then_held_send_dropped_on_release() {
    let (sim, client, token) = start(MetaSimConfig::default()).await;
    let sim = std::sync::Arc::new(sim);
    sim.inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: true });
    let phone_number_id = phone_number_id(&sim);
    let mut sending = tokio::spawn(async move {
        let request = SendRequest::text(TO, "hi", false);
        client
            .send_message(&phone_number_id, &token, &request)
            .await
    });
    tokio::select! {
        () = sim.wait_for_held(1) => {}
        outcome = &mut sending => panic!("the send ended before the stand-in held it: {outcome:?}"),
    }
    assert_eq!(
        sim.accepted_messages().len(),
        1,
        "a held request was accepted before it counted as held"
    );
    assert_eq!(sim.release_held(), 1);
    let error = sending.await.unwrap().unwrap_err();
    assert!(matches!(error, GraphError::Connection { .. }), "{error}");
}

#[tokio::test]
async fn inbound_image_signed_and_downloadable() {
    let (url, mut receiver) = webhook_receiver().await;
    let config = MetaSimConfig {
        webhook_url: Some(url),
        ..MetaSimConfig::default()
    };
    let (sim, client, token) = start(config).await;
    let image = b"\xff\xd8\xffjpeg bytes".to_vec();
    let sent = sim
        .send_inbound_image(
            "15550002222",
            "Zoë",
            image.clone(),
            "image/jpeg",
            Some("café/menu"),
        )
        .await
        .unwrap();
    let (headers, body) = next_webhook(&mut receiver).await;
    verify(&sim.config().app_secret, &headers, &body);
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.contains(r"Zo\u00eb"), "{text}");
    assert!(text.contains(r"caf\u00e9\/menu"), "{text}");

    let payload: Value = serde_json::from_slice(&body).unwrap();
    let message = &payload["entry"][0]["changes"][0]["value"]["messages"][0];
    assert_eq!(message["id"], sent.delivery.wamid);
    assert_eq!(message["image"]["id"], sent.media_id);
    let info = client.media_info(&sent.media_id, &token).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut partial = partial_file(&dir, 1 << 20);
    let media = client
        .download_media(&info.url, &token, &mut partial)
        .await
        .unwrap();
    assert_eq!(media.size, image.len() as u64);
    assert!(
        sha256_digest_matches(
            &partial.sha256(),
            message["image"]["sha256"].as_str().unwrap()
        ),
        "base64 checksum from the webhook matches"
    );
    let stored = partial.persist().await.unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(stored.relative_path)).unwrap(),
        image
    );
}
