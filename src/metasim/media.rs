//! Media: `GET /{version}/{media-id}` returns metadata with a download URL
//! on the stand-in that expires, and the download URL serves the bytes to
//! requests that carry the access token.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::routes::reject_request;
use super::state::{Inner, Ticket, lock};
use super::{Sim, faults};

/// Size of the chunks of a download sent without `Content-Length`.
const STREAMED_CHUNK_BYTES: usize = 16 * 1024;

pub(crate) async fn info(
    State(sim): State<Arc<Sim>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = reject_request(&sim, &version, &headers) {
        return response;
    }
    let mut inner = lock(&sim.inner);
    let Some(media) = inner.media.get(&id) else {
        return faults::unknown_object("get", &id);
    };
    let mime_type = media.mime_type.clone();
    let sha256 = hex::encode(Sha256::digest(&media.bytes));
    let file_size = (!media.size_unknown).then(|| media.bytes.len().to_string());
    let url = download_url(&sim, &mut inner, &id);
    let mut metadata = json!({
        "messaging_product": "whatsapp",
        "url": url,
        "mime_type": mime_type,
        "sha256": sha256,
        "id": id,
    });
    if let Some(file_size) = file_size {
        metadata["file_size"] = json!(file_size);
    }
    Json(metadata).into_response()
}

pub(crate) async fn download(
    State(sim): State<Arc<Sim>>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !sim.token_valid(&headers) {
        return faults::graph_error(190, None, None);
    }
    let inner = lock(&sim.inner);
    let media = inner
        .tickets
        .get(&ticket)
        .filter(|ticket| Instant::now() < ticket.expires_at)
        .and_then(|ticket| inner.media.get(&ticket.media_id));
    let Some(media) = media else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = if media.size_unknown {
        chunked_body(&media.bytes)
    } else {
        Body::from(media.bytes.clone())
    };
    ([(header::CONTENT_TYPE, media.mime_type.clone())], body).into_response()
}

/// Builds a body of unknown length, which hyper sends with chunked
/// transfer encoding.
fn chunked_body(bytes: &[u8]) -> Body {
    let chunks: Vec<Result<Bytes, Infallible>> = bytes
        .chunks(STREAMED_CHUNK_BYTES)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    Body::from_stream(futures::stream::iter(chunks))
}

/// Issues a download URL for `media_id` that expires after the configured
/// time, shaped like Meta's lookaside URLs.
pub(crate) fn download_url(sim: &Sim, inner: &mut Inner, media_id: &str) -> String {
    let ticket = hex::encode(rand::thread_rng().r#gen::<[u8; 16]>());
    let expires_in = sim.config.media_url_ttl;
    inner.tickets.insert(
        ticket.clone(),
        Ticket {
            media_id: media_id.to_owned(),
            expires_at: Instant::now() + expires_in,
        },
    );
    let ext = crate::metasim::unix_now() + expires_in.as_secs() as i64;
    format!(
        "{}/media-download/{ticket}?mid={media_id}&ext={ext}&hash={}",
        sim.origin,
        hex::encode(rand::thread_rng().r#gen::<[u8; 8]>())
    )
}
