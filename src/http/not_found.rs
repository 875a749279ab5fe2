//! The JSON 404 for a path that no route serves. It lists the paths that
//! Pons serves, so a mistyped client URL (such as `/api/mcp/`) gets a
//! message that names the fix.

use axum::Json;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::media::MEDIA_PATH;

/// Returns 404 with the paths that Pons serves, for a request to a path
/// that no route serves.
pub(super) async fn no_endpoint(OriginalUri(uri): OriginalUri) -> Response {
    let path = crate::echo::echoed(uri.path());
    let body = json!({
        "error": "not_found",
        "error_description": format!(
            "no endpoint at {path}; Pons serves the MCP endpoint at {mcp}, Meta's webhooks at \
             /api/webhook, downloaded media at {MEDIA_PATH}/{{messageId}}, and /healthz and \
             /readyz",
            mcp = crate::mcp::MCP_PATH,
        ),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
