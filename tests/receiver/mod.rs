//! Helpers shared by the integration tests: a webhook receiver on a free
//! loopback port and signature checks.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::mpsc;

use pons::whatsapp::signature;

/// Starts a webhook receiver on a free loopback port that passes every
/// POST body and its headers to the channel.
pub async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    async fn receive(
        State(sender): State<mpsc::UnboundedSender<(HeaderMap, Bytes)>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let _ = sender.send((headers, body));
        StatusCode::OK
    }
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/webhook", axum::routing::post(receive))
        .with_state(sender);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

pub async fn next_webhook(
    receiver: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
) -> (HeaderMap, Bytes) {
    tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("webhook arrives within 10 s")
        .expect("receiver open")
}

pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) {
    let header = headers.get(signature::HEADER).map(|v| v.as_bytes());
    let digest = signature::parse_header(header).expect("signature header present");
    signature::verify(secret.as_bytes(), body, &digest).expect("signature matches body");
}
