//! The stand-in's own accept loop. axum's `serve` cannot close a connection
//! without responding, which the dropped-connection fault needs, so each
//! connection is served here with hyper and can be aborted by its handler.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Request extension: notifying it closes the request's connection at once,
/// without a response.
#[derive(Clone)]
pub(crate) struct ConnectionKill(pub Arc<Notify>);

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "Meta stand-in failed to accept a connection");
                    continue;
                }
            },
        };
        tokio::spawn(serve_connection(stream, router.clone(), shutdown.clone()));
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    shutdown: CancellationToken,
) {
    let kill = Arc::new(Notify::new());
    let extension = ConnectionKill(kill.clone());
    let service = tower::ServiceBuilder::new()
        .map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(extension.clone());
                request
            },
        )
        .service(router);
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "Meta stand-in connection ended with an error");
            }
        }
        _ = kill.notified() => tracing::debug!("Meta stand-in dropped a connection on request"),
        _ = shutdown.cancelled() => {}
    }
}
