//! The HTTP surface: routes, shared state and the one place where errors
//! become responses.

mod body_budget;
mod byte_range;
mod disposition;
mod error;
mod health;
mod media;
mod not_found;
mod rejections;
mod serve;
mod webhook;
mod write_failures;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::StatusCode;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;

use crate::config::ServerSettings;
use crate::crypto::SecretBox;
use crate::ingest_gate::ParseGate;
use crate::jobs::JobQueue;
use crate::media_files::MediaFiles;
use crate::store::DynStore;
use crate::tools::Sender;
use crate::whatsapp::graph::GraphClient;

pub use error::ApiError;
pub use media::{MEDIA_PATH, media_path};
pub use rejections::{LOG_INTERVAL as REJECTION_LOG_INTERVAL, Rejections};
pub use serve::{body_timed_out, serve};
pub use write_failures::WriteFailures;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub secrets: SecretBox,
    /// Client of the Graph API at `settings.graph_api_url`.
    pub graph: GraphClient,
    pub settings: Arc<ServerSettings>,
    /// Wakes the job workers when ingest enqueued work.
    pub jobs: JobQueue,
    /// Downloaded media files.
    pub media: MediaFiles,
    /// Webhooks the database failed to store, for the log and `/readyz`.
    pub write_failures: WriteFailures,
    /// Limits of the warnings about rejected webhooks.
    pub rejections: Rejections,
    /// Lets large webhook bodies be parsed and stored one at a time.
    pub parse_gate: ParseGate,
}

/// The handlers' state. Axum clones a route's state for every request, and
/// one reference count costs less than one per field.
pub type SharedState = Arc<AppState>;

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let mcp_settings = crate::mcp::McpSettings {
        public_url: state.settings.public_url.clone(),
        allowed_hosts: state.settings.allowed_hosts.clone(),
        allowed_origins: state.settings.allowed_origins.clone(),
        max_body_bytes: 4 * 1024 * 1024,
        tool_rate_per_minute: state.settings.tool_rate_per_minute,
    };
    let sender = Sender::new(
        state.store.clone(),
        state.graph.clone(),
        state.secrets.clone(),
    );
    let shared = Arc::new(state.clone());
    Router::new()
        .merge(health::routes())
        .merge(webhook::routes(state.settings.webhook_max_in_flight_bytes))
        .with_state(Arc::clone(&shared))
        .merge(
            crate::mcp::require_api_key(
                media::routes().with_state(shared),
                state.store.clone(),
                &mcp_settings,
            )
            // Outside the key check, so that a preflight, which never
            // carries the key, gets a CORS response instead of 401.
            .layer(crate::mcp::media_cors_layer(&mcp_settings.allowed_origins)),
        )
        .merge(crate::mcp::router(
            state.store.clone(),
            sender,
            mcp_settings,
        ))
        .fallback(not_found::no_endpoint)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_failure(log_failure),
        )
}

/// Logs a request that failed with a server error, as tower-http does by
/// default, except a 503. Pons returns 503 only for a webhook it turns
/// away (at its in-flight limit, or while the database contains no account)
/// and for a failed `/readyz` check, and each of these logs a warning.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_millis();
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(latency_ms, "response failed with 503");
        }
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(latency_ms, %status, "response failed");
        }
        ServerErrorsFailureClass::Error(error) => {
            tracing::error!(latency_ms, %error, "response failed");
        }
    }
}

fn make_span(request: &http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    tracing::info_span!("request", method = %request.method(), route = %route)
}
