//! Liveness and readiness.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

/// Returns 200 when the database completes a query, 503 otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.verify_tokens().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
