//! Maps service errors to HTTP responses. A 5xx never carries internal
//! text; its cause is logged once here.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::ingest::IngestError;

/// An error answered by a handler.
#[derive(Debug)]
pub enum ApiError {
    Ingest(IngestError),
    Forbidden(&'static str),
}

impl From<IngestError> for ApiError {
    fn from(err: IngestError) -> ApiError {
        ApiError::Ingest(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::Ingest(IngestError::InvalidJson(_)) => {
                (StatusCode::BAD_REQUEST, self.message())
            }
            ApiError::Ingest(IngestError::Signature(err)) => {
                tracing::warn!(error = %err, "webhook rejected");
                (StatusCode::UNAUTHORIZED, err.to_string())
            }
            ApiError::Ingest(err @ (IngestError::Secret(_) | IngestError::Store(_))) => {
                tracing::error!(error = %err, "webhook not stored; Meta will retry");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the body was not stored".into(),
                )
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, (*message).to_owned()),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl ApiError {
    fn message(&self) -> String {
        match self {
            ApiError::Ingest(err) => err.to_string(),
            ApiError::Forbidden(message) => (*message).to_owned(),
        }
    }
}
