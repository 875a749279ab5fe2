//! Maps service errors to HTTP responses. A 5xx never carries internal
//! text; its cause is logged once here.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::json;

use crate::ingest::IngestError;
use crate::whatsapp::signature::SignatureError;

/// An error returned by a handler. A webhook that the database failed to
/// store, or whose account's app secret the key cannot decrypt, is
/// [`ApiError::NotStored`]: the webhook handler records it in
/// [`super::WriteFailures`] first.
#[derive(Debug)]
pub enum ApiError {
    /// The webhook body is not valid JSON, for this reason.
    InvalidJson(String),
    /// The webhook's signature header is missing or does not match. The
    /// webhook handler logs it.
    Signature(SignatureError),
    /// A webhook arrived while the database contains no account. The
    /// webhook handler logs it.
    NoAccounts,
    Forbidden(&'static str),
    /// The thing does not exist or the caller cannot reach it. Both cases
    /// get the same response, so existence does not leak.
    NotFound(&'static str),
    /// The credential lacks the scope the route requires.
    MissingScope(&'static str),
    /// The media of a message is still being downloaded. `rejected_token`
    /// is the account's phone number when Meta rejected its access token,
    /// so the download waits until the token works again.
    MediaPending {
        rejected_token: Option<String>,
    },
    /// The media of a message was stored, but its file is not in this
    /// server's media directory.
    MediaFileMissing,
    /// The media of a message could not be downloaded, for this reason.
    MediaFailed(String),
    /// The requested byte range starts at or after the end of a stored
    /// file of `length` bytes.
    RangeNotSatisfiable {
        length: u64,
    },
    /// The request body is larger than the limit that
    /// `PONS_WEBHOOK_MAX_BODY_BYTES` sets.
    BodyTooLarge {
        limit_bytes: usize,
    },
    /// The webhook bodies in flight leave too little of the limit that
    /// `PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES` sets for this body.
    InFlightLimit {
        limit_bytes: usize,
    },
    /// Receiving the request body failed, for this reason.
    BodyUnreadable(String),
    /// A request body during which the client paused longer than
    /// `PONS_READ_TIMEOUT_SECONDS`.
    BodyTimedOut {
        seconds: u64,
    },
    /// A webhook body did not arrive in full within `seconds`.
    BodyTooSlow {
        seconds: u64,
    },
    /// The database failed to store a webhook; the cause was logged where
    /// it happened.
    NotStored,
    /// An unexpected failure; the text is logged, never sent.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::InvalidJson(cause) => (
                StatusCode::BAD_REQUEST,
                IngestError::InvalidJson(cause.clone()).to_string(),
            ),
            ApiError::Signature(err) => (StatusCode::UNAUTHORIZED, err.to_string()),
            ApiError::NoAccounts => {
                let retry_after = [(header::RETRY_AFTER, NO_ACCOUNTS_RETRY_AFTER_SECONDS)];
                let body = Json(json!({ "error": IngestError::NoAccounts.to_string() }));
                return (StatusCode::SERVICE_UNAVAILABLE, retry_after, body).into_response();
            }
            ApiError::NotStored => {
                let retry_after = [(header::RETRY_AFTER, NOT_STORED_RETRY_AFTER_SECONDS)];
                let body = Json(json!({
                    "error": "the database did not store the webhook; send it again later"
                }));
                return (StatusCode::SERVICE_UNAVAILABLE, retry_after, body).into_response();
            }
            ApiError::BodyTooLarge { limit_bytes } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body is larger than the limit of {limit_bytes} bytes; raise the \
                     limit with PONS_WEBHOOK_MAX_BODY_BYTES (or --webhook-max-body-bytes)"
                ),
            ),
            ApiError::InFlightLimit { limit_bytes } => {
                let message = format!(
                    "webhook bodies in flight would exceed the limit of {limit_bytes} bytes, \
                     so this body was not read; send it again later, or raise the limit with \
                     PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES (or --webhook-max-in-flight-bytes)"
                );
                let body = Json(json!({ "error": message }));
                let retry_after = [(header::RETRY_AFTER, IN_FLIGHT_RETRY_AFTER_SECONDS)];
                return (StatusCode::SERVICE_UNAVAILABLE, retry_after, body).into_response();
            }
            ApiError::BodyUnreadable(cause) => (
                StatusCode::BAD_REQUEST,
                format!("failed to read the request body: {cause}"),
            ),
            ApiError::BodyTimedOut { seconds } => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body timed out: no data arrived for {seconds} s; send the body \
                     without pauses, or raise PONS_READ_TIMEOUT_SECONDS (or \
                     --read-timeout-seconds)"
                ),
            ),
            ApiError::BodyTooSlow { seconds } => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body timed out: the whole webhook body must arrive within \
                     {seconds} s; send it faster, or raise PONS_READ_TIMEOUT_SECONDS (or \
                     --read-timeout-seconds)"
                ),
            ),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, (*message).to_owned()),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, (*message).to_owned()),
            ApiError::MissingScope(scope) => return missing_scope(scope),
            ApiError::MediaPending {
                rejected_token: Some(phone_number),
            } => {
                let message = format!(
                    "media not downloaded yet: Meta rejected the access token of +{phone_number}. \
                     The download is retried and resumes by itself once the token works again: \
                     after an account owner stores a new one with `pons account \
                     set-credentials`, or after a send or template sync succeeds with the \
                     stored token, which clears the rejection"
                );
                let body = Json(json!({ "error": message, "mediaStatus": "pending" }));
                return (StatusCode::CONFLICT, body).into_response();
            }
            ApiError::MediaPending {
                rejected_token: None,
            } => {
                let message = "media not downloaded yet; try again in a few seconds";
                let body = Json(json!({ "error": message, "mediaStatus": "pending" }));
                return (StatusCode::CONFLICT, [(header::RETRY_AFTER, "5")], body).into_response();
            }
            ApiError::MediaFileMissing => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the stored copy of this media is not in this server's media directory; \
                 servers that share a database must share the media directory of their data \
                 directory"
                    .to_owned(),
            ),
            ApiError::MediaFailed(reason) => {
                let message = format!("download failed: {reason}");
                let body = Json(json!({ "error": message, "mediaStatus": "failed" }));
                return (StatusCode::NOT_FOUND, body).into_response();
            }
            ApiError::RangeNotSatisfiable { length } => {
                let message = format!(
                    "the requested range is outside the file, which has {length} bytes; request \
                     a range that starts before byte {length}, or omit Range for the whole file"
                );
                let headers = [
                    (header::CONTENT_RANGE, format!("bytes */{length}")),
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                ];
                let body = Json(json!({ "error": message }));
                return (StatusCode::RANGE_NOT_SATISFIABLE, headers, body).into_response();
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; try again later".into(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// Seconds a client rejected by the in-flight limit is asked to wait. A
/// webhook body of a few MB is stored in well under a second, so room is
/// usually free again by then.
const IN_FLIGHT_RETRY_AFTER_SECONDS: &str = "5";

/// Seconds a webhook for a server without accounts is asked to wait. An
/// operator needs minutes to add the account or fix the data directory.
const NO_ACCOUNTS_RETRY_AFTER_SECONDS: &str = "60";

/// Seconds a webhook the database failed to store is asked to wait. A full
/// disk or a lost database takes an operator a while to fix.
const NOT_STORED_RETRY_AFTER_SECONDS: &str = "30";

/// 403 in the form of RFC 6750 `insufficient_scope`.
fn missing_scope(scope: &str) -> Response {
    let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
    let body = Json(json!({
        "error": "insufficient_scope",
        "error_description": format!("this API key lacks the {scope} scope; create a key with it"),
    }));
    let mut response = (StatusCode::FORBIDDEN, body).into_response();
    if let Ok(value) = http::HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejected_token_pending_names_both_fixes() {
        let response = ApiError::MediaPending {
            rejected_token: Some("15550001111".to_owned()),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("+15550001111"), "{error}");
        assert!(error.contains("pons account set-credentials"), "{error}");
        assert!(
            error.contains("a send or template sync succeeds"),
            "{error}"
        );
        assert!(error.contains("resumes by itself"), "{error}");
        assert_eq!(body["mediaStatus"], "pending");
    }
}
