//! `GraphClient`: the calls Pons makes to the Graph API, each with its
//! retry rule.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::media::MediaInfo;
use super::response::SendResponse;
use super::retry::{Idempotency, RetryPolicy, with_retries};
use super::send::SendRequest;
use super::templates::{TEMPLATE_FIELDS, Template, TemplatePage};
use super::transport::{http_client, read_small, response_error, transport_error};
use super::{AccessToken, GraphError};

/// Templates requested per page; Meta's default page is 25.
pub const DEFAULT_TEMPLATE_PAGE_SIZE: u32 = 100;
/// Upper bound of pages read by one `list_templates`, against a cursor loop.
const MAX_TEMPLATE_PAGES: usize = 1000;

/// A Graph API client for one base URL (`https://graph.facebook.com/v25.0`
/// or a stand-in). Cheap to clone; clones share one connection pool.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    pub(super) base_url: Url,
    pub(super) retry: RetryPolicy,
    template_page_size: u32,
}

impl GraphClient {
    /// Builds a client for `base_url` (scheme, host and version path, such
    /// as `https://graph.facebook.com/v25.0`). `timeout` bounds each HTTP
    /// attempt from connecting to the last body byte.
    pub fn new(base_url: &str, timeout: Duration) -> Result<GraphClient, GraphError> {
        let trimmed = base_url.trim_end_matches('/');
        let parsed = Url::parse(trimmed)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                GraphError::Client(format!(
                    "invalid Graph API base URL {trimmed:?}: use an absolute http(s) URL \
                     with the version, such as https://graph.facebook.com/v25.0"
                ))
            })?;
        Ok(GraphClient {
            http: http_client(timeout)?,
            base_url: parsed,
            retry: RetryPolicy::default(),
            template_page_size: DEFAULT_TEMPLATE_PAGE_SIZE,
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> GraphClient {
        self.retry = retry;
        self
    }

    /// Sets how many templates to request per page (at least 1).
    pub fn with_template_page_size(mut self, size: u32) -> GraphClient {
        self.template_page_size = size.max(1);
        self
    }

    /// The base URL, with version and without trailing slash.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    /// Sends a message from the number `phone_number_id`. A message is
    /// retried only on errors that prove Meta did not execute it (rate
    /// limits, refused connections). After a timeout, a lost connection or
    /// a 5xx the message may exist, so the error is returned instead. A
    /// reaction is retried after those too, because a repeat sets the same
    /// reaction.
    pub async fn send_message(
        &self,
        phone_number_id: &str,
        token: &AccessToken,
        request: &SendRequest,
    ) -> Result<SendResponse, GraphError> {
        request.validate()?;
        let url = self.endpoint(&[phone_number_id, "messages"])?;
        let operation = "send message";
        let response: SendResponse =
            with_retries(&self.retry, operation, request.idempotency(), || {
                self.call_json(operation, Method::POST, url.clone(), token, Some(request))
            })
            .await?;
        if response.wamid().is_empty() {
            return Err(GraphError::UnexpectedResponse {
                operation,
                status: 200,
                detail: "response has no messages[].id".into(),
            });
        }
        Ok(response)
    }

    /// Sends a read receipt for the inbound message `wamid`, which also
    /// marks earlier messages of the conversation read.
    pub async fn mark_as_read(
        &self,
        phone_number_id: &str,
        token: &AccessToken,
        wamid: &str,
    ) -> Result<(), GraphError> {
        if wamid.trim().is_empty() {
            return Err(GraphError::InvalidRequest("the message id is empty".into()));
        }
        let url = self.endpoint(&[phone_number_id, "messages"])?;
        let body = serde_json::json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        });
        let operation = "mark as read";
        let response: SuccessResponse =
            with_retries(&self.retry, operation, Idempotency::Idempotent, || {
                self.call_json(operation, Method::POST, url.clone(), token, Some(&body))
            })
            .await?;
        if !response.success {
            return Err(GraphError::UnexpectedResponse {
                operation,
                status: 200,
                detail: "response has success=false".into(),
            });
        }
        Ok(())
    }

    /// Lists every template of the WhatsApp Business Account `waba_id`,
    /// following the `after` cursor until a page has no `paging.next`.
    pub async fn list_templates(
        &self,
        waba_id: &str,
        token: &AccessToken,
    ) -> Result<Vec<Template>, GraphError> {
        let operation = "list templates";
        let mut templates = Vec::new();
        let mut seen_cursors = HashSet::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_TEMPLATE_PAGES {
            let mut url = self.endpoint(&[waba_id, "message_templates"])?;
            url.query_pairs_mut()
                .append_pair("fields", TEMPLATE_FIELDS)
                .append_pair("limit", &self.template_page_size.to_string());
            if let Some(cursor) = &after {
                url.query_pairs_mut().append_pair("after", cursor);
            }
            let page: TemplatePage = self.get_json(operation, url, token).await?;
            templates.extend(page.data.iter().cloned());
            match page.next_cursor() {
                Some(cursor) if !seen_cursors.insert(cursor.to_owned()) => {
                    return Err(unexpected(operation, "paging repeats an earlier cursor"));
                }
                Some(cursor) => after = Some(cursor.to_owned()),
                None if page.has_next() => {
                    return Err(unexpected(operation, "paging.next without an after cursor"));
                }
                None => return Ok(templates),
            }
        }
        Err(unexpected(operation, "more than 1000 pages of templates"))
    }

    /// Reads the metadata of `media_id`, including a short-lived download URL.
    pub async fn media_info(
        &self,
        media_id: &str,
        token: &AccessToken,
    ) -> Result<MediaInfo, GraphError> {
        let url = self.endpoint(&[media_id])?;
        self.get_json("read media metadata", url, token).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
        token: &AccessToken,
    ) -> Result<T, GraphError> {
        with_retries(&self.retry, operation, Idempotency::Idempotent, || {
            self.call_json::<T, ()>(operation, Method::GET, url.clone(), token, None)
        })
        .await
    }

    /// Makes one HTTP attempt and parses its 2xx body as JSON of type `T`.
    async fn call_json<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        token: &AccessToken,
        body: Option<&B>,
    ) -> Result<T, GraphError> {
        let mut request = self.request(method, url, token)?;
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| transport_error(operation, error))?;
        let status = response.status().as_u16();
        let bytes = read_small(operation, response).await?;
        tracing::debug!(operation, status, "Graph API call done");
        if !(200..300).contains(&status) {
            return Err(response_error(operation, status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|error| GraphError::UnexpectedResponse {
            operation,
            status,
            detail: format!("body does not have the expected shape: {error}"),
        })
    }

    pub(super) fn request(
        &self,
        method: Method,
        url: Url,
        token: &AccessToken,
    ) -> Result<reqwest::RequestBuilder, GraphError> {
        let mut value = reqwest::header::HeaderValue::from_str(&token.bearer()).map_err(|_| {
            GraphError::InvalidRequest(
                "the access token contains characters not allowed in an HTTP header".into(),
            )
        })?;
        value.set_sensitive(true);
        Ok(self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, value))
    }

    /// Builds the URL of a path below the base URL. Every segment must be a Graph
    /// id or a fixed name, so no caller value can change the path.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, GraphError> {
        for segment in segments {
            let valid = !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(GraphError::InvalidRequest(format!(
                    "invalid Graph id {segment:?}: use the numeric id Meta assigned"
                )));
            }
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| GraphError::Client("the Graph API base URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}

#[derive(Deserialize)]
struct SuccessResponse {
    #[serde(default)]
    success: bool,
}

fn unexpected(operation: &'static str, detail: &str) -> GraphError {
    GraphError::UnexpectedResponse {
        operation,
        status: 200,
        detail: detail.to_owned(),
    }
}
