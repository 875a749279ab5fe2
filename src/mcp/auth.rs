//! Bearer authentication for the MCP endpoint with `pons_…` API keys.
//!
//! Every request reads the key from the store: there is no cache, so a
//! revoked key fails on the very next request on every instance. A key with
//! a bad format or checksum is rejected without a database read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::apikey;
use crate::auth::{Principal, Scope, Scopes};
use crate::store::{ApiKey, ApiKeyId, DynStore, UnixTime};

use super::McpSettings;

/// Each instance writes `last_used_at` at most once per this many seconds per key.
const TOUCH_INTERVAL_SECS: i64 = 60;
/// Above this many remembered keys, entries older than the interval are dropped.
const TOUCH_MEMORY_PRUNE_AT: usize = 1024;

/// Shared state of the authentication middleware.
#[derive(Clone)]
pub(super) struct AuthState {
    store: DynStore,
    challenge: Arc<str>,
    /// When this instance last wrote `last_used_at` for each key.
    touched: Arc<Mutex<HashMap<ApiKeyId, UnixTime>>>,
}

impl AuthState {
    pub(super) fn new(store: DynStore, settings: Arc<McpSettings>) -> Self {
        let challenge = format!(
            "Bearer resource_metadata=\"{}\"",
            settings.resource_metadata_url()
        );
        AuthState {
            store,
            challenge: challenge.into(),
            touched: Arc::default(),
        }
    }

    /// Decides whether to write `last_used_at` now, and records the write.
    fn should_touch(&self, key: &ApiKey, now: UnixTime) -> bool {
        if key
            .last_used_at
            .is_some_and(|t| now - t < TOUCH_INTERVAL_SECS)
        {
            return false;
        }
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        if touched
            .get(&key.id)
            .is_some_and(|t| now - t < TOUCH_INTERVAL_SECS)
        {
            return false;
        }
        if touched.len() >= TOUCH_MEMORY_PRUNE_AT {
            touched.retain(|_, t| now - *t < TOUCH_INTERVAL_SECS);
        }
        touched.insert(key.id.clone(), now);
        true
    }

    /// Writes `last_used_at` in the background so the response does not wait.
    fn touch_later(&self, key: &ApiKey, now: UnixTime) {
        if !self.should_touch(key, now) {
            return;
        }
        let store = self.store.clone();
        let id = key.id.clone();
        tokio::spawn(async move {
            if let Err(error) = store.touch_api_key(&id, now).await {
                tracing::warn!(key_id = %id, %error, "failed to update API key last_used_at");
            }
        });
    }
}

/// Reason a request was not authenticated; the text goes into the 401 body.
#[derive(Debug, thiserror::Error)]
enum AuthError {
    #[error("missing credentials: send Authorization: Bearer pons_… with an API key")]
    Missing,
    #[error(
        "the request has several Authorization headers; send one Authorization \
         header with one API key (Authorization: Bearer pons_…)"
    )]
    Several,
    #[error("the Authorization header must use the Bearer scheme: Authorization: Bearer pons_…")]
    NotBearer,
    #[error("invalid API key: {0}")]
    Format(#[from] apikey::KeyFormatError),
    #[error("unknown API key; check that it was copied whole, or create a new one")]
    Unknown,
    #[error("this API key was revoked; create a new key")]
    Revoked,
    #[error("this API key has expired; create a new key")]
    Expired,
    #[error("internal error while checking credentials")]
    Store,
}

/// Authenticates the request and inserts its [`Principal`], or returns a 401 response.
pub(super) async fn authenticate(
    State(state): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = chrono::Utc::now().timestamp();
    match principal_for(&state, request.headers(), now).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(AuthError::Store) => internal_error(),
        Err(AuthError::Several) => several_credentials(),
        Err(error) => unauthorized(&state.challenge, error),
    }
}

async fn principal_for(
    state: &AuthState,
    headers: &axum::http::HeaderMap,
    now: UnixTime,
) -> Result<Principal, AuthError> {
    let token = bearer_token(headers)?;
    apikey::check_format(token)?;
    let hash = apikey::hash(token);
    let key = match state.store.find_api_key_by_hash(&hash).await {
        Ok(Some(key)) => key,
        Ok(None) => return Err(AuthError::Unknown),
        Err(error) => {
            tracing::error!(%error, "API key lookup failed");
            return Err(AuthError::Store);
        }
    };
    if !bool::from(key.key_hash.ct_eq(&hash)) {
        return Err(AuthError::Unknown);
    }
    if key.revoked_at.is_some() {
        tracing::info!(key_id = %key.id, "rejected revoked API key");
        return Err(AuthError::Revoked);
    }
    if key.expires_at.is_some_and(|t| t <= now) {
        tracing::info!(key_id = %key.id, "rejected expired API key");
        return Err(AuthError::Expired);
    }
    state.touch_later(&key, now);
    Ok(Principal {
        user_id: key.user_id.clone(),
        key_id: key.id.clone(),
        scopes: scopes_of(&key),
        only_accounts: key.accounts.clone(),
    })
}

/// Folds the stored scope names; an unknown name grants nothing.
fn scopes_of(key: &ApiKey) -> Scopes {
    let mut scopes = Scopes::empty();
    for name in &key.scopes {
        match Scopes::parse(name) {
            Ok(parsed) => {
                for scope in Scope::ALL.into_iter().filter(|s| parsed.contains(*s)) {
                    scopes = scopes.with(scope);
                }
            }
            Err(error) => {
                tracing::warn!(key_id = %key.id, %error, "ignoring unknown scope stored on API key");
            }
        }
    }
    scopes
}

/// Extracts the token of an `Authorization: Bearer <token>` header. A
/// request with several such headers is rejected rather than authenticated
/// by one of them, because a proxy and the server could pick different ones.
fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::Missing);
    };
    if values.next().is_some() {
        return Err(AuthError::Several);
    }
    let value = value.to_str().map_err(|_| AuthError::NotBearer)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    Ok(token.trim())
}

/// 401 with the RFC 6750 challenge pointing at the protected resource
/// metadata; `error="invalid_token"` is added when a credential was sent.
fn unauthorized(challenge: &str, error: AuthError) -> Response {
    let presented = !matches!(error, AuthError::Missing);
    let challenge = if presented {
        format!("{challenge}, error=\"invalid_token\"")
    } else {
        challenge.to_owned()
    };
    let code = if presented {
        "invalid_token"
    } else {
        "unauthorized"
    };
    let body = serde_json::json!({ "error": code, "error_description": error.to_string() });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    match HeaderValue::from_str(&challenge) {
        Ok(value) => {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        Err(_) => tracing::error!(
            challenge,
            "public URL makes an invalid WWW-Authenticate header; the challenge was left out"
        ),
    }
    response
}

/// 400 `invalid_request` (RFC 6750, section 3.1) for a request with several
/// `Authorization` headers, the status a request with several `Host`
/// headers gets too.
fn several_credentials() -> Response {
    tracing::warn!("rejected request with several Authorization headers");
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": AuthError::Several.to_string(),
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn internal_error() -> Response {
    let body = serde_json::json!({
        "error": "server_error",
        "error_description": "internal error while checking credentials; try again"
    });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(
            bearer_token(&headers("Bearer pons_abc")).unwrap(),
            "pons_abc"
        );
        assert_eq!(
            bearer_token(&headers("bearer  pons_abc ")).unwrap(),
            "pons_abc"
        );
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(AuthError::Missing)
        ));
        assert!(matches!(
            bearer_token(&headers("Basic dXNlcg==")),
            Err(AuthError::NotBearer)
        ));
        assert!(matches!(
            bearer_token(&headers("pons_abc")),
            Err(AuthError::NotBearer)
        ));
        let mut twice = headers("Bearer pons_abc");
        twice.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer pons_def"),
        );
        assert!(matches!(bearer_token(&twice), Err(AuthError::Several)));
    }
}
