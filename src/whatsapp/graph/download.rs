//! Media downloads: the short-lived URL from `media_info` or a webhook,
//! fetched with the access token and written to a [`DownloadSink`] as the
//! body arrives, so no download is held in memory whole.

use std::io;

use async_trait::async_trait;
use reqwest::{Method, Url};

use super::media::DownloadedMedia;
use super::retry::{Idempotency, pause_before_retry};
use super::transport::{read_small, response_error, transport_error};
use super::{AccessToken, GraphClient, GraphError};

/// Destination of a media download's body.
#[async_trait]
pub trait DownloadSink: Send {
    /// Returns the largest body accepted, in bytes.
    fn max_bytes(&self) -> u64;

    /// Discards everything appended so far, so that a retry writes the body
    /// again from its first byte.
    async fn restart(&mut self) -> io::Result<()>;

    /// Appends the next chunk of the body. Fails with
    /// [`io::ErrorKind::FileTooLarge`] when the body exceeds `max_bytes`.
    async fn append(&mut self, chunk: &[u8]) -> io::Result<()>;
}

impl GraphClient {
    /// Downloads media from a URL given by `media_info` or a webhook,
    /// sending the access token, and writes the body to `sink` chunk by
    /// chunk. A `Content-Length` over the sink's limit is rejected before
    /// the body is read. Plain `http://` URLs are accepted only on the base
    /// URL's host, so the token never travels unencrypted to another
    /// server.
    pub async fn download_media(
        &self,
        url: &str,
        token: &AccessToken,
        sink: &mut dyn DownloadSink,
    ) -> Result<DownloadedMedia, GraphError> {
        let url = self.download_url(url)?;
        let operation = "download media";
        let mut attempt = 1;
        loop {
            let error = match self
                .download_once(operation, url.clone(), token, sink)
                .await
            {
                Ok(downloaded) => return Ok(downloaded),
                Err(error) => error,
            };
            let idempotency = Idempotency::Idempotent;
            pause_before_retry(&self.retry, operation, idempotency, attempt, error).await?;
            attempt += 1;
        }
    }

    async fn download_once(
        &self,
        operation: &'static str,
        url: Url,
        token: &AccessToken,
        sink: &mut dyn DownloadSink,
    ) -> Result<DownloadedMedia, GraphError> {
        let max_bytes = sink.max_bytes();
        let response = self.request(Method::GET, url, token)?.send().await;
        let mut response = response.map_err(|error| transport_error(operation, error))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Err(GraphError::MediaUrlNotFound);
        }
        if !response.status().is_success() {
            let body = read_small(operation, response).await?;
            return Err(response_error(operation, status, &body));
        }
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(GraphError::MediaTooLarge { max_bytes });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);

        sink.restart()
            .await
            .map_err(|error| sink_error(error, max_bytes))?;
        let mut size: u64 = 0;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(operation, error))?
        {
            sink.append(&chunk)
                .await
                .map_err(|error| sink_error(error, max_bytes))?;
            size += chunk.len() as u64;
        }
        tracing::debug!(operation, status, size, "Graph API call done");
        Ok(DownloadedMedia { content_type, size })
    }

    fn download_url(&self, url: &str) -> Result<Url, GraphError> {
        let invalid = |reason: &str| GraphError::InvalidRequest(format!("media URL {reason}"));
        let parsed = Url::parse(url).map_err(|_| invalid("is not an absolute URL"))?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http"
                if parsed.host() == self.base_url.host()
                    && parsed.port_or_known_default() == self.base_url.port_or_known_default() =>
            {
                Ok(parsed)
            }
            "http" => Err(invalid(
                "must use https:// unless it is on the Graph API host",
            )),
            _ => Err(invalid("must be an http(s) URL")),
        }
    }
}

fn sink_error(error: io::Error, max_bytes: u64) -> GraphError {
    if error.kind() == io::ErrorKind::FileTooLarge {
        GraphError::MediaTooLarge { max_bytes }
    } else {
        GraphError::MediaWrite(error.to_string())
    }
}
