//! `/api/webhook`: Meta's subscription handshake (GET) and event delivery (POST).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use super::body_budget::{BodyBudget, ReadError, read_body};
use super::rejections::{Rejection, log_rejection};
use super::{ApiError, AppState, SharedState};
use crate::echo::{cut, echoed};
use crate::ingest::{self, Delivery, IngestError, Outcome};
use crate::whatsapp::signature::{self, SignatureError};

/// Routes of `/api/webhook`. All POST requests of this router share one
/// limit of `max_in_flight_bytes`.
pub fn routes(max_in_flight_bytes: usize) -> Router<SharedState> {
    Router::new()
        .route("/api/webhook", get(handshake).post(deliver))
        .layer(Extension(BodyBudget::new(max_in_flight_bytes)))
}

/// Echoes `hub.challenge` when `hub.verify_token` matches an account's token.
async fn handshake(
    State(state): State<SharedState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query
        .get("hub.verify_token")
        .map(String::as_str)
        .unwrap_or_default();
    let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
    if mode != Some("subscribe") {
        return Err(ApiError::Forbidden("hub.mode must be subscribe"));
    }

    let tokens =
        state.store.verify_tokens().await.map_err(|err| {
            ApiError::Internal(format!("reading the verify tokens failed: {err}"))
        })?;
    let matched = tokens.iter().fold(false, |found, known| {
        found | bool::from(known.as_bytes().ct_eq(token.as_bytes()))
    });
    if !matched {
        log_rejection!(
            state.rejections,
            Rejection::UnknownVerifyToken,
            "webhook handshake with an unknown verify token rejected with 403"
        );
        return Err(ApiError::Forbidden(
            "hub.verify_token matches no account's verify token",
        ));
    }
    tracing::info!("webhook handshake accepted");
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

/// Stores a signed body and returns 200 only after the transaction commits.
/// The body's bytes stay reserved in `budget` until then. A body over the
/// size limit gets 413, and a body that does not fit in the in-flight
/// limit gets 503. Both get a warning that names the limit, at most one of
/// each kind a minute.
async fn deliver(
    State(state): State<SharedState>,
    Extension(budget): Extension<BodyBudget>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    // Meta signs every delivery, so a request without a well-formed
    // signature header is rejected before its body takes room.
    if let Err(error) = signature::parse_header(
        parts
            .headers
            .get(signature::HEADER)
            .map(HeaderValue::as_bytes),
    ) {
        return closing(rejected_signature(&state, error).into_response());
    }
    let max_bytes = state.settings.webhook_max_body_bytes;
    let deadline = Duration::from_secs(state.settings.read_timeout_seconds);
    match read_body(&parts.headers, body, max_bytes, &budget, deadline).await {
        Ok((body, reservation)) => {
            let response = store(&state, &parts.headers, &body).await.into_response();
            drop(reservation);
            response
        }
        Err(error) => closing(reject(&state, &budget, error).into_response()),
    }
}

/// Adds `Connection: close` to the response to a request whose body stays
/// unread, because the connection cannot carry another request.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Logs a rejected signature and returns the error to respond with.
fn rejected_signature(state: &AppState, error: SignatureError) -> ApiError {
    log_rejection!(
        state.rejections,
        Rejection::from(&error),
        %error,
        "webhook rejected with 401"
    );
    ApiError::Signature(error)
}

/// Logs why a body was not read and returns the error to respond with.
fn reject(state: &AppState, budget: &BodyBudget, error: ReadError) -> ApiError {
    let rejections = &state.rejections;
    match error {
        ReadError::TooLarge { declared_bytes } => {
            let limit_bytes = state.settings.webhook_max_body_bytes;
            log_rejection!(
                rejections,
                Rejection::BodyTooLarge,
                limit_bytes,
                content_length = declared_bytes,
                "webhook body over the size limit rejected with 413; \
                 raise PONS_WEBHOOK_MAX_BODY_BYTES to accept it"
            );
            ApiError::BodyTooLarge { limit_bytes }
        }
        ReadError::OverBudget { needed_bytes } => {
            let limit_bytes = budget.limit_bytes();
            log_rejection!(
                rejections,
                Rejection::InFlightLimit,
                limit_bytes,
                needed_bytes,
                available_bytes = budget.available_bytes(),
                rejected_count = budget.rejected_count(),
                "webhook body rejected with 503 because the webhook bodies in flight would \
                 exceed PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES; Meta sends it again later, and \
                 raising the setting lets more bodies in at once"
            );
            ApiError::InFlightLimit { limit_bytes }
        }
        ReadError::Body(error) if super::serve::body_timed_out(&error) => {
            let seconds = state.settings.read_timeout_seconds;
            log_rejection!(
                rejections,
                Rejection::BodyTimedOut,
                seconds,
                "webhook body timed out and was rejected with 408; the client paused \
                 longer than PONS_READ_TIMEOUT_SECONDS"
            );
            ApiError::BodyTimedOut { seconds }
        }
        ReadError::TimedOut => {
            let seconds = state.settings.read_timeout_seconds;
            log_rejection!(
                rejections,
                Rejection::BodyTooSlow,
                seconds,
                "webhook body did not arrive in full within PONS_READ_TIMEOUT_SECONDS and was \
                 rejected with 408"
            );
            ApiError::BodyTooSlow { seconds }
        }
        ReadError::Body(error) => {
            log_rejection!(
                rejections,
                Rejection::BodyUnreadable,
                %error,
                "reading a webhook body failed; rejected with 400"
            );
            ApiError::BodyUnreadable(error.to_string())
        }
    }
}

async fn store(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<StatusCode, ApiError> {
    let delivery = Delivery {
        body,
        signature: headers.get(signature::HEADER).map(|v| v.as_bytes()),
        headers_json: loggable_headers(headers),
        received_at: chrono::Utc::now().timestamp(),
    };
    let outcome =
        match ingest::receive(&state.store, &state.secrets, &state.parse_gate, delivery).await {
            Ok(outcome) => outcome,
            Err(IngestError::Store(error)) => {
                state.write_failures.failed(&error);
                return Err(ApiError::NotStored);
            }
            // The server's key cannot decrypt the account's app secret.
            // Every webhook of that account meets this until an operator
            // fixes the key, so it counts as a failure to store.
            Err(error @ IngestError::Secret(_)) => {
                state.write_failures.failed(&error);
                return Err(ApiError::NotStored);
            }
            Err(IngestError::InvalidJson(cause)) => {
                log_rejection!(
                    state.rejections,
                    Rejection::InvalidJson,
                    error = %cause,
                    "webhook body is not valid JSON; rejected with 400"
                );
                return Err(ApiError::InvalidJson(cause));
            }
            Err(IngestError::Signature(error)) => return Err(rejected_signature(state, error)),
            Err(IngestError::NoAccounts) => {
                log_rejection!(
                    state.rejections,
                    Rejection::NoAccounts,
                    "webhook rejected with 503 because the database holds no account; Meta \
                     sends it again later, so add the account or point the server at the \
                     database that holds it"
                );
                return Err(ApiError::NoAccounts);
            }
        };
    match outcome {
        Outcome::Stored {
            report,
            problems,
            unknown_numbers,
        } => {
            state.write_failures.stored();
            tracing::debug!(?report, "webhook stored");
            if !unknown_numbers.is_empty() {
                log_rejection!(
                    state.rejections,
                    Rejection::UnknownNumbersSkipped,
                    phone_number_ids = %logged_ids(&unknown_numbers),
                    "webhook changes for unknown numbers skipped"
                );
            }
            if let Some(problems) = problems {
                log_rejection!(
                    state.rejections,
                    Rejection::StoredWithProblems,
                    notes = %cut(&problems, MAX_LOGGED_NOTE_CHARS),
                    "webhook stored with problems noted in its log entry"
                );
            }
            // Ingest enqueues media downloads and template syncs in its
            // transaction; wake the workers instead of waiting for a poll.
            if report.messages_inserted > 0 || report.templates_updated > 0 {
                state.jobs.wake();
            }
        }
        Outcome::Ignored { phone_number_ids } => log_rejection!(
            state.rejections,
            Rejection::UnknownAccount,
            phone_number_ids = %logged_ids(&phone_number_ids),
            "webhook for no known account acknowledged and ignored"
        ),
    }
    Ok(StatusCode::OK)
}

/// Maximum characters of a stored webhook's problem notes in its log line.
/// The webhook log entry contains the whole notes.
const MAX_LOGGED_NOTE_CHARS: usize = 500;

/// Phone number ids of an ignored webhook, as its log line shows them: the
/// first few, each cut like any echoed input, and how many more there are.
/// Anyone can send such a webhook, so neither the number of ids nor their
/// length may make the line long.
fn logged_ids(ids: &BTreeSet<String>) -> String {
    const SHOWN: usize = 3;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .map(|id| format!("\"{}\"", echoed(id)))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}

/// Headers kept in the webhook log; credentials and cookies are left out.
fn loggable_headers(headers: &HeaderMap) -> String {
    let kept: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "cookie"))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.into())))
        .collect();
    serde_json::Value::Object(kept).to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::logged_ids;

    #[test]
    fn logged_ids_are_few_and_short() {
        let ids: BTreeSet<String> = ["1".repeat(100_000), "2".to_owned(), "0\n".to_owned()]
            .into_iter()
            .chain((10..20).map(|n| n.to_string()))
            .collect();
        let text = logged_ids(&ids);
        assert!(text.len() < 200, "{} bytes: {text}", text.len());
        assert!(text.ends_with(" and 10 more"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(logged_ids(&BTreeSet::from(["42".to_owned()])), "\"42\"");
    }
}
