//! Liveness and readiness.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;

use super::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

/// Returns 200 when the database completes a query and stored the last
/// webhook (or failed to longer ago than `NOT_READY_FOR`), and 503
/// otherwise. A full disk still lets queries run, so only a failed webhook
/// shows it.
async fn readyz(State(state): State<SharedState>) -> (StatusCode, &'static str) {
    if state.write_failures.recent().is_some() {
        // The failure was logged where it happened.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database failed to store a webhook",
        );
    }
    match state.store.verify_tokens().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
