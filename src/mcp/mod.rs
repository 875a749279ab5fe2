//! The MCP endpoint at `/api/mcp` (Streamable HTTP, served statelessly so
//! that any instance can serve any request), its API-key authentication,
//! and the OAuth protected resource metadata from which clients learn how
//! to authenticate.
//!
//! Layers, outermost first: CORS (replies to preflights without credentials,
//! with one origin rule for this endpoint, the discovery documents and
//! `/api/media`),
//! bearer authentication (401 with a `WWW-Authenticate` challenge), then the
//! endpoint, which answers 405 to anything but POST, checks the body, and
//! hands it to rmcp's `StreamableHttpService`.

mod arguments;
mod auth;
mod cors;
mod discovery;
mod endpoint;
mod host_entry;
mod rate;
mod send_tools;
mod server;
mod sources;
mod visible_json;
mod wide_id;
mod write_tools;

use std::sync::Arc;

use axum::Router;
use axum::routing::any;

use crate::store::DynStore;
use crate::tools::Sender;

pub(crate) use cors::is_origin_entry;
pub use cors::media_layer as media_cors_layer;
pub(crate) use host_entry::is_host_entry;
pub use server::PonsMcp;

/// The path of the MCP endpoint.
pub const MCP_PATH: &str = "/api/mcp";

/// Configuration of the MCP endpoint.
#[derive(Clone, Debug)]
pub struct McpSettings {
    /// The public base URL clients reach this server at, for example
    /// `https://pons.example.com` or `http://127.0.0.1:3000`. A trailing slash
    /// is ignored. It forms the resource URL and the metadata URL in 401
    /// challenges, and its host is always an allowed `Host`.
    pub public_url: String,
    /// Further `Host` values to accept besides the public URL's host and the
    /// loopback names; an entry with a port only matches that port.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the endpoint, for example
    /// `https://app.example.com:443` or `http://localhost:*`. Empty disables
    /// the Origin check: credentials are bearer tokens, never cookies, so a
    /// foreign page cannot act for a user without the user's key.
    pub allowed_origins: Vec<String>,
    /// Maximum request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Tool calls each credential may make per minute on this instance,
    /// as a burst that refills evenly over the minute; 0 disables the limit.
    pub tool_rate_per_minute: u32,
}

impl McpSettings {
    /// Returns the public URL without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Returns the canonical resource identifier of the MCP endpoint.
    pub fn resource_url(&self) -> String {
        format!("{}{MCP_PATH}", self.base_url())
    }

    /// Returns the protected resource metadata URL for the endpoint (RFC 9728, path-inserted form).
    pub fn resource_metadata_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource{MCP_PATH}",
            self.base_url()
        )
    }
}

/// Builds the router serving `/api/mcp` and the discovery documents under
/// `/.well-known/`. The tools reach Meta through `sender`. Unknown
/// `/.well-known/…` paths get a JSON 404; routes merged in later for other
/// well-known documents take precedence over it.
pub fn router(store: DynStore, sender: Sender, settings: McpSettings) -> Router {
    let settings = Arc::new(settings);
    let auth_state = auth::AuthState::new(store.clone(), settings.clone());
    let endpoint = endpoint::Endpoint::new(store, sender, &settings);

    let sources = Arc::new(sources::AllowedSources::new(&settings));
    let mcp = Router::new()
        .route(MCP_PATH, any(endpoint::handle))
        .with_state(Arc::new(endpoint))
        .route_layer(axum::middleware::from_fn_with_state(
            auth_state,
            auth::authenticate,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            sources,
            sources::check_sources,
        ));

    let discovery =
        discovery::router(settings.clone()).layer(cors::discovery_layer(&settings.allowed_origins));
    Router::new()
        .merge(discovery)
        .merge(mcp.layer(cors::mcp_layer(&settings.allowed_origins)))
}

/// Puts `routes` behind the API-key authentication of the MCP endpoint:
/// the same key check, the same 401 challenge, and the caller's
/// [`crate::auth::Principal`] in the request extensions.
pub fn require_api_key(routes: Router, store: DynStore, settings: &McpSettings) -> Router {
    let auth_state = auth::AuthState::new(store, Arc::new(settings.clone()));
    routes.route_layer(axum::middleware::from_fn_with_state(
        auth_state,
        auth::authenticate,
    ))
}
