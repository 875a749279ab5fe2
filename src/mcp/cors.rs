//! CORS for browser-based MCP clients. It sits in front of authentication
//! so that preflight requests, which never carry credentials, get a response.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request headers MCP clients send: the Streamable HTTP headers of
/// protocol revisions 2025-06-18 to 2026-07-28, plus credentials and content type.
const ALLOWED_HEADERS: [&str; 8] = [
    "authorization",
    "content-type",
    "accept",
    "mcp-protocol-version",
    "mcp-session-id",
    "mcp-method",
    "mcp-name",
    "last-event-id",
];

/// Builds the CORS layer. With an empty allowlist any origin may call,
/// because rmcp's Origin check is then off too. Otherwise it allows the
/// entries rmcp's check allows, so a preflight never promises more than the
/// endpoint accepts.
pub(super) fn layer(allowed_origins: &[String]) -> CorsLayer {
    let origins = if allowed_origins.is_empty() {
        AllowOrigin::any()
    } else {
        let allowed = allowed_origins.to_vec();
        AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|o| origin_is_allowed(o, &allowed))
        })
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-session-id"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Matches an `Origin` against allowlist entries the way rmcp 3.11 does.
/// Scheme and host must be equal. A `:*` entry matches any port, and so does
/// an entry without a port. An explicit port matches only that port, where
/// an origin without a port has its scheme's default. `null` matches `null`.
pub(super) fn origin_is_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case("null") {
        return allowed
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case("null"));
    }
    let Some((scheme, host, port)) = split_origin(origin) else {
        return false;
    };
    let port = port.or_else(|| default_port(&scheme));
    allowed.iter().any(|entry| {
        let entry = entry.trim();
        let (entry, any_port) = match entry.strip_suffix(":*") {
            Some(base) => (base, true),
            None => (entry, false),
        };
        let Some((e_scheme, e_host, e_port)) = split_origin(entry) else {
            return false;
        };
        let port_matches = any_port || e_port.is_none() || e_port == port;
        e_scheme == scheme && e_host == host && port_matches
    })
}

fn split_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let uri: Uri = value.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let host = authority
        .host()
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    Some((scheme, host, authority.port_u16()))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn origin_matching() {
        let allowed = list(&["https://app.example.com:443", "http://localhost:*", "null"]);
        assert!(origin_is_allowed("https://app.example.com", &allowed));
        assert!(origin_is_allowed("https://APP.example.com:443", &allowed));
        assert!(!origin_is_allowed("https://app.example.com:8443", &allowed));
        assert!(origin_is_allowed("http://localhost:6274", &allowed));
        assert!(!origin_is_allowed("https://localhost:6274", &allowed));
        assert!(!origin_is_allowed("https://evil.example.com", &allowed));
        assert!(origin_is_allowed("null", &allowed));
        assert!(!origin_is_allowed("null", &list(&["http://localhost:*"])));
    }

    #[test]
    fn portless_entry_matches_any_port() {
        let allowed = list(&["http://127.0.0.1"]);
        assert!(origin_is_allowed("http://127.0.0.1:3000", &allowed));
    }
}
