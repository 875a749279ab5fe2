//! The control API of a stand-in run as its own process (`pons metasim`).
//! Its JSON endpoints under [`PREFIX`] map one to one onto the methods of
//! [`MetaSim`]. Tests in another language use them to seed the stand-in,
//! queue faults, release held requests, read its records and trigger
//! webhooks. The prefix starts with `_`, so it cannot clash with Graph API
//! paths, which start with a version or a numeric id. Control requests are neither recorded nor subject to faults.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    AcceptedMessage, Fault, FaultTarget, MetaSim, RecordedRequest, SimError, SimRecipient,
    SimStatus, SimTemplate, StatusPlan, WebhookDelivery,
};

/// Path prefix of every control endpoint.
pub const PREFIX: &str = "/_metasim";

/// Largest control request body: a 100 MB file, the largest media Meta
/// accepts, in base64 with room for the JSON around it.
const MAX_CONTROL_BODY_BYTES: usize = 140 * 1024 * 1024;

type Handle = Arc<MetaSim>;

pub(crate) fn router(sim: Handle) -> Router {
    let routes = Router::new()
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/faults", get(pending_faults).post(inject_fault))
        .route("/held", get(held_requests))
        .route("/release", post(release_held))
        .route("/templates", post(add_template))
        .route("/recipients", post(add_recipient))
        .route("/media", post(add_media))
        .route("/media/expire", post(expire_media_urls))
        .route("/last-inbound", post(set_last_inbound))
        .route("/webhook-url", put(set_webhook_url))
        .route("/status-plan", put(set_status_plan))
        .route("/accepted-messages", get(accepted_messages))
        .route("/read-receipts", get(read_receipts))
        .route("/webhook-deliveries", get(webhook_deliveries))
        .route("/statuses", post(send_status))
        .route("/inbound/text", post(send_inbound_text))
        .route("/inbound/image", post(send_inbound_image))
        .layer(DefaultBodyLimit::max(MAX_CONTROL_BODY_BYTES))
        .with_state(sim);
    Router::new().nest(PREFIX, routes)
}

/// A failed control request: an HTTP status and a message for the caller.
struct ControlError(StatusCode, String);

impl ControlError {
    fn invalid(message: String) -> ControlError {
        ControlError(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

impl From<SimError> for ControlError {
    fn from(error: SimError) -> ControlError {
        let status = match error {
            SimError::NoWebhookUrl => StatusCode::CONFLICT,
            SimError::UnknownMessage(_) => StatusCode::NOT_FOUND,
            SimError::Delivery(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ControlError(status, error.to_string())
    }
}

/// A JSON body whose rejections are 400 responses with axum's message,
/// which names the field that failed to deserialize.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ControlError::invalid(rejection_message(rejection))),
        }
    }
}

fn rejection_message(rejection: JsonRejection) -> String {
    format!("invalid control request: {}", rejection.body_text())
}

/// Returns the body as JSON when it parses, else as (lossy) UTF-8 text.
fn body_value(bytes: &[u8]) -> (Value, bool) {
    match serde_json::from_slice(bytes) {
        Ok(value) => (value, true),
        Err(_) => (
            Value::String(String::from_utf8_lossy(bytes).into_owned()),
            false,
        ),
    }
}

fn request_json(request: &RecordedRequest) -> Value {
    let (body, body_is_json) = body_value(&request.body);
    json!({
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": request.headers,
        "body": body,
        "body_is_json": body_is_json,
        "token_valid": request.token_valid,
    })
}

fn accepted_json(message: &AcceptedMessage) -> Value {
    json!({
        "wamid": message.wamid,
        "to": message.to,
        "wa_id": message.wa_id,
        "kind": message.kind,
        "biz_opaque_callback_data": message.biz_opaque_callback_data,
        "body": message.body,
    })
}

fn delivery_json(delivery: &WebhookDelivery) -> Value {
    let (body, body_is_json) = body_value(&delivery.body);
    json!({
        "kind": delivery.kind,
        "wamid": delivery.wamid,
        "body": body,
        "body_is_json": body_is_json,
        "signature": delivery.signature,
        "http_status": delivery.http_status,
        "error": delivery.error,
    })
}

async fn list_requests(State(sim): State<Handle>) -> axum::Json<Value> {
    let requests: Vec<Value> = sim.requests().iter().map(request_json).collect();
    axum::Json(Value::Array(requests))
}

async fn clear_requests(State(sim): State<Handle>) -> StatusCode {
    sim.clear_requests();
    StatusCode::NO_CONTENT
}

/// A fault to queue. `target` is the request kind it applies to, and
/// `fault` the misbehaviour, tagged by `kind`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    target: TargetName,
    fault: FaultSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TargetName {
    Any,
    Send,
    MarkRead,
    Templates,
    MediaInfo,
    MediaDownload,
}

impl From<TargetName> for FaultTarget {
    fn from(name: TargetName) -> FaultTarget {
        match name {
            TargetName::Any => FaultTarget::Any,
            TargetName::Send => FaultTarget::Send,
            TargetName::MarkRead => FaultTarget::MarkRead,
            TargetName::Templates => FaultTarget::Templates,
            TargetName::MediaInfo => FaultTarget::MediaInfo,
            TargetName::MediaDownload => FaultTarget::MediaDownload,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultSpec {
    /// Meta's error envelope for `code`. `http_status` overrides the
    /// status Meta typically uses for it.
    Graph { code: i64, http_status: Option<u16> },
    /// A bare HTTP status with a non-JSON body.
    Http { status: u16 },
    /// The normal response after `ms` milliseconds.
    Delay { ms: u64 },
    /// The connection closes without a response.
    DropConnection,
    /// The request is handled (a send is accepted), then the connection
    /// closes without the response; with `hold`, only once `POST /release`
    /// releases the request.
    AcceptThenDrop {
        #[serde(default)]
        hold: bool,
    },
    /// The normal response once `POST /release` releases the request.
    Hold,
    /// The request is handled (a send is accepted), and its response is
    /// sent once `POST /release` releases the request.
    AcceptThenHold,
}

impl FaultSpec {
    fn into_fault(self) -> Result<Fault, ControlError> {
        let check_status = |field: &str, status: u16| {
            if (100..=599).contains(&status) {
                Ok(status)
            } else {
                Err(ControlError::invalid(format!(
                    "invalid fault.{field} {status}: use an HTTP status from 100 to 599"
                )))
            }
        };
        Ok(match self {
            FaultSpec::Graph { code, http_status } => Fault::Graph {
                code,
                http_status: http_status
                    .map(|status| check_status("http_status", status))
                    .transpose()?,
            },
            FaultSpec::Http { status } => Fault::Http {
                status: check_status("status", status)?,
            },
            FaultSpec::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
            FaultSpec::DropConnection => Fault::DropConnection,
            FaultSpec::AcceptThenDrop { hold } => Fault::AcceptThenDrop { hold },
            FaultSpec::Hold => Fault::Hold,
            FaultSpec::AcceptThenHold => Fault::AcceptThenHold,
        })
    }
}

async fn inject_fault(
    State(sim): State<Handle>,
    Body(request): Body<FaultRequest>,
) -> Result<axum::Json<Value>, ControlError> {
    let fault = request.fault.into_fault()?;
    sim.inject(request.target.into(), fault);
    Ok(axum::Json(json!({"pending": sim.pending_faults()})))
}

async fn pending_faults(State(sim): State<Handle>) -> axum::Json<Value> {
    axum::Json(json!({"pending": sim.pending_faults()}))
}

async fn held_requests(State(sim): State<Handle>) -> axum::Json<Value> {
    axum::Json(json!({"held": sim.held_requests()}))
}

async fn release_held(State(sim): State<Handle>) -> axum::Json<Value> {
    axum::Json(json!({"released": sim.release_held()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateRequest {
    id: String,
    name: String,
    language: String,
    /// Default `APPROVED`.
    status: Option<String>,
    /// Default `UTILITY`.
    category: Option<String>,
    /// `POSITIONAL` or `NAMED`.
    parameter_format: String,
    /// Components in Meta's list format, with upper-case types.
    components: Vec<Value>,
}

async fn add_template(
    State(sim): State<Handle>,
    Body(request): Body<TemplateRequest>,
) -> Result<StatusCode, ControlError> {
    let format = request.parameter_format.as_str();
    if !matches!(format, "POSITIONAL" | "NAMED") {
        return Err(ControlError::invalid(format!(
            "invalid parameter_format {format:?}: use POSITIONAL or NAMED"
        )));
    }
    let mut template = if format == "NAMED" {
        SimTemplate::named(&request.id, &request.name, &request.language, "")
    } else {
        SimTemplate::positional(&request.id, &request.name, &request.language, "")
    };
    template.components = request.components;
    if let Some(status) = request.status {
        template.status = status;
    }
    if let Some(category) = request.category {
        template.category = category;
    }
    sim.add_template(template);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientRequest {
    wa_id: String,
    profile_name: Option<String>,
    fail_with: Option<i64>,
    dialled_as: Option<String>,
}

async fn add_recipient(
    State(sim): State<Handle>,
    Body(request): Body<RecipientRequest>,
) -> Result<StatusCode, ControlError> {
    require_digits("wa_id", &request.wa_id)?;
    if let Some(dialled) = &request.dialled_as {
        require_digits("dialled_as", dialled)?;
    }
    sim.add_recipient(SimRecipient {
        wa_id: request.wa_id,
        profile_name: request.profile_name,
        fail_with: request.fail_with,
        dialled_as: request.dialled_as,
    });
    Ok(StatusCode::NO_CONTENT)
}

fn require_digits(field: &str, value: &str) -> Result<(), ControlError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ControlError::invalid(format!(
            "invalid {field} {value:?}: use the phone number's digits only, such as 15550002222"
        )))
    }
}

fn decode_base64(field: &str, text: &str) -> Result<Vec<u8>, ControlError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|error| ControlError::invalid(format!("invalid {field}: {error}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaRequest {
    /// The file's bytes in standard base64.
    data_base64: String,
    mime_type: String,
    /// Leaves out `file_size` and `Content-Length`; see
    /// [`MetaSim::add_media_of_unknown_size`].
    #[serde(default)]
    size_unknown: bool,
}

async fn add_media(
    State(sim): State<Handle>,
    Body(request): Body<MediaRequest>,
) -> Result<axum::Json<Value>, ControlError> {
    let bytes = decode_base64("data_base64", &request.data_base64)?;
    let id = if request.size_unknown {
        sim.add_media_of_unknown_size(bytes, &request.mime_type)
    } else {
        sim.add_media(bytes, &request.mime_type)
    };
    Ok(axum::Json(json!({"id": id})))
}

async fn expire_media_urls(State(sim): State<Handle>) -> StatusCode {
    sim.expire_media_urls();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LastInboundRequest {
    wa_id: String,
    seconds_ago: u64,
}

async fn set_last_inbound(
    State(sim): State<Handle>,
    Body(request): Body<LastInboundRequest>,
) -> Result<StatusCode, ControlError> {
    require_digits("wa_id", &request.wa_id)?;
    sim.set_last_inbound(&request.wa_id, request.seconds_ago);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookUrlRequest {
    /// `null` stops webhooks.
    url: Option<String>,
}

async fn set_webhook_url(
    State(sim): State<Handle>,
    Body(request): Body<WebhookUrlRequest>,
) -> Result<StatusCode, ControlError> {
    if let Some(url) = &request.url {
        check_webhook_url(url).map_err(ControlError::invalid)?;
    }
    sim.set_webhook_url(request.url.as_deref());
    Ok(StatusCode::NO_CONTENT)
}

/// Checks that `url` is an absolute http(s) URL, and returns a message
/// naming the problem otherwise.
pub(crate) fn check_webhook_url(url: &str) -> Result<(), String> {
    let valid = reqwest::Url::parse(url)
        .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.has_host());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid webhook url {url:?}: use an absolute http:// or https:// URL"
        ))
    }
}

/// Milliseconds after acceptance for each status webhook. A `null` or
/// missing field skips that status.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusPlanRequest {
    sent_ms: Option<u64>,
    delivered_ms: Option<u64>,
    read_ms: Option<u64>,
}

async fn set_status_plan(
    State(sim): State<Handle>,
    Body(request): Body<StatusPlanRequest>,
) -> StatusCode {
    sim.set_status_plan(StatusPlan {
        sent: request.sent_ms.map(Duration::from_millis),
        delivered: request.delivered_ms.map(Duration::from_millis),
        read: request.read_ms.map(Duration::from_millis),
    });
    StatusCode::NO_CONTENT
}

async fn accepted_messages(State(sim): State<Handle>) -> axum::Json<Value> {
    let messages: Vec<Value> = sim.accepted_messages().iter().map(accepted_json).collect();
    axum::Json(Value::Array(messages))
}

async fn read_receipts(State(sim): State<Handle>) -> axum::Json<Vec<String>> {
    axum::Json(sim.read_receipts())
}

async fn webhook_deliveries(State(sim): State<Handle>) -> axum::Json<Value> {
    let deliveries: Vec<Value> = sim.webhook_deliveries().iter().map(delivery_json).collect();
    axum::Json(Value::Array(deliveries))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    wamid: String,
    /// `sent`, `delivered`, `read`, `played` or `failed`.
    status: String,
    /// Meta's error code; required with `failed`, rejected otherwise.
    error_code: Option<i64>,
}

impl StatusRequest {
    fn sim_status(&self) -> Result<SimStatus, ControlError> {
        let status = match (self.status.as_str(), self.error_code) {
            ("failed", Some(code)) => SimStatus::Failed(code),
            ("failed", None) => {
                return Err(ControlError::invalid(
                    "missing error_code: a failed status needs Meta's error code, such as 131047"
                        .to_owned(),
                ));
            }
            (_, Some(_)) => {
                return Err(ControlError::invalid(format!(
                    "invalid error_code: only a failed status carries one, not {:?}",
                    self.status
                )));
            }
            ("sent", None) => SimStatus::Sent,
            ("delivered", None) => SimStatus::Delivered,
            ("read", None) => SimStatus::Read,
            ("played", None) => SimStatus::Played,
            (other, None) => {
                return Err(ControlError::invalid(format!(
                    "invalid status {other:?}: use sent, delivered, read, played or failed"
                )));
            }
        };
        Ok(status)
    }
}

async fn send_status(
    State(sim): State<Handle>,
    Body(request): Body<StatusRequest>,
) -> Result<axum::Json<Value>, ControlError> {
    let status = request.sim_status()?;
    let delivery = sim.send_status(&request.wamid, status).await?;
    Ok(axum::Json(delivery_json(&delivery)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundTextRequest {
    from: String,
    profile_name: String,
    body: String,
}

async fn send_inbound_text(
    State(sim): State<Handle>,
    Body(request): Body<InboundTextRequest>,
) -> Result<axum::Json<Value>, ControlError> {
    require_digits("from", &request.from)?;
    let delivery = sim
        .send_inbound_text(&request.from, &request.profile_name, &request.body)
        .await?;
    Ok(axum::Json(delivery_json(&delivery)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundImageRequest {
    from: String,
    profile_name: String,
    /// The image's bytes in standard base64.
    data_base64: String,
    mime_type: String,
    caption: Option<String>,
}

async fn send_inbound_image(
    State(sim): State<Handle>,
    Body(request): Body<InboundImageRequest>,
) -> Result<axum::Json<Value>, ControlError> {
    require_digits("from", &request.from)?;
    let bytes = decode_base64("data_base64", &request.data_base64)?;
    let inbound = sim
        .send_inbound_image(
            &request.from,
            &request.profile_name,
            bytes,
            &request.mime_type,
            request.caption.as_deref(),
        )
        .await?;
    Ok(axum::Json(json!({
        "media_id": inbound.media_id,
        "delivery": delivery_json(&inbound.delivery),
    })))
}
