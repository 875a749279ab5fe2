//! Media downloads: the short-lived URL from `media_info` or a webhook,
//! fetched with the access token and a size limit.

use reqwest::{Method, Url};

use super::media::DownloadedMedia;
use super::retry::{Idempotency, with_retries};
use super::transport::{read_limited, read_small, response_error, transport_error};
use super::{AccessToken, GraphClient, GraphError};

impl GraphClient {
    /// Downloads media from a URL given by `media_info` or a webhook,
    /// sending the access token, and rejects files over `max_bytes`. Plain
    /// `http://` URLs are accepted only on the base URL's host, so the
    /// token never travels unencrypted to another server.
    pub async fn download_media(
        &self,
        url: &str,
        token: &AccessToken,
        max_bytes: u64,
    ) -> Result<DownloadedMedia, GraphError> {
        let url = self.download_url(url)?;
        let operation = "download media";
        with_retries(&self.retry, operation, Idempotency::Idempotent, || {
            self.download_once(operation, url.clone(), token, max_bytes)
        })
        .await
    }

    async fn download_once(
        &self,
        operation: &'static str,
        url: Url,
        token: &AccessToken,
        max_bytes: u64,
    ) -> Result<DownloadedMedia, GraphError> {
        let response = self.request(Method::GET, url, token)?.send().await;
        let response = response.map_err(|error| transport_error(operation, error))?;
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
        let bytes = read_limited(operation, response, max_bytes).await?;
        tracing::debug!(operation, status, size = bytes.len(), "Graph API call done");
        Ok(DownloadedMedia {
            bytes,
            content_type,
        })
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
