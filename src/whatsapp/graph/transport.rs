//! The HTTP layer under the client: building the reqwest client, turning
//! transport failures and non-2xx responses into `GraphError`, and reading
//! bodies with a size limit.

use std::sync::Arc;
use std::time::Duration;

use rustls_platform_verifier::BuilderVerifierExt;

use super::{GraphError, MetaApiError};

/// Largest JSON response read from the Graph API. Template pages are the
/// biggest and stay far below this.
const MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;
/// Characters of a non-envelope error body kept in the error text.
const SNIPPET_CHARS: usize = 200;

/// Classifies a reqwest failure. A failure to connect proves the request
/// was never sent; any other failure may have happened after Meta got it.
pub(crate) fn transport_error(operation: &'static str, error: reqwest::Error) -> GraphError {
    if error.is_connect() {
        GraphError::Connect {
            operation,
            reason: describe(&error),
        }
    } else if error.is_timeout() {
        GraphError::Timeout { operation }
    } else {
        GraphError::Connection {
            operation,
            reason: describe(&error),
        }
    }
}

/// Builds the error for a non-2xx response: Meta's envelope when the body
/// is one.
pub(crate) fn response_error(operation: &'static str, status: u16, body: &[u8]) -> GraphError {
    match MetaApiError::parse(status, body) {
        Some(error) => GraphError::Api(Box::new(error)),
        None => GraphError::UnexpectedResponse {
            operation,
            status,
            detail: snippet(body),
        },
    }
}

/// Reads a JSON-sized body.
pub(crate) async fn read_small(
    operation: &'static str,
    response: reqwest::Response,
) -> Result<Vec<u8>, GraphError> {
    let status = response.status().as_u16();
    read_limited(operation, response, MAX_JSON_BYTES)
        .await
        .map_err(|error| match error {
            GraphError::MediaTooLarge { max_bytes } => GraphError::UnexpectedResponse {
                operation,
                status,
                detail: format!("body larger than {max_bytes} bytes"),
            },
            other => other,
        })
}

/// Reads the body chunk by chunk and stops as soon as it exceeds
/// `max_bytes`, so an oversized file is never held in memory whole.
pub(crate) async fn read_limited(
    operation: &'static str,
    mut response: reqwest::Response,
    max_bytes: u64,
) -> Result<Vec<u8>, GraphError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(operation, error))?
    {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(GraphError::MediaTooLarge { max_bytes });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Describes the error and its causes without the URL, which may carry a
/// signed query string.
fn describe(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() {
        "no further detail".to_owned()
    } else {
        text
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    // A proxy's error page is HTML, whose tags are left out.
    let html = text.trim_start().starts_with('<');
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' if html => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            _ if c.is_control() || c.is_whitespace() => plain.push(' '),
            _ => plain.push(c),
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let text = crate::shorten::shorten(&words.join(" "), SNIPPET_CHARS);
    if text.is_empty() {
        "empty body".to_owned()
    } else {
        text
    }
}

/// Builds an HTTP client with rustls on the `ring` provider and the
/// operating system's certificate store, without cookies or HTTP/2. Use it
/// for every reqwest client, because reqwest is compiled without a default
/// TLS provider and `reqwest::Client::new()` panics.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, GraphError> {
    let failed = |error: &dyn std::fmt::Display| GraphError::Client(error.to_string());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(&e))?
        .with_platform_verifier()
        .map_err(|e| failed(&e))?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("pons/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(&e.without_url()))
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippet_of_html_keeps_text() {
        let page = b"<html><body>\n<h1>429 Too Many Requests</h1>\n<p>Slow down.</p></body></html>";
        assert_eq!(snippet(page), "429 Too Many Requests Slow down.");
    }

    #[test]
    fn snippet_of_plain_text_unchanged() {
        assert_eq!(snippet(b"upstream timed out"), "upstream timed out");
        assert_eq!(snippet(b" \r\n "), "empty body");
        assert_eq!(snippet(b"a\x00b"), "a b");
        assert_eq!(snippet(b"limit < 10 > 5"), "limit < 10 > 5");
    }
}
