//! Errors of Graph API calls: Meta's error envelope, parsed, and the
//! transport failures around it, with the retry and token rules that
//! callers branch on.

use serde::Deserialize;
use serde_json::Value;

use crate::store::MetaError;

/// Graph error codes that mean "slow down": Meta rejected the call before
/// executing it, so even a send may be repeated. 4 is the app-level call
/// limit, 80007 the WABA limit, 130429 the throughput limit and 131056 the
/// per-recipient pair limit.
pub const RATE_LIMIT_CODES: &[i64] = &[4, 80007, 130429, 131056];

/// Graph error codes for temporary trouble on Meta's side: 131000 "something
/// went wrong", 131016 "service unavailable", 131057 "account in
/// maintenance".
pub const TRANSIENT_CODES: &[i64] = &[131000, 131016, 131057];

/// The pair rate limit: too many messages to one recipient in a short time.
pub const PAIR_RATE_LIMIT_CODE: i64 = 131056;

/// Failure of one Graph API call. Texts never contain the access token or a
/// URL query string.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Meta responded with its error envelope.
    #[error("{0}")]
    Api(Box<MetaApiError>),
    /// No complete response arrived in time. The request may have reached
    /// Meta and been executed.
    #[error("{operation} timed out; Meta may still have executed it")]
    Timeout { operation: &'static str },
    /// The connection could not be opened, so the request was never sent.
    #[error("cannot connect to the Graph API for {operation}: {reason}")]
    Connect {
        operation: &'static str,
        reason: String,
    },
    /// The connection failed after the request was (maybe partly) sent.
    #[error("connection to the Graph API failed during {operation}: {reason}")]
    Connection {
        operation: &'static str,
        reason: String,
    },
    /// A response that is neither the expected body nor Meta's envelope.
    #[error("unexpected response to {operation} (HTTP {status}): {detail}")]
    UnexpectedResponse {
        operation: &'static str,
        status: u16,
        detail: String,
    },
    /// The media download URL is unknown or expired (HTTP 404). Fetch a
    /// fresh URL with `media_info` and download again.
    #[error("media download URL is expired or unknown (HTTP 404); fetch a new URL")]
    MediaUrlNotFound,
    /// The media is larger than the caller's limit.
    #[error("media exceeds the limit of {max_bytes} bytes")]
    MediaTooLarge { max_bytes: u64 },
    /// Writing the downloaded media to its destination failed.
    #[error("writing the downloaded media failed: {0}")]
    MediaWrite(String),
    /// The last attempt of an idempotent call failed with the inner error
    /// after an earlier attempt lost its response, so Meta may still have
    /// executed the call.
    #[error("{0} (an earlier attempt lost its response, so Meta may have executed the call)")]
    AfterLostResponse(Box<GraphError>),
    /// The request was rejected before sending because it is malformed.
    #[error("invalid Graph API request: {0}")]
    InvalidRequest(String),
    /// The HTTP client could not be built.
    #[error("cannot build the Graph API HTTP client: {0}")]
    Client(String),
}

impl GraphError {
    /// Returns the parsed envelope when Meta responded with one.
    pub fn meta(&self) -> Option<&MetaApiError> {
        match self {
            GraphError::Api(error) => Some(error.as_ref()),
            GraphError::AfterLostResponse(last) => last.meta(),
            _ => None,
        }
    }

    /// Returns Meta's error code when Meta responded with an envelope.
    pub fn code(&self) -> Option<i64> {
        self.meta().map(|error| error.code)
    }

    /// Tells whether the access token is invalid or expired, so the operator
    /// must store a new one.
    pub fn is_token_error(&self) -> bool {
        self.meta().is_some_and(MetaApiError::is_token_error)
    }

    /// Tells whether repeating the same call later may succeed. Whether it
    /// is safe to repeat a non-idempotent send is `proves_not_executed`.
    pub fn is_retryable(&self) -> bool {
        match self {
            GraphError::Api(error) => error.is_retryable(),
            GraphError::AfterLostResponse(last) => last.is_retryable(),
            GraphError::Timeout { .. }
            | GraphError::Connect { .. }
            | GraphError::Connection { .. } => true,
            GraphError::UnexpectedResponse { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Tells whether the error proves Meta did not execute the request: a
    /// rate-limit rejection or a connection that never opened. Only then may
    /// a send be repeated without risking a duplicate message.
    pub fn proves_not_executed(&self) -> bool {
        match self {
            GraphError::Api(error) => {
                RATE_LIMIT_CODES.contains(&error.code) || error.http_status == 429
            }
            GraphError::Connect { .. } => true,
            GraphError::UnexpectedResponse { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// Tells whether Meta may have executed the request without a response
    /// that shows it: a timeout, a connection that broke after the request
    /// was sent, or a response that is not Meta's (other than 429).
    pub fn may_have_executed(&self) -> bool {
        match self {
            GraphError::Timeout { .. }
            | GraphError::Connection { .. }
            | GraphError::AfterLostResponse(_) => true,
            GraphError::UnexpectedResponse { status, .. } => *status != 429,
            _ => false,
        }
    }

    /// Tells whether this is the per-recipient pair rate limit (131056),
    /// which calls for a longer pause than other limits.
    pub fn is_pair_rate_limit(&self) -> bool {
        self.code() == Some(PAIR_RATE_LIMIT_CODE)
    }

    /// Converts the error to the form stored on a failed message.
    pub fn to_meta_error(&self) -> MetaError {
        match self {
            GraphError::Api(error) => error.to_meta_error(),
            GraphError::AfterLostResponse(last) if last.meta().is_some() => last.to_meta_error(),
            other => MetaError {
                code: None,
                title: None,
                message: Some(other.to_string()),
                details: None,
            },
        }
    }
}

/// Meta's error envelope (`{"error":{…}}`) with the HTTP status it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaApiError {
    pub http_status: u16,
    /// The field to branch on, for example 131047 or 190.
    pub code: i64,
    /// `error_subcode`; deprecated by Meta but still sent on some errors.
    pub subcode: Option<i64>,
    /// `type`, often `OAuthException` even for errors unrelated to auth.
    pub error_type: Option<String>,
    /// `error_user_title`.
    pub title: Option<String>,
    /// `message`, usually `(#code) title`.
    pub message: String,
    /// `error_user_msg`.
    pub user_message: Option<String>,
    /// `error_data.details`, or `error_data` itself when it is a string.
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
    pub is_transient: Option<bool>,
}

impl std::fmt::Display for MetaApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Graph API error {} (HTTP {}): {}",
            self.code, self.http_status, self.message
        )?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

impl MetaApiError {
    /// Tells whether Meta rejected the access token: code 190, or code 0
    /// (`AuthException`) with type `OAuthException`.
    pub fn is_token_error(&self) -> bool {
        self.code == 190 || (self.code == 0 && self.error_type.as_deref() == Some("OAuthException"))
    }

    /// Tells whether the same call may succeed later: rate limits, Meta's
    /// transient codes, and server errors other than auth and permission
    /// problems (3, 10, 200-299 are sometimes sent with HTTP 500).
    pub fn is_retryable(&self) -> bool {
        if RATE_LIMIT_CODES.contains(&self.code) || TRANSIENT_CODES.contains(&self.code) {
            return true;
        }
        let permission = matches!(self.code, 0 | 3 | 10 | 190 | 200..=299);
        (self.http_status == 429 || self.http_status >= 500) && !permission
    }

    /// Returns the short title: `error_user_title`, else `message` without its
    /// `(#code) ` prefix.
    pub fn title(&self) -> String {
        if let Some(title) = &self.title {
            return title.clone();
        }
        let prefix = format!("(#{}) ", self.code);
        self.message
            .strip_prefix(&prefix)
            .unwrap_or(&self.message)
            .to_owned()
    }

    /// Converts the error to the form stored on a failed message.
    pub fn to_meta_error(&self) -> MetaError {
        MetaError {
            code: Some(self.code),
            title: Some(self.title()),
            message: Some(self.message.clone()),
            details: self.details.clone(),
        }
    }

    /// Parses an error body; `None` when it is not Meta's envelope.
    pub fn parse(http_status: u16, body: &[u8]) -> Option<MetaApiError> {
        let envelope: Envelope = serde_json::from_slice(body).ok()?;
        let error = envelope.error;
        let code = lenient_int(&error.code)?;
        let details = match &error.error_data {
            Value::String(text) => Some(text.clone()),
            Value::Object(map) => map.get("details").and_then(text_of),
            _ => None,
        };
        Some(MetaApiError {
            http_status,
            code,
            subcode: lenient_int(&error.error_subcode),
            error_type: text_of(&error.error_type),
            title: text_of(&error.error_user_title),
            message: text_of(&error.message).unwrap_or_default(),
            user_message: text_of(&error.error_user_msg),
            details,
            fbtrace_id: text_of(&error.fbtrace_id),
            is_transient: error.is_transient.as_bool(),
        })
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

/// Every field is read as a loose JSON value, because Meta's types vary
/// (codes as strings, `error_data` as a string or an object).
#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    message: Value,
    #[serde(default, rename = "type")]
    error_type: Value,
    #[serde(default)]
    code: Value,
    #[serde(default)]
    error_subcode: Value,
    #[serde(default)]
    error_data: Value,
    #[serde(default)]
    error_user_title: Value,
    #[serde(default)]
    error_user_msg: Value,
    #[serde(default)]
    fbtrace_id: Value,
    #[serde(default)]
    is_transient: Value,
}

fn lenient_int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str()?.trim().parse().ok())
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_full_envelope() {
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"window closed"},"error_subcode":2494010,"fbtrace_id":"Az8","is_transient":false,"error_user_title":"Re-engagement","error_user_msg":"Send a template"}}"#;
        let error = MetaApiError::parse(400, body).unwrap();
        assert_eq!(error.code, 131047);
        assert_eq!(error.subcode, Some(2494010));
        assert_eq!(error.error_type.as_deref(), Some("OAuthException"));
        assert_eq!(error.title.as_deref(), Some("Re-engagement"));
        assert_eq!(error.details.as_deref(), Some("window closed"));
        assert_eq!(error.fbtrace_id.as_deref(), Some("Az8"));
        assert_eq!(error.is_transient, Some(false));
        assert_eq!(error.user_message.as_deref(), Some("Send a template"));
        assert!(!error.is_retryable());
    }

    #[test]
    fn parse_string_code_and_string_error_data() {
        let body = br#"{"error":{"message":"(#100) Invalid parameter","code":"100","error_data":"bad to"}}"#;
        let error = MetaApiError::parse(400, body).unwrap();
        assert_eq!(error.code, 100);
        assert_eq!(error.details.as_deref(), Some("bad to"));
        assert_eq!(error.title(), "Invalid parameter");
    }

    #[test]
    fn parse_rejects_other_bodies() {
        assert!(MetaApiError::parse(502, b"<html>Bad gateway</html>").is_none());
        assert!(MetaApiError::parse(400, br#"{"error":{"message":"no code"}}"#).is_none());
    }

    #[test]
    fn classify_codes() {
        let error = |code, status| {
            GraphError::Api(Box::new(MetaApiError {
                http_status: status,
                code,
                subcode: None,
                error_type: Some("OAuthException".into()),
                title: None,
                message: String::new(),
                user_message: None,
                details: None,
                fbtrace_id: None,
                is_transient: None,
            }))
        };
        assert!(error(190, 401).is_token_error());
        assert!(error(0, 401).is_token_error());
        assert!(!error(100, 400).is_token_error());
        for code in [4, 80007, 130429, 131056] {
            assert!(error(code, 400).is_retryable(), "{code}");
            assert!(error(code, 400).proves_not_executed(), "{code}");
        }
        for code in [131000, 131016, 131057] {
            assert!(error(code, 500).is_retryable(), "{code}");
            assert!(!error(code, 500).proves_not_executed(), "{code}");
        }
        assert!(error(1, 503).is_retryable());
        assert!(!error(10, 500).is_retryable());
        assert!(!error(131047, 400).is_retryable());
        assert!(error(131056, 400).is_pair_rate_limit());
        assert!(!error(131000, 500).may_have_executed());
    }

    #[test]
    fn lost_responses_may_have_executed() {
        let operation = "send message";
        let unexpected = |status| GraphError::UnexpectedResponse {
            operation,
            status,
            detail: String::new(),
        };
        assert!(GraphError::Timeout { operation }.may_have_executed());
        let reason = String::new();
        assert!(
            GraphError::Connection {
                operation,
                reason: reason.clone()
            }
            .may_have_executed()
        );
        assert!(!GraphError::Connect { operation, reason }.may_have_executed());
        assert!(unexpected(502).may_have_executed());
        assert!(!unexpected(429).may_have_executed());
    }
}
