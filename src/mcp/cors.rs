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

/// Request headers a browser may send to `/api/media`: the API key, and
/// `Range` for seeking, which is CORS-safelisted only in its simplest forms.
const MEDIA_HEADERS: [&str; 2] = ["authorization", "range"];

/// Builds the CORS layer of `/api/mcp`. It offers only POST, because the
/// endpoint opens no SSE stream for GET, and it is stateless, so no DELETE
/// ends a session.
pub(super) fn mcp_layer(allowed_origins: &[String]) -> CorsLayer {
    layer(allowed_origins, &[Method::POST], &ALLOWED_HEADERS).expose_headers([
        header::WWW_AUTHENTICATE,
        HeaderName::from_static("mcp-session-id"),
    ])
}

/// Builds the CORS layer of the discovery documents under `/.well-known/`,
/// which MCP clients GET with their protocol headers.
pub(super) fn discovery_layer(allowed_origins: &[String]) -> CorsLayer {
    layer(allowed_origins, &[Method::GET], &ALLOWED_HEADERS)
}

/// Builds the CORS layer of `/api/media`, which serves GET and HEAD with
/// the API key in `Authorization`. A page reads the file's type, name,
/// length and byte range from the exposed headers.
pub fn media_layer(allowed_origins: &[String]) -> CorsLayer {
    layer(
        allowed_origins,
        &[Method::GET, Method::HEAD],
        &MEDIA_HEADERS,
    )
    .expose_headers([
        header::WWW_AUTHENTICATE,
        header::CONTENT_DISPOSITION,
        header::CONTENT_LENGTH,
        header::CONTENT_RANGE,
        header::ACCEPT_RANGES,
    ])
}

/// Builds a CORS layer with the origin rule shared by every route. With an
/// empty allowlist any origin may call, because rmcp's Origin check is then
/// off too. Otherwise it allows the entries rmcp's check allows, so a
/// preflight never promises more than the endpoint accepts.
fn layer(allowed_origins: &[String], methods: &[Method], headers: &[&'static str]) -> CorsLayer {
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
        .allow_methods(methods.to_vec())
        .allow_headers(
            headers
                .iter()
                .copied()
                .map(HeaderName::from_static)
                .collect::<Vec<_>>(),
        )
        .max_age(Duration::from_secs(600))
}

/// Matches an `Origin` against allowlist entries. Scheme and host must be
/// equal (the host ignoring case). A `:*` entry matches any port. An entry
/// without a port matches only its scheme's default port, as does an
/// origin without one, because another port is another origin. `null`
/// matches `null`.
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
        let e_port = e_port.or_else(|| default_port(&e_scheme));
        let port_matches = any_port || e_port == port;
        e_scheme == scheme && e_host == host && port_matches
    })
}

/// Returns whether an allowlist entry is `null` or an http(s) origin:
/// `scheme://host`, optionally with `:port` or `:*`.
pub(crate) fn is_origin_entry(entry: &str) -> bool {
    let entry = entry.trim();
    if entry.eq_ignore_ascii_case("null") {
        return true;
    }
    let base = entry.strip_suffix(":*").unwrap_or(entry);
    let Ok(uri) = base.parse::<Uri>() else {
        return false;
    };
    let http = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    // Origins are compared for equality, so a wildcard in the host would
    // match only itself: the host must be a host name or an IP address.
    let host = uri
        .authority()
        .is_some_and(|authority| super::host_entry::is_host_entry(authority.as_str()));
    http && host && bare
}

/// Returns the entry with its scheme's default port written out. rmcp's
/// own check lets an entry without a port match any port, so this makes it
/// apply the rule of [`origin_is_allowed`].
pub(super) fn with_explicit_port(entry: &str) -> String {
    let trimmed = entry.trim();
    match split_origin(trimmed) {
        Some((scheme, _, None)) if !trimmed.ends_with(":*") => match default_port(&scheme) {
            Some(port) => format!("{}:{port}", trimmed.trim_end_matches('/')),
            None => trimmed.to_owned(),
        },
        _ => trimmed.to_owned(),
    }
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
    fn portless_entry_matches_default_port() {
        let allowed = list(&["https://app.example.com"]);
        assert!(origin_is_allowed("https://app.example.com", &allowed));
        assert!(origin_is_allowed("https://app.example.com:443", &allowed));
        assert!(!origin_is_allowed("https://app.example.com:8443", &allowed));
        assert!(!origin_is_allowed(
            "http://127.0.0.1:3000",
            &list(&["http://127.0.0.1"])
        ));
    }

    #[test]
    fn entries_checked_and_given_ports() {
        assert!(is_origin_entry("https://app.example.com"));
        assert!(is_origin_entry("http://localhost:*"));
        assert!(is_origin_entry("null"));
        assert!(!is_origin_entry("notaurl"));
        assert!(!is_origin_entry("app.example.com"));
        assert!(!is_origin_entry("ftp://files.example.com"));
        assert!(!is_origin_entry("https://app.example.com/inbox"));
        assert!(!is_origin_entry("http://*.example.com"));
        assert!(!is_origin_entry("https://user@app.example.com"));
        assert!(is_origin_entry("http://[::1]:3000"));
        assert_eq!(
            with_explicit_port("https://app.example.com"),
            "https://app.example.com:443"
        );
        assert_eq!(
            with_explicit_port("http://localhost:*"),
            "http://localhost:*"
        );
        assert_eq!(
            with_explicit_port("http://a.example:8080"),
            "http://a.example:8080"
        );
    }
}
