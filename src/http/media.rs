//! `GET /api/media/{messageId}`: the stored copy of an inbound message's
//! media, for API keys with `read` on the message's account. A single
//! byte range is served with 206, so players can seek.

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::stream;
use http::{HeaderMap, StatusCode};
use http::{HeaderValue, header};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

use super::byte_range::ByteRange;
use super::disposition::content_disposition;
use super::{ApiError, AppState, SharedState};
use crate::auth::{Principal, Scope};
use crate::store::{Account, MediaRef, Message, MessageId};
use crate::tools::NO_ACCOUNTS;

/// Bytes read from the file per body chunk.
const CHUNK_BYTES: usize = 64 * 1024;

/// The path prefix of the media route.
pub const MEDIA_PATH: &str = "/api/media";

/// Returns the path at which the stored copy of a message's media is
/// served, relative to the server's base URL.
pub fn media_path(message_id: &MessageId) -> String {
    format!("{MEDIA_PATH}/{message_id}")
}

pub fn routes() -> Router<SharedState> {
    Router::new().route(&format!("{MEDIA_PATH}/{{message_id}}"), get(serve_media))
}

async fn serve_media(
    State(state): State<SharedState>,
    Extension(principal): Extension<Principal>,
    Path(message_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !principal.scopes.contains(Scope::Read) {
        return Err(ApiError::MissingScope(Scope::Read.as_str()));
    }
    let (account, message, media) =
        reachable_media(&state, &principal, MessageId(message_id)).await?;
    match media.download_status.as_deref() {
        Some("stored") => {}
        Some("failed") => {
            let reason = media.download_error.clone().unwrap_or_default();
            return Err(ApiError::MediaFailed(reason));
        }
        _ => {
            let rejected_token = account
                .token_invalid_at
                .is_some()
                .then_some(account.phone_number);
            return Err(ApiError::MediaPending { rejected_token });
        }
    }
    let sha256 = media.sha256.as_deref().unwrap_or_default();
    let path = state.media.path_of(sha256).ok_or_else(|| {
        ApiError::Internal(format!(
            "message {} has an invalid stored SHA-256",
            message.id
        ))
    })?;
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::error!(message_id = %message.id, path = %path.display(),
                "stored media file is missing from this server's media directory");
            return Err(ApiError::MediaFileMissing);
        }
        Err(error) => {
            return Err(ApiError::Internal(format!(
                "stored media of message {} cannot be opened: {error}",
                message.id
            )));
        }
    };
    let length = file
        .metadata()
        .await
        .map_err(|error| ApiError::Internal(format!("stored media metadata: {error}")))?
        .len();
    let range = ByteRange::of(&headers, length);
    let (start, end) = match range {
        ByteRange::Whole => (0, length.saturating_sub(1)),
        ByteRange::Part { start, end } => (start, end),
        ByteRange::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { length }),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|error| ApiError::Internal(format!("seeking in stored media: {error}")))?;
    }
    // An empty file has no last byte, so its whole body is empty.
    let body_length = if length == 0 { 0 } else { end - start + 1 };
    let mut response = file_response(file.take(body_length), body_length, &message, &media);
    if let ByteRange::Part { start, end } = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = HeaderValue::from_str(&format!("bytes {start}-{end}/{length}"))
            .map_err(|error| ApiError::Internal(format!("Content-Range header: {error}")))?;
        response
            .headers_mut()
            .insert(header::CONTENT_RANGE, content_range);
    }
    Ok(response)
}

/// Finds the message, its account and its media. `Forbidden` when the
/// caller reaches no account, and `NotFound` when the message does not
/// exist, belongs to an account the caller cannot reach, or has no
/// downloadable media.
async fn reachable_media(
    state: &AppState,
    principal: &Principal,
    id: MessageId,
) -> Result<(Account, Message, MediaRef), ApiError> {
    const NOT_FOUND: &str = "no message with downloadable media has this id in your accounts";
    let store_error = |error| ApiError::Internal(format!("media lookup failed: {error}"));
    let reachable = state
        .store
        .reachable_accounts(&principal.user_id, &principal.only_accounts)
        .await
        .map_err(store_error)?;
    if reachable.is_empty() {
        return Err(ApiError::Forbidden(NO_ACCOUNTS));
    }
    let found = state.store.find_message(&id).await.map_err(store_error)?;
    let Some((account_id, message)) = found else {
        return Err(ApiError::NotFound(NOT_FOUND));
    };
    let Some(account) = reachable
        .into_iter()
        .find(|account| account.id == account_id)
    else {
        return Err(ApiError::NotFound(NOT_FOUND));
    };
    match message.media.clone() {
        Some(media) if media.is_downloadable() => Ok((account, message, media)),
        _ => Err(ApiError::NotFound(NOT_FOUND)),
    }
}

/// Builds the 200 response with `length` bytes of `file` as its body.
fn file_response(
    file: impl AsyncRead + Unpin + Send + 'static,
    length: u64,
    message: &Message,
    media: &MediaRef,
) -> Response {
    let content_type = media
        .mime_type
        .as_deref()
        .and_then(|mime| HeaderValue::from_str(mime).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = content_disposition(message, media);
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_LENGTH, HeaderValue::from(length)),
        (header::CONTENT_DISPOSITION, disposition),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=3600"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // The bytes come from customers: never let a browser run them.
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
    ];
    (headers, Body::from_stream(read_chunks(file))).into_response()
}

/// Streams the file in chunks instead of reading it whole.
fn read_chunks(
    file: impl AsyncRead + Unpin + Send + 'static,
) -> impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    stream::try_unfold(file, |mut file| async move {
        let mut chunk = vec![0; CHUNK_BYTES];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        chunk.truncate(read);
        Ok(Some((chunk, file)))
    })
}
