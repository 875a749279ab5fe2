//! `GraphClient::download_media` streaming into a temporary media file,
//! against loopback servers that write scripted raw HTTP responses, so a
//! test controls the framing and where the connection breaks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use pons::media_files::{MediaFiles, PartialFile};
use pons::whatsapp::graph::{AccessToken, GraphClient, GraphError, RetryPolicy};

/// What the server does on one connection after reading the request.
enum Reply {
    /// Writes the bytes and closes the connection.
    Close(Vec<u8>),
    /// Writes the bytes and keeps the connection open without sending more.
    Hold(Vec<u8>),
}

/// A scripted server: the n-th connection gets the n-th reply, and every
/// connection after the script the last one.
struct Script {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Script {
    async fn start(replies: Vec<Reply>) -> Script {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let replies = Arc::new(replies);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let number = counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, replies.clone(), number));
            }
        });
        Script { addr, connections }
    }

    fn client(&self) -> GraphClient {
        let retries = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        GraphClient::new(
            &format!("http://{}/v25.0", self.addr),
            Duration::from_secs(5),
        )
        .unwrap()
        .with_retry_policy(retries)
    }

    fn media_url(&self) -> String {
        format!("http://{}/media-download/1", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn answer(mut stream: tokio::net::TcpStream, replies: Arc<Vec<Reply>>, number: usize) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let reply = &replies[number.min(replies.len() - 1)];
    match reply {
        Reply::Close(bytes) => {
            // The client may close first once it has seen enough.
            let _ = stream.write_all(bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hold(bytes) => {
            let _ = stream.write_all(bytes).await;
            std::future::pending::<()>().await;
        }
    }
}

fn head(fields: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n{fields}\r\n").into_bytes()
}

/// Builds a response whose `Content-Length` is that of `body` and whose
/// body stops after `sent` bytes.
fn cut_after(body: &[u8], sent: usize) -> Vec<u8> {
    let mut reply = head(&format!("Content-Length: {}\r\n", body.len()));
    reply.extend_from_slice(&body[..sent]);
    reply
}

/// Builds a chunked response without `Content-Length`.
fn chunked(chunks: &[&[u8]]) -> Vec<u8> {
    let mut reply = head("Transfer-Encoding: chunked\r\n");
    for chunk in chunks {
        reply.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        reply.extend_from_slice(chunk);
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(b"0\r\n\r\n");
    reply
}

fn token() -> AccessToken {
    AccessToken::new("test-token")
}

fn partial_files(dir: &tempfile::TempDir) -> Vec<std::path::PathBuf> {
    let partial = dir.path().join("media").join("partial");
    std::fs::read_dir(partial)
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default()
}

fn create(dir: &tempfile::TempDir, max_bytes: u64) -> PartialFile {
    MediaFiles::new(dir.path())
        .create_partial(max_bytes)
        .unwrap()
}

#[tokio::test]
async fn chunked_body_over_limit_stops() {
    let first = [1u8; 600];
    let second = [2u8; 600];
    let script = Script::start(vec![Reply::Close(chunked(&[&first, &second]))]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut partial = create(&dir, 1000);

    let error = script
        .client()
        .download_media(&script.media_url(), &token(), &mut partial)
        .await
        .unwrap_err();

    assert!(
        matches!(error, GraphError::MediaTooLarge { max_bytes: 1000 }),
        "{error}"
    );
    assert!(
        !partial.path().exists(),
        "deleted once the limit was passed"
    );
    assert_eq!(partial_files(&dir), Vec::<std::path::PathBuf>::new());
    assert_eq!(
        script.connections(),
        1,
        "a file over the limit is not retried"
    );
}

#[tokio::test]
async fn content_length_over_limit_not_read() {
    // The body never arrives: reading it would run into the client timeout.
    let reply = Reply::Hold(head("Content-Length: 5000\r\n"));
    let script = Script::start(vec![reply]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut partial = create(&dir, 1000);

    let error = script
        .client()
        .download_media(&script.media_url(), &token(), &mut partial)
        .await
        .unwrap_err();

    assert!(
        matches!(error, GraphError::MediaTooLarge { max_bytes: 1000 }),
        "{error}"
    );
    assert_eq!(partial.size(), 0);
    assert_eq!(script.connections(), 1);
    drop(partial);
    assert_eq!(partial_files(&dir), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn lost_connection_retried_from_start() {
    let body: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let mut whole = head(&format!("Content-Length: {}\r\n", body.len()));
    whole.extend_from_slice(&body);
    let script = Script::start(vec![
        Reply::Close(cut_after(&body, 1500)),
        Reply::Close(whole),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut partial = create(&dir, 1 << 20);

    let downloaded = script
        .client()
        .download_media(&script.media_url(), &token(), &mut partial)
        .await
        .expect("the second attempt succeeds");

    assert_eq!(script.connections(), 2);
    assert_eq!(downloaded.size, body.len() as u64);
    assert_eq!(downloaded.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(partial.size(), body.len() as u64);
    assert_eq!(partial.sha256(), <[u8; 32]>::from(Sha256::digest(&body)));
    let stored = partial.persist().await.unwrap();
    let on_disk = std::fs::read(dir.path().join(stored.relative_path)).unwrap();
    assert_eq!(on_disk, body, "the first attempt's bytes were discarded");
    assert_eq!(partial_files(&dir), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn lost_connection_fails_then_cleans_up() {
    let body = vec![9u8; 2000];
    let script = Script::start(vec![Reply::Close(cut_after(&body, 700))]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut partial = create(&dir, 1 << 20);

    let error = script
        .client()
        .download_media(&script.media_url(), &token(), &mut partial)
        .await
        .unwrap_err();

    assert!(matches!(error, GraphError::Connection { .. }), "{error:?}");
    assert!(error.is_retryable(), "the job tries again later");
    assert_eq!(script.connections(), 3, "every attempt was made");
    assert_eq!(partial_files(&dir).len(), 1);
    drop(partial);
    assert_eq!(partial_files(&dir), Vec::<std::path::PathBuf>::new());
}
