//! OAuth 2.0 protected resource metadata (RFC 9728) for the MCP endpoint.
//! It is served at the path-inserted URL and at the root URL, because MCP
//! clients probe both. Other `/.well-known/` paths get a JSON 404.

use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{MCP_PATH, McpSettings};

/// Routes for the metadata documents and the `/.well-known/` fallback.
pub(super) fn router(settings: Arc<McpSettings>) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            &format!("/.well-known/oauth-protected-resource{MCP_PATH}"),
            get(protected_resource),
        )
        .route(
            "/.well-known/{*rest}",
            axum::routing::any(well_known_not_found),
        )
        .with_state(settings)
}

async fn protected_resource(State(settings): State<Arc<McpSettings>>) -> Response {
    let body = json!({
        "resource": settings.resource_url(),
        "authorization_servers": [settings.base_url()],
        "scopes_supported": ["read", "write", "send"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Pons",
    });
    Json(body).into_response()
}

async fn well_known_not_found(OriginalUri(uri): OriginalUri) -> Response {
    let body = json!({
        "error": "not_found",
        "error_description": format!("no document is served at {}", uri.path()),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
