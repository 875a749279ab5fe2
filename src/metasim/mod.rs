//! A stand-in for Meta's side of the WhatsApp Cloud API, served on
//! loopback for tests and for `pons demo`. Pons uses it only as a Graph API
//! base URL and as a webhook sender. It accepts sends and read receipts,
//! lists templates in pages, serves media behind expiring URLs, responds
//! with Meta's error envelopes, records every request, injects faults on
//! demand, and reports delivery with signed status webhooks.

mod control;
mod escape;
mod faults;
mod handle;
mod media;
mod messages;
mod routes;
mod server;
mod standalone;
mod state;
mod templates;
mod validate;
mod validate_template;
mod webhooks;

use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use tokio_util::sync::CancellationToken;

pub use control::PREFIX as CONTROL_PREFIX;
pub use escape::to_meta_json;
pub use faults::{Fault, FaultTarget};
pub use handle::{InboundMedia, MetaSim};
pub use standalone::{STANDALONE_BIND, run_standalone, standalone_config};
pub use state::{
    AcceptedMessage, RecordedRequest, SimRecipient, SimTemplate, StatusPlan, WebhookDelivery,
};
pub use webhooks::SimStatus;

/// Settings of a stand-in. `Default` gives test values; `demo` adds
/// templates for the sandbox.
#[derive(Clone)]
pub struct MetaSimConfig {
    /// Graph API version in paths, such as `v25.0`.
    pub version: String,
    /// The only bearer token accepted.
    pub access_token: String,
    /// Key of the `X-Hub-Signature-256` HMAC on webhooks.
    pub app_secret: String,
    pub waba_id: String,
    pub phone_number_id: String,
    /// The business number's digits, as webhooks carry it.
    pub display_phone_number: String,
    /// Webhook receiver URL. No webhooks are sent while it is `None`.
    pub webhook_url: Option<String>,
    pub status_plan: StatusPlan,
    /// How long a media download URL stays valid; Meta's last 5 minutes.
    pub media_url_ttl: Duration,
    /// Templates per page when the request gives no `limit`.
    pub template_page_size_default: usize,
    /// Upper bound of `limit`.
    pub template_page_size_max: usize,
    /// Fails non-template sends with 131047 unless the recipient wrote in
    /// the last 24 hours (through `send_inbound_*`).
    pub enforce_service_window: bool,
    pub templates: Vec<SimTemplate>,
    /// Known customers. While empty, every number is reachable; otherwise
    /// sends to other numbers fail with 131026 (undeliverable).
    pub recipients: Vec<SimRecipient>,
    /// Timeout of each webhook POST.
    pub webhook_timeout: Duration,
}

impl std::fmt::Debug for MetaSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaSimConfig")
            .field("version", &self.version)
            .field("waba_id", &self.waba_id)
            .field("phone_number_id", &self.phone_number_id)
            .field("webhook_url", &self.webhook_url)
            .field("templates", &self.templates.len())
            .finish_non_exhaustive()
    }
}

impl Default for MetaSimConfig {
    fn default() -> MetaSimConfig {
        MetaSimConfig {
            version: "v25.0".to_owned(),
            access_token: "metasim-access-token".to_owned(),
            app_secret: "metasim-app-secret".to_owned(),
            waba_id: "100000000000001".to_owned(),
            phone_number_id: "100000000000002".to_owned(),
            display_phone_number: "15550001111".to_owned(),
            webhook_url: None,
            status_plan: StatusPlan::default(),
            media_url_ttl: Duration::from_secs(300),
            template_page_size_default: 25,
            template_page_size_max: 100,
            enforce_service_window: false,
            templates: Vec::new(),
            recipients: Vec::new(),
            webhook_timeout: Duration::from_secs(10),
        }
    }
}

impl MetaSimConfig {
    /// Builds the sandbox of `pons demo`: the 24-hour window is enforced, and there
    /// are approved positional and named templates, one with an image header,
    /// plus a pending one.
    pub fn demo() -> MetaSimConfig {
        let body = |text: &str| serde_json::json!({"type": "BODY", "text": text});
        MetaSimConfig {
            enforce_service_window: true,
            templates: vec![
                SimTemplate::positional("200000000000001", "hello_world", "en_US", "Hello World"),
                SimTemplate::positional(
                    "200000000000002",
                    "order_update",
                    "en_US",
                    "Hi {{1}}, your order {{2}} has shipped.",
                )
                .with_component(
                    serde_json::json!({"type": "FOOTER", "text": "Reply STOP to opt out"}),
                ),
                SimTemplate::named(
                    "200000000000003",
                    "appointment_reminder",
                    "en_US",
                    "Hello {{first_name}}, see you on {{date}}.",
                ),
                SimTemplate {
                    components: vec![
                        serde_json::json!({
                            "type": "HEADER",
                            "format": "IMAGE",
                            "example": {"header_handle": ["https://example.com/parcel.png"]},
                        }),
                        body("Hi {{1}}, here is a photo of your parcel {{2}}."),
                    ],
                    ..SimTemplate::positional("200000000000005", "parcel_photo", "en_US", "")
                },
                SimTemplate {
                    components: vec![body("Big sale: {{1}} off today")],
                    category: "MARKETING".to_owned(),
                    ..SimTemplate::positional("200000000000004", "weekly_offer", "en_US", "")
                }
                .with_status("PENDING"),
            ],
            ..MetaSimConfig::default()
        }
    }
}

/// Failure of an on-demand webhook.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no webhook URL is configured; call set_webhook_url first")]
    NoWebhookUrl,
    #[error("message {0} was not accepted by the stand-in")]
    UnknownMessage(String),
    #[error("webhook body could not be built: {0}")]
    Delivery(String),
}

/// State shared by the routes and the handle.
pub(crate) struct Sim {
    pub config: MetaSimConfig,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    pub inner: Mutex<state::Inner>,
    /// Client for webhook POSTs.
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    /// Notified each time a request starts being held by [`Fault::Hold`],
    /// [`Fault::AcceptThenHold`] or a held [`Fault::AcceptThenDrop`].
    pub held_changed: tokio::sync::Notify,
}

impl Sim {
    /// Tells whether `headers` carry `Authorization: Bearer <configured token>`.
    pub fn token_valid(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Bearer {}", self.config.access_token);
        headers
            .get(axum::http::header::AUTHORIZATION)
            .is_some_and(|value| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    value.as_bytes(),
                    expected.as_bytes(),
                ))
            })
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
