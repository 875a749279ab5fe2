//! The limit on webhook body bytes in flight, through the real server on
//! SQLite. The tests speak HTTP/1.1 over raw TCP, because a body held
//! half-sent is what takes room from the limit. A body takes room as its
//! bytes arrive, so a client that announces a large body and stalls holds
//! only what it sent.

mod app;
#[allow(dead_code)]
mod postgres_harness;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use app::{Backend, Env, inbound_media, message_by_wamid, seed_sandbox};
use pons::metasim::MetaSimConfig;
use pons::whatsapp::signature;

/// Both the per-body limit and the in-flight limit, so that one body of
/// the largest size needs the whole in-flight limit.
const LIMIT_BYTES: usize = 64 * 1024;

/// Bytes a body reserves: its length rounded up to a whole KiB.
fn reserved_bytes(length: usize) -> usize {
    length.div_ceil(1024) * 1024
}

/// A response read from a raw connection.
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Reads one response: its head, then as many body bytes as its
/// Content-Length states.
async fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.expect("read response");
        assert!(
            read > 0,
            "connection closed before a response head: {bytes:?}"
        );
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).expect("ASCII head");
    let status = head[9..12].parse().expect("status code");
    let mut response = Response {
        status,
        head,
        body: String::new(),
    };
    let length: usize = response
        .header("content-length")
        .map_or(0, |value| value.parse().expect("Content-Length"));
    let mut body = bytes[head_end..].to_vec();
    body.resize(length, 0);
    let already = bytes.len() - head_end;
    stream
        .read_exact(&mut body[already..])
        .await
        .expect("read response body");
    response.body = String::from_utf8(body).expect("UTF-8 body");
    response
}

/// Sends the head of a webhook POST with `headers` and no body bytes.
async fn send_head(addr: std::net::SocketAddr, headers: &[(&str, String)]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("POST /api/webhook HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream
}

/// Returns a signature header of the right form that matches no body.
fn wrong_signature() -> (&'static str, String) {
    (signature::HEADER, format!("sha256={}", "0".repeat(64)))
}

/// Sends a head that announces `length` bytes and waits for the server's
/// 100 Continue, which it sends when it starts to read the body.
async fn announce(
    addr: std::net::SocketAddr,
    length: usize,
    extra: &[(&str, String)],
) -> TcpStream {
    let mut headers = vec![
        ("Content-Length", length.to_string()),
        ("Expect", "100-continue".to_owned()),
    ];
    headers.extend_from_slice(extra);
    let mut stream = send_head(addr, &headers).await;
    let interim = read_response(&mut stream).await;
    assert_eq!(interim.status, 100, "{}", interim.head);
    stream
}

/// Announces bodies of `length` bytes until the server rejects one for
/// lack of room, which it does once it has read the bytes another request
/// sent, and returns that response. Each announced body that still fits is
/// abandoned before it is sent.
async fn first_rejection(addr: std::net::SocketAddr, length: usize) -> Response {
    for _ in 0..500 {
        let mut stream = send_head(
            addr,
            &[
                ("Content-Length", length.to_string()),
                ("Expect", "100-continue".to_owned()),
                wrong_signature(),
            ],
        )
        .await;
        let response = read_response(&mut stream).await;
        if response.status != 100 {
            return response;
        }
        drop(stream);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("a body of {length} bytes was never rejected for lack of room");
}

/// Checks the 503 of a body rejected for lack of room.
fn assert_in_flight_rejection(response: &Response) {
    assert_eq!(response.status, 503, "{}{}", response.head, response.body);
    assert_eq!(
        response.header("retry-after"),
        Some("5"),
        "{}",
        response.head
    );
    assert_eq!(
        response.header("connection"),
        Some("close"),
        "{}",
        response.head
    );
    let error: serde_json::Value = serde_json::from_str(&response.body).expect("JSON error");
    let message = error["error"].as_str().expect("error text");
    assert!(
        message.contains(&format!("limit of {LIMIT_BYTES} bytes")),
        "{message}"
    );
    assert!(
        message.contains("PONS_WEBHOOK_MAX_IN_FLIGHT_BYTES"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_remaining_room_gets_503() {
    let env = Env::new(Backend::Sqlite, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.webhook_max_body_bytes = LIMIT_BYTES;
    settings.server.webhook_max_in_flight_bytes = LIMIT_BYTES;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let app = bound.run(&env);

    // A signed text message of about 40 KB, stopped after its head.
    let text = json!({"body": "x".repeat(40_000)});
    let in_flight_body =
        inbound_media(env.sim.config(), "wamid.in-flight", "text", text).to_string();
    let in_flight_signature = signature::sign(
        env.sim.config().app_secret.as_bytes(),
        in_flight_body.as_bytes(),
    );
    let mut in_flight = announce(
        app.addr,
        in_flight_body.len(),
        &[
            ("Content-Type", "application/json".to_owned()),
            (signature::HEADER, in_flight_signature),
        ],
    )
    .await;
    let (sent, last) = in_flight_body.as_bytes().split_at(in_flight_body.len() - 1);
    in_flight
        .write_all(sent)
        .await
        .expect("send all but one byte");
    let room = LIMIT_BYTES - reserved_bytes(in_flight_body.len());
    assert!(room > 1024, "room {room}");
    assert!(room < 30_000, "room {room}");

    // A declared length over the room is rejected before its body is sent,
    // once the server has read the bytes in flight.
    assert_in_flight_rejection(&first_rejection(app.addr, 30_000).await);

    // A chunked body is rejected once its bytes exceed the room by one.
    let mut chunked = send_head(
        app.addr,
        &[
            ("Transfer-Encoding", "chunked".to_owned()),
            wrong_signature(),
        ],
    )
    .await;
    let mut chunk = format!("{:x}\r\n", room + 1).into_bytes();
    chunk.resize(chunk.len() + room + 1, b'y');
    chunked.write_all(&chunk).await.expect("send chunk");
    assert_in_flight_rejection(&read_response(&mut chunked).await);

    in_flight
        .write_all(last)
        .await
        .expect("send the rest of the body");
    let stored = read_response(&mut in_flight).await;
    assert_eq!(stored.status, 200, "{}{}", stored.head, stored.body);
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.in-flight").await;
    assert_eq!(message.text.as_deref().map(str::len), Some(40_000));

    // The whole limit is free again: a body of the full limit is read. It
    // is no JSON, so it is then rejected with 400.
    let mut full = announce(app.addr, LIMIT_BYTES, &[wrong_signature()]).await;
    full.write_all(&vec![b'z'; LIMIT_BYTES])
        .await
        .expect("send full body");
    let read = read_response(&mut full).await;
    assert_eq!(read.status, 400, "{}{}", read.head, read.body);
    assert!(read.body.contains("JSON"), "{}", read.body);

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_announced_bodies_leave_room() {
    let env = Env::new(Backend::Sqlite, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.webhook_max_body_bytes = LIMIT_BYTES;
    settings.server.webhook_max_in_flight_bytes = LIMIT_BYTES;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let app = bound.run(&env);

    // Two clients announce bodies of nearly the whole limit and send 1 KiB
    // each.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = announce(app.addr, LIMIT_BYTES - 2048, &[wrong_signature()]).await;
        stream.write_all(&[b'{'; 1024]).await.expect("send 1 KiB");
        stalled.push(stream);
    }

    // A signed webhook still fits, because they hold only what they sent.
    let body = inbound_media(
        env.sim.config(),
        "wamid.beside-stalled",
        "text",
        json!({"body": "hello"}),
    )
    .to_string();
    let signed = signature::sign(env.sim.config().app_secret.as_bytes(), body.as_bytes());
    let mut webhook = send_head(
        app.addr,
        &[
            ("Content-Type", "application/json".to_owned()),
            ("Content-Length", body.len().to_string()),
            (signature::HEADER, signed),
        ],
    )
    .await;
    webhook.write_all(body.as_bytes()).await.expect("send body");
    let stored = read_response(&mut webhook).await;
    assert_eq!(stored.status, 200, "{}{}", stored.head, stored.body);
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.beside-stalled").await;
    assert_eq!(message.text.as_deref(), Some("hello"));

    // A request without a signature header is rejected before its body.
    let mut unsigned = send_head(
        app.addr,
        &[
            ("Content-Length", LIMIT_BYTES.to_string()),
            ("Expect", "100-continue".to_owned()),
        ],
    )
    .await;
    let rejected = read_response(&mut unsigned).await;
    assert_eq!(rejected.status, 401, "{}{}", rejected.head, rejected.body);

    drop(stalled);
    app.stop().await;
}
