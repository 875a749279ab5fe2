//! Meta's error responses and the faults the stand-in injects on demand.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Kind of request a queued fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// The next request of any kind.
    Any,
    /// `POST /messages` sending a message.
    Send,
    /// `POST /messages` with `"status":"read"`.
    MarkRead,
    /// `GET /{waba-id}/message_templates`.
    Templates,
    /// `GET /{media-id}`.
    MediaInfo,
    /// `GET` of a media download URL.
    MediaDownload,
}

impl FaultTarget {
    pub(crate) fn matches(self, route: FaultTarget) -> bool {
        self == FaultTarget::Any || self == route
    }
}

/// A misbehaviour for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Meta's error envelope for `code`, with the HTTP status Meta
    /// typically uses for it unless `http_status` overrides it.
    Graph { code: i64, http_status: Option<u16> },
    /// A bare HTTP status with a short non-JSON body, as a proxy or load
    /// balancer in front of Meta sends.
    Http { status: u16 },
    /// The normal response, after a pause.
    Delay(Duration),
    /// The connection closes after the request arrived, without a response.
    DropConnection,
    /// The request is handled as without a fault, so a send is accepted and
    /// its status webhooks follow, but the connection then closes without
    /// the response, as when the connection to Meta breaks after Meta
    /// executed the request. With `hold`, the connection first stays open
    /// without a response until the test releases the request, so a client
    /// with a timeout gives up first. The request counts as held only once
    /// it has been handled.
    AcceptThenDrop { hold: bool },
    /// The normal response, sent only once the test releases the request
    /// with `MetaSim::release_held` or `POST /_metasim/release`. The request
    /// is recorded and counted as held before any release can miss it.
    Hold,
    /// As [`Fault::Hold`], but the request is handled first (a send is
    /// accepted) and only its response waits for the release, as when
    /// Meta's response is slow to arrive.
    AcceptThenHold,
}

impl Fault {
    /// Meta's envelope for `code` with its typical HTTP status.
    pub fn graph(code: i64) -> Fault {
        Fault::Graph {
            code,
            http_status: None,
        }
    }
}

/// Meta's description of an error code: typical HTTP status, title, details.
struct ErrorSpec {
    status: u16,
    title: &'static str,
    details: &'static str,
}

/// Typical statuses and titles, after Meta's Cloud API error code table.
fn spec(code: i64) -> ErrorSpec {
    let (status, title, details) = match code {
        0 => (
            401,
            "AuthException",
            "We were unable to authenticate the app user.",
        ),
        3 => (
            500,
            "Capability",
            "The app lacks the capability for this API call.",
        ),
        4 => (
            400,
            "Application request limit reached",
            "The app hit its API call rate limit.",
        ),
        10 => (
            403,
            "Permission denied",
            "The permission is not granted or was removed.",
        ),
        100 => (
            400,
            "Invalid parameter",
            "A parameter is invalid or missing.",
        ),
        190 => (
            401,
            "Access token has expired",
            "The access token is expired or invalid.",
        ),
        368 => (
            403,
            "Temporarily blocked for policies violations",
            "The account is restricted.",
        ),
        80007 => (
            400,
            "Rate limit issues",
            "The WhatsApp Business Account reached its rate limit.",
        ),
        130429 => (
            400,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        ),
        131000 => (
            500,
            "Something went wrong",
            "Message failed to send because of an unknown error.",
        ),
        131008 => (
            400,
            "Required parameter is missing",
            "The request is missing a required parameter.",
        ),
        131009 => (
            400,
            "Parameter value is not valid",
            "One or more parameter values are invalid.",
        ),
        131016 => (
            503,
            "Service unavailable",
            "A service is temporarily unavailable.",
        ),
        131021 => (
            400,
            "Recipient cannot be sender",
            "The sender and the recipient are the same.",
        ),
        131026 => (
            400,
            "Message undeliverable",
            "Unable to deliver the message.",
        ),
        131031 => (
            403,
            "Account has been locked",
            "The business account is locked.",
        ),
        131047 => (
            400,
            "Re-engagement message",
            "More than 24 hours have passed since the recipient last replied.",
        ),
        131051 => (
            400,
            "Unsupported message type",
            "The message type is not supported.",
        ),
        131053 => (
            400,
            "Media upload error",
            "Unable to upload the media used in the message.",
        ),
        131056 => (
            400,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from this number to the same recipient in a short time.",
        ),
        131057 => (
            500,
            "Account in maintenance mode",
            "The business account is in maintenance mode.",
        ),
        132000 => (
            400,
            "Number of parameters does not match the expected number of params",
            "The number of parameters does not match the template.",
        ),
        132001 => (
            404,
            "Template name does not exist in the translation",
            "The template does not exist in that language or is not approved.",
        ),
        132015 => (
            400,
            "Template is Paused",
            "The template is paused because of low quality.",
        ),
        _ => (
            400,
            "Unknown error",
            "The stand-in has no description for this code.",
        ),
    };
    ErrorSpec {
        status,
        title,
        details,
    }
}

/// Meta's title for an error code, as used in failed-status webhooks.
pub(crate) fn title_of(code: i64) -> &'static str {
    spec(code).title
}

/// Meta's typical description of an error code.
pub(crate) fn details_of(code: i64) -> &'static str {
    spec(code).details
}

/// Builds an error response in Meta's envelope. `details` replaces the catalog's
/// description when given.
pub(crate) fn graph_error(code: i64, http_status: Option<u16>, details: Option<&str>) -> Response {
    let spec = spec(code);
    let status =
        StatusCode::from_u16(http_status.unwrap_or(spec.status)).unwrap_or(StatusCode::BAD_REQUEST);
    let mut error = json!({
        "message": format!("(#{code}) {}", spec.title),
        "type": "OAuthException",
        "code": code,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": details.unwrap_or(spec.details),
        },
        "fbtrace_id": fbtrace_id(),
    });
    if code == 190 {
        error["message"] = json!("Error validating access token: the session is invalid.");
        error["error_subcode"] = json!(463);
        error.as_object_mut().map(|map| map.remove("error_data"));
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// Builds Meta's response for an id that is not an object the token can
/// reach.
pub(crate) fn unknown_object(method: &str, id: &str) -> Response {
    let message = format!(
        "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded \
         due to missing permissions, or does not support this operation."
    );
    let body = json!({"error": {
        "message": message,
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": fbtrace_id(),
    }});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Builds a bare status page, as a proxy in front of Meta returns.
pub(crate) fn http_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<html><body><h1>{} {reason}</h1></body></html>",
        status.as_u16()
    );
    (status, [("content-type", "text/html")], body).into_response()
}

fn fbtrace_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..11)
        .map(|_| char::from(rng.sample(rand::distributions::Alphanumeric)))
        .collect()
}
