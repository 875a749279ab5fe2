//! The `media_download` job: fetches the media of an inbound message from
//! Meta and stores it content-addressed in the data directory.
//!
//! Meta's download URLs expire after about five minutes, so every attempt
//! requests a fresh one from `GET /{media-id}`, and requests another when
//! the download returns 401 or 404. The body goes straight to a temporary
//! file, which is renamed into place once its SHA-256 matches and deleted
//! on any failure.

use async_trait::async_trait;
use serde::Deserialize;

use super::account::{self, Credentials};
use super::worker::Handler;
use super::{JobContext, JobError};
use crate::media_files::PartialFile;
use crate::store::jobs::MEDIA_DOWNLOAD;
use crate::store::{Job, MediaRef, Message, MessageId, StoreError, StoredMedia};
use crate::whatsapp::graph::{DownloadedMedia, GraphError, MediaInfo, sha256_digest_matches};

/// Payload of a `media_download` job.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    message_id: MessageId,
}

/// MIME type stored when neither Meta nor the download names one.
const FALLBACK_MIME_TYPE: &str = "application/octet-stream";

/// Graph error code for an object id that does not exist or cannot be
/// read; for media it means the id is unknown or expired.
const UNKNOWN_OBJECT_CODE: i64 = 100;

pub(super) struct MediaDownload {
    context: JobContext,
}

#[async_trait]
impl Handler for MediaDownload {
    fn kind(&self) -> &'static str {
        MEDIA_DOWNLOAD
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let payload = parse_payload(job)?;
        let store = &self.context.store;
        let Some((account_id, message)) = store.find_message(&payload.message_id).await? else {
            return Err(JobError::permanent(format!(
                "message {} no longer exists",
                payload.message_id
            )));
        };
        let media = message.media.clone().unwrap_or_default();
        if media.download_status.as_deref() == Some("stored") {
            return Ok(());
        }
        let Some(media_id) = media.media_id.as_deref().filter(|id| !id.trim().is_empty()) else {
            return Err(JobError::permanent(
                "the message has no media id to download",
            ));
        };
        let credentials = account::credentials(store, &self.context.secrets, &account_id).await?;
        let max_bytes = self.context.settings.media_max_bytes;
        let mut partial = self
            .context
            .media
            .create_partial(max_bytes)
            .map_err(|error| {
                JobError::transient(format!("creating a temporary media file failed: {error}"))
            })?;
        let (info, downloaded) = self.fetch(&credentials, media_id, &mut partial).await?;
        account::token_works(store.as_ref(), &credentials.account).await;
        self.keep(&message, &media, info, downloaded, partial).await
    }

    async fn give_up(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let Ok(payload) = parse_payload(job) else {
            return Ok(());
        };
        match self
            .context
            .store
            .set_media_failed(&payload.message_id, reason)
            .await
        {
            Err(StoreError::NotFound(_)) => Ok(()),
            other => other,
        }
    }
}

impl MediaDownload {
    pub fn new(context: JobContext) -> MediaDownload {
        MediaDownload { context }
    }

    /// Downloads with a fresh URL; on 401 or 404 resolves a new URL once.
    async fn fetch(
        &self,
        credentials: &Credentials,
        media_id: &str,
        partial: &mut PartialFile,
    ) -> Result<(MediaInfo, DownloadedMedia), JobError> {
        let info = self.resolve(credentials, media_id).await?;
        let result = match self.download(credentials, &info, partial).await {
            Err(error) if is_expired_url(&error) => {
                tracing::info!(account_id = %credentials.account.id, media_id, %error,
                    "media URL refused; resolving a new one");
                let info = self.resolve(credentials, media_id).await?;
                self.download(credentials, &info, partial)
                    .await
                    .map(|downloaded| (info, downloaded))
            }
            other => other.map(|downloaded| (info, downloaded)),
        };
        match result {
            Ok(fetched) => Ok(fetched),
            Err(error) => Err(self.download_failure(credentials, error).await),
        }
    }

    /// Asks Meta for the media's metadata and a fresh download URL.
    async fn resolve(
        &self,
        credentials: &Credentials,
        media_id: &str,
    ) -> Result<MediaInfo, JobError> {
        let result = self
            .context
            .graph
            .media_info(media_id, &credentials.token)
            .await;
        let info = match result {
            Ok(info) => info,
            Err(error) if error.code() == Some(UNKNOWN_OBJECT_CODE) => {
                return Err(JobError::transient(format!(
                    "Meta does not know media id {media_id} (unknown or expired): {error}"
                )));
            }
            Err(error) => {
                let store = &self.context.store;
                let action = "reading the media metadata";
                return Err(
                    account::graph_failure(store, &credentials.account, action, error).await,
                );
            }
        };
        let max = self.context.settings.media_max_bytes;
        if info.file_size.is_some_and(|size| size > max) {
            return Err(too_large(max));
        }
        Ok(info)
    }

    async fn download(
        &self,
        credentials: &Credentials,
        info: &MediaInfo,
        partial: &mut PartialFile,
    ) -> Result<DownloadedMedia, GraphError> {
        self.context
            .graph
            .download_media(&info.url, &credentials.token, partial)
            .await
    }

    async fn download_failure(&self, credentials: &Credentials, error: GraphError) -> JobError {
        match error {
            GraphError::MediaTooLarge { max_bytes } => too_large(max_bytes),
            GraphError::MediaUrlNotFound => JobError::transient(
                "the media download URL was rejected twice in one attempt (HTTP 401 or 404)",
            ),
            GraphError::MediaWrite(reason) => {
                JobError::transient(format!("writing the media file failed: {reason}"))
            }
            other => {
                let store = &self.context.store;
                account::graph_failure(store, &credentials.account, "downloading the media", other)
                    .await
            }
        }
    }

    /// Checks the file against every SHA-256 Meta announced, moves it to
    /// its content-addressed path and records it on the message.
    async fn keep(
        &self,
        message: &Message,
        media: &MediaRef,
        info: MediaInfo,
        downloaded: DownloadedMedia,
        partial: PartialFile,
    ) -> Result<(), JobError> {
        let announced = [info.sha256.as_deref(), media.sha256.as_deref()];
        let digest = partial.sha256();
        for expected in announced.into_iter().flatten() {
            if !sha256_digest_matches(&digest, expected) {
                return Err(JobError::permanent(
                    "the downloaded media does not match the SHA-256 checksum Meta announced",
                ));
            }
        }

        let mime_type = [
            info.mime_type,
            media.mime_type.clone(),
            downloaded.content_type,
        ]
        .into_iter()
        .flatten()
        .find(|mime| !mime.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_MIME_TYPE.to_owned());

        let file = partial.persist().await.map_err(|error| {
            JobError::transient(format!("writing the media file failed: {error}"))
        })?;
        let size = i64::try_from(file.size).unwrap_or(i64::MAX);
        let stored = StoredMedia {
            path: file.relative_path,
            sha256: file.sha256,
            size,
            mime_type,
        };

        self.context
            .store
            .set_media_stored(&message.id, stored)
            .await?;
        tracing::info!(message_id = %message.id, size, "media stored");
        Ok(())
    }
}

fn parse_payload(job: &Job) -> Result<Payload, JobError> {
    serde_json::from_str(&job.payload_json).map_err(|error| {
        JobError::permanent(format!(
            "invalid media_download payload; expected {{\"messageId\": …}}: {error}"
        ))
    })
}

/// Tells whether a download failed because its URL expired or was refused,
/// so a fresh URL may succeed.
fn is_expired_url(error: &GraphError) -> bool {
    match error {
        GraphError::MediaUrlNotFound => true,
        GraphError::Api(meta) => meta.http_status == 401 && !meta.is_token_error(),
        GraphError::UnexpectedResponse { status, .. } => *status == 401,
        _ => false,
    }
}

fn too_large(max_bytes: u64) -> JobError {
    JobError::permanent(format!(
        "the media is larger than the limit of {max_bytes} bytes (PONS_MEDIA_MAX_BYTES)"
    ))
}
