//! The stand-in's routes, and the layer every request passes first: it is
//! recorded, and a queued fault may replace, delay or hold its response.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::faults::{self, Fault, FaultTarget};
use super::server::ConnectionKill;
use super::state::{RecordedRequest, lock};
use super::{Sim, media, messages, templates};

/// Largest request body the stand-in reads.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/{version}/{id}/messages", post(messages::post_messages))
        .route("/{version}/{id}/message_templates", get(templates::list))
        .route("/{version}/{id}", get(media::info))
        .route("/media-download/{ticket}", get(media::download))
        .fallback(unknown_path)
        .layer(middleware::from_fn_with_state(
            sim.clone(),
            record_and_inject,
        ))
        .with_state(sim)
}

async fn unknown_path() -> Response {
    faults::graph_error(100, Some(400), Some("Unknown path components"))
}

async fn record_and_inject(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return faults::graph_error(100, Some(413), Some("Request body too large")),
    };
    let route = classify(&parts.method, parts.uri.path(), &bytes);
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: redacted_headers(&parts.headers),
        body: bytes.to_vec(),
        token_valid: sim.token_valid(&parts.headers),
    };
    // Recording the request and registering a hold under one lock means a
    // test that has seen the request recorded can release it.
    let (fault, released) = {
        let mut inner = lock(&sim.inner);
        inner.requests.push(recorded);
        let fault = route.and_then(|route| inner.take_fault(route));
        let waits_for_release = matches!(fault, Some(Fault::Hold | Fault::AcceptThenHold));
        let released = waits_for_release.then(|| inner.hold_request());
        (fault, released)
    };
    if released.is_some() {
        sim.held_changed.notify_waiters();
    }
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let request = Request::from_parts(parts, Body::from(bytes));
    match fault {
        None => next.run(request).await,
        Some(Fault::Graph { code, http_status }) => faults::graph_error(code, http_status, None),
        Some(Fault::Http { status }) => faults::http_status(status),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::Hold) => {
            if let Some(released) = released {
                tokio::select! {
                    _ = released => {}
                    () = sim.shutdown.cancelled() => return faults::http_status(503),
                }
            }
            next.run(request).await
        }
        Some(Fault::AcceptThenHold) => {
            let response = next.run(request).await;
            if let Some(released) = released {
                tokio::select! {
                    _ = released => {}
                    () = sim.shutdown.cancelled() => return faults::http_status(503),
                }
            }
            response
        }
        Some(Fault::DropConnection) => drop_connection(kill).await,
        Some(Fault::AcceptThenDrop { hold }) => {
            accept_then_drop(&sim, next.run(request).await, hold, kill).await
        }
    }
}

/// Discards the response of a handled request, waits for the test's
/// release when `hold` is set, then closes the connection.
async fn accept_then_drop(
    sim: &Sim,
    handled: Response,
    hold: bool,
    kill: Option<ConnectionKill>,
) -> Response {
    drop(handled);
    if hold {
        let released = lock(&sim.inner).hold_request();
        sim.held_changed.notify_waiters();
        tokio::select! {
            _ = released => {}
            () = sim.shutdown.cancelled() => {}
        }
    }
    drop_connection(kill).await
}

/// Closes the request's connection without a response. Without the
/// connection handle, which only the stand-in's own accept loop adds, it
/// returns a bare 500 instead.
async fn drop_connection(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(ConnectionKill(notify)) => {
            notify.notify_one();
            std::future::pending::<Response>().await
        }
        None => faults::http_status(500).into_response(),
    }
}

/// The fault target a request belongs to, from its method, path and body.
fn classify(method: &Method, path: &str, body: &[u8]) -> Option<FaultTarget> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", [_, _, "messages"]) => {
            let is_read = serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|value| value["status"].is_string());
            Some(if is_read {
                FaultTarget::MarkRead
            } else {
                FaultTarget::Send
            })
        }
        ("GET", [_, _, "message_templates"]) => Some(FaultTarget::Templates),
        ("GET", ["media-download", _]) => Some(FaultTarget::MediaDownload),
        ("GET", [_, _]) => Some(FaultTarget::MediaInfo),
        _ => None,
    }
}

fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == axum::http::header::AUTHORIZATION {
                "Bearer <redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// Checks the version path segment and the bearer token, and returns
/// Meta's error response when either is wrong.
pub(crate) fn reject_request(sim: &Sim, version: &str, headers: &HeaderMap) -> Option<Response> {
    if version != sim.config.version {
        return Some(faults::graph_error(
            100,
            Some(400),
            Some("Unknown path components: unsupported API version"),
        ));
    }
    if !sim.token_valid(headers) {
        return Some(faults::graph_error(190, None, None));
    }
    None
}
