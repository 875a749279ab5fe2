//! State of the stand-in: seeded templates, media and recipients, and the
//! records tests assert on (requests, accepted messages, webhooks sent).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::faults::{Fault, FaultTarget};

/// A template as `GET /message_templates` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct SimTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, …
    pub status: String,
    pub category: String,
    /// `NAMED` or `POSITIONAL`.
    pub parameter_format: String,
    /// Components with Meta's upper-case types (`HEADER`, `BODY`, …).
    pub components: Vec<Value>,
}

impl SimTemplate {
    /// Builds an approved utility template with positional `{{1}}` variables.
    pub fn positional(id: &str, name: &str, language: &str, body: &str) -> SimTemplate {
        SimTemplate::with_format(id, name, language, body, "POSITIONAL")
    }

    /// Builds an approved utility template with named `{{name}}` variables.
    pub fn named(id: &str, name: &str, language: &str, body: &str) -> SimTemplate {
        SimTemplate::with_format(id, name, language, body, "NAMED")
    }

    fn with_format(id: &str, name: &str, language: &str, body: &str, format: &str) -> SimTemplate {
        SimTemplate {
            id: id.to_owned(),
            name: name.to_owned(),
            language: language.to_owned(),
            status: "APPROVED".to_owned(),
            category: "UTILITY".to_owned(),
            parameter_format: format.to_owned(),
            components: vec![json!({"type": "BODY", "text": body})],
        }
    }

    /// Sets the status.
    pub fn with_status(mut self, status: &str) -> SimTemplate {
        self.status = status.to_owned();
        self
    }

    /// Appends a component given in Meta's list format.
    pub fn with_component(mut self, component: Value) -> SimTemplate {
        self.components.push(component);
        self
    }

    /// Tells whether the header shows an image, video or document.
    pub(crate) fn has_media_header(&self) -> bool {
        self.components.iter().any(|c| {
            c["type"].as_str() == Some("HEADER")
                && matches!(c["format"].as_str(), Some("IMAGE" | "VIDEO" | "DOCUMENT"))
        })
    }

    /// Tells whether the header shows a map pin (`format` LOCATION).
    pub(crate) fn has_location_header(&self) -> bool {
        self.components.iter().any(|c| {
            c["type"].as_str() == Some("HEADER") && c["format"].as_str() == Some("LOCATION")
        })
    }

    /// Returns the text of the component of `kind` (`HEADER`, `BODY`).
    pub(crate) fn text_of(&self, kind: &str) -> Option<&str> {
        self.components
            .iter()
            .find(|c| c["type"].as_str() == Some(kind))
            .and_then(|c| c["text"].as_str())
    }
}

/// A customer number the stand-in recognises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRecipient {
    /// Digits only, such as `15550002222`.
    pub wa_id: String,
    pub profile_name: Option<String>,
    /// Messages to this number are accepted, then fail with this code in a
    /// `failed` status webhook.
    pub fail_with: Option<i64>,
    /// Digits that a business may dial for this number when they differ
    /// from `wa_id`, as for some mobile numbers of Brazil, Mexico and
    /// Argentina. A send to them reports `wa_id` in `contacts[].wa_id`.
    pub dialled_as: Option<String>,
}

/// When status webhooks follow an accepted send, counted from the moment
/// of acceptance; `None` skips that status. Reactions get only `sent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusPlan {
    pub sent: Option<Duration>,
    pub delivered: Option<Duration>,
    pub read: Option<Duration>,
}

impl StatusPlan {
    /// No automatic status webhooks.
    pub fn none() -> StatusPlan {
        StatusPlan {
            sent: None,
            delivered: None,
            read: None,
        }
    }
}

impl Default for StatusPlan {
    /// `sent` at once, `delivered` after 200 ms, `read` after 1 s.
    fn default() -> StatusPlan {
        StatusPlan {
            sent: Some(Duration::ZERO),
            delivered: Some(Duration::from_millis(200)),
            read: Some(Duration::from_secs(1)),
        }
    }
}

/// One request as received; the bearer token is replaced by a marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names; `authorization` reads `Bearer <redacted>`.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the request carried the configured access token.
    pub token_valid: bool,
}

impl RecordedRequest {
    /// Parses the body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Returns the first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A message the stand-in accepted with 200.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedMessage {
    pub wamid: String,
    /// `to` as sent.
    pub to: String,
    /// `to` reduced to digits.
    pub wa_id: String,
    pub kind: String,
    /// The request's `biz_opaque_callback_data`, echoed in every status
    /// webhook of the message.
    pub biz_opaque_callback_data: Option<String>,
    /// The whole request body.
    pub body: Value,
}

/// One webhook POST the stand-in made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// `status:<status>` or `inbound:<type>`.
    pub kind: String,
    /// The wamid the webhook is about.
    pub wamid: String,
    /// The exact bytes sent and signed.
    pub body: Vec<u8>,
    /// The `X-Hub-Signature-256` value sent.
    pub signature: String,
    /// The receiver's HTTP status, when it responded.
    pub http_status: Option<u16>,
    /// Reason the POST failed, when it did.
    pub error: Option<String>,
}

pub(crate) struct Media {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    /// Whether the metadata leaves out `file_size` and the download is
    /// sent without `Content-Length`.
    pub size_unknown: bool,
}

pub(crate) struct Ticket {
    pub media_id: String,
    pub expires_at: Instant,
}

/// Mutable state behind one lock, never held across an await.
#[derive(Default)]
pub(crate) struct Inner {
    pub templates: Vec<SimTemplate>,
    pub media: HashMap<String, Media>,
    pub tickets: HashMap<String, Ticket>,
    pub recipients: HashMap<String, SimRecipient>,
    pub last_inbound: HashMap<String, Instant>,
    pub requests: Vec<RecordedRequest>,
    pub faults: VecDeque<(FaultTarget, Fault)>,
    /// One sender per request held by [`Fault::Hold`] or
    /// [`Fault::AcceptThenHold`]; sending releases it.
    pub held: Vec<oneshot::Sender<()>>,
    pub accepted: Vec<AcceptedMessage>,
    pub read_receipts: Vec<String>,
    pub deliveries: Vec<WebhookDelivery>,
    pub webhook_url: Option<String>,
    pub status_plan: StatusPlan,
    pub next_id: u64,
}

impl Inner {
    /// Removes and returns the first queued fault that applies to `route`.
    pub fn take_fault(&mut self, route: FaultTarget) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|(target, _)| target.matches(route))?;
        self.faults.remove(index).map(|(_, fault)| fault)
    }

    /// Registers a held request and returns the receiver that fires when
    /// the test releases it.
    pub fn hold_request(&mut self) -> oneshot::Receiver<()> {
        let (release, released) = oneshot::channel();
        self.held.push(release);
        released
    }

    /// Counts the held requests whose client is still waiting.
    pub fn held_count(&mut self) -> usize {
        self.held.retain(|release| !release.is_closed());
        self.held.len()
    }

    /// Releases every held request and returns how many were still waiting.
    pub fn release_held(&mut self) -> usize {
        self.held
            .drain(..)
            .filter_map(|release| release.send(()).ok())
            .count()
    }

    /// Generates a numeric id, unique within this stand-in.
    pub fn next_numeric_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}", 900_000_000_000_000u64 + self.next_id)
    }
}

/// Locks the state, recovering it when a panicking test thread poisoned
/// the lock.
pub(crate) fn lock(mutex: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
