//! The `Host` and `Origin` checks of `/api/mcp`, which run before the API
//! key is checked: a request from a host or browser origin that is not
//! allowed gets 403 naming the setting that allows it, whatever its key.
//! rmcp 3.11 checks both again afterwards.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::cors::origin_is_allowed;
use super::{MCP_PATH, McpSettings};
use crate::echo::echoed;

/// Hosts always accepted besides the public URL's host.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The `Host` and `Origin` allowlists, checked before rmcp checks them so
/// that a rejection names the value and the setting that allows it.
pub(super) struct AllowedSources {
    hosts: Vec<String>,
    origins: Vec<String>,
    public_url: String,
}

impl AllowedSources {
    pub(super) fn new(settings: &McpSettings) -> AllowedSources {
        AllowedSources {
            hosts: allowed_hosts(settings),
            origins: settings.allowed_origins.clone(),
            public_url: settings.base_url().to_owned(),
        }
    }
}

/// Rejects a request to `/api/mcp` whose `Host` or `Origin` is not allowed,
/// or that names its host twice, before its key is checked.
pub(super) async fn check_sources(
    State(sources): State<Arc<AllowedSources>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(rejection) = sources.rejection(request.uri(), request.headers()) {
        return rejection;
    }
    next.run(request).await
}

/// Lists the allowed `Host` values: the public URL's host, the loopback
/// names, and the configured extras.
pub(super) fn allowed_hosts(settings: &McpSettings) -> Vec<String> {
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    let public = settings.base_url().parse::<axum::http::Uri>().ok();
    match public.as_ref().and_then(|uri| uri.host()) {
        Some(host) => hosts.push(host.trim_matches(['[', ']']).to_owned()),
        None => tracing::error!(
            public_url = %settings.public_url,
            "public URL has no host; only loopback and configured hosts are allowed"
        ),
    }
    hosts.extend(settings.allowed_hosts.iter().cloned());
    hosts
}

impl AllowedSources {
    /// Builds the 403 response to a request whose `Host` or `Origin` is not
    /// allowed, by the rules of rmcp 3.11's own check, which still runs
    /// afterwards. A request with several `Host` headers gets 400 (RFC
    /// 9112, section 3.2). The host of a request target in absolute form
    /// (`POST http://host/api/mcp`) is checked in place of the `Host`
    /// header, which a server ignores then. A missing, non-UTF-8 or
    /// malformed `Host` is left to rmcp, which returns 400.
    fn rejection(&self, uri: &axum::http::Uri, headers: &HeaderMap) -> Option<Response> {
        if headers.get_all(header::HOST).iter().nth(1).is_some() {
            tracing::warn!("rejected MCP request with several Host headers");
            let body = json!({
                "error": "invalid_request",
                "error_description": "the request has several Host headers; send exactly one",
            });
            return Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
        let host = match (uri.authority(), headers.get(header::HOST)) {
            (Some(authority), _) => authority.clone(),
            (None, Some(value)) => value.to_str().ok()?.parse::<Authority>().ok()?,
            (None, None) => return None,
        };
        if !host_is_allowed(&host, &self.hosts) {
            let host = echoed(host.as_str());
            tracing::warn!(%host, "rejected MCP request with a Host that is not allowed");
            let public_host = self
                .public_url
                .parse::<axum::http::Uri>()
                .ok()
                .and_then(|uri| uri.host().map(str::to_owned))
                .unwrap_or_default();
            let message = format!(
                "Host \"{host}\" is not allowed on {MCP_PATH}. Pons accepts the host of its public \
                 URL ({public_host:?}, set by PONS_PUBLIC_URL or --public-url), localhost, \
                 127.0.0.1 and ::1. To accept this host, add it to PONS_ALLOWED_HOSTS \
                 (--allowed-hosts, comma-separated) or set the public URL to the address \
                 clients use."
            );
            return Some(forbidden(message));
        }
        if self.origins.is_empty() {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        if origin_is_allowed(origin, &self.origins) {
            return None;
        }
        let origin = echoed(origin);
        tracing::warn!(
            %origin,
            "rejected MCP request from an Origin that is not allowed"
        );
        let message = format!(
            "Origin \"{origin}\" is not allowed on {MCP_PATH}. To accept requests from this \
             origin, add it to PONS_ALLOWED_ORIGINS (--allowed-origins, comma-separated, \
             for example https://app.example.com or http://localhost:*)."
        );
        Some(forbidden(message))
    }
}

/// Matches a `Host` against allowlist entries the way rmcp 3.11 does: the
/// host names must be equal ignoring case and brackets, and an entry with a
/// port matches only that port.
fn host_is_allowed(host: &Authority, allowed: &[String]) -> bool {
    let normalize = |name: &str| name.trim_matches(['[', ']']).to_ascii_lowercase();
    let name = normalize(host.host());
    allowed.iter().any(|entry| {
        let entry = entry.trim();
        if entry.is_empty() {
            return false;
        }
        let (entry_name, entry_port) = match entry.parse::<Authority>() {
            Ok(authority) => (normalize(authority.host()), authority.port_u16()),
            Err(_) => (normalize(entry), None),
        };
        entry_name == name && entry_port.is_none_or(|port| host.port_u16() == Some(port))
    })
}

fn forbidden(message: String) -> Response {
    let body = json!({ "error": "forbidden", "error_description": message });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_allowlist_matches_like_rmcp() {
        let allowed = [
            "pons.example.com".to_owned(),
            "proxy.internal:8443".to_owned(),
            "::1".to_owned(),
        ];
        let host = |value: &str| value.parse::<Authority>().unwrap();
        assert!(host_is_allowed(&host("pons.example.com"), &allowed));
        assert!(host_is_allowed(&host("PONS.example.com:3000"), &allowed));
        assert!(host_is_allowed(&host("proxy.internal:8443"), &allowed));
        assert!(!host_is_allowed(&host("proxy.internal:80"), &allowed));
        assert!(!host_is_allowed(&host("proxy.internal"), &allowed));
        assert!(host_is_allowed(&host("[::1]:3000"), &allowed));
        assert!(!host_is_allowed(&host("evil.example.com"), &allowed));
    }
}
