//! `/api/webhook`: Meta's subscription handshake (GET) and event delivery (POST).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::ingest::{self, Delivery, Outcome};
use crate::whatsapp::signature;

pub fn routes(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/webhook", get(handshake).post(deliver))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

/// Echoes `hub.challenge` when `hub.verify_token` matches an account's token.
async fn handshake(
    State(state): State<AppState>,
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

    let tokens = state
        .store
        .verify_tokens()
        .await
        .map_err(|err| ApiError::Ingest(ingest::IngestError::Store(err)))?;
    let matched = tokens.iter().fold(false, |found, known| {
        found | bool::from(known.as_bytes().ct_eq(token.as_bytes()))
    });
    if !matched {
        tracing::warn!("webhook handshake with an unknown verify token");
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
/// A body over the size limit gets 413 and a warning that names the limit.
async fn deliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match body {
        Ok(body) => store(&state, &headers, &body).await.into_response(),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit_bytes = state.settings.webhook_max_body_bytes;
            let content_length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok());
            tracing::warn!(
                limit_bytes,
                content_length,
                "webhook body over the size limit rejected with 413; \
                 raise PONS_WEBHOOK_MAX_BODY_BYTES to accept it"
            );
            ApiError::BodyTooLarge { limit_bytes }.into_response()
        }
        Err(rejection) if super::serve::body_timed_out(&rejection) => {
            let seconds = state.settings.read_timeout_seconds;
            tracing::warn!(
                seconds,
                "webhook body timed out and was rejected with 408; the client paused \
                 longer than PONS_READ_TIMEOUT_SECONDS"
            );
            ApiError::BodyTimedOut { seconds }.into_response()
        }
        Err(rejection) => rejection.into_response(),
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
    match ingest::receive(&state.store, &state.secrets, delivery).await? {
        Outcome::Stored(report) => {
            tracing::debug!(?report, "webhook stored");
            // Ingest enqueues media downloads and template syncs in its
            // transaction; wake the workers instead of waiting for a poll.
            if report.messages_inserted > 0 || report.templates_updated > 0 {
                state.jobs.wake();
            }
        }
        Outcome::Ignored => {}
    }
    Ok(StatusCode::OK)
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
