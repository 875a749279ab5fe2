//! The limit on webhook body bytes in flight: bytes that all requests
//! together are sending or having processed at once. Each body reserves
//! its bytes from a semaphore as they arrive, before they are buffered, so
//! a burst of large bodies cannot buffer more body bytes than the limit.
//! A reservation is returned when it is dropped: after the response, on
//! every error, and when the request's task is cancelled or panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::{HeaderMap, header};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per semaphore permit. Reservations are rounded up to whole KiB.
const PERMIT_BYTES: usize = 1024;

/// The in-flight limit that every request of one webhook router shares.
/// The server builds one router, so the limit is process-wide.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    semaphore: Arc<Semaphore>,
    limit_bytes: usize,
    /// Bodies rejected because the limit was reached, since start-up.
    rejected: Arc<AtomicU64>,
}

impl BodyBudget {
    /// Creates a budget of `limit_bytes`, rounded up to a whole KiB.
    pub fn new(limit_bytes: usize) -> BodyBudget {
        let permits = limit_bytes
            .div_ceil(PERMIT_BYTES)
            .min(Semaphore::MAX_PERMITS);
        BodyBudget {
            semaphore: Arc::new(Semaphore::new(permits)),
            limit_bytes,
            rejected: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn limit_bytes(&self) -> usize {
        self.limit_bytes
    }

    /// Bytes no body has reserved, in whole KiB.
    pub fn available_bytes(&self) -> usize {
        self.semaphore.available_permits() * PERMIT_BYTES
    }

    /// Bodies rejected because the limit was reached, since start-up.
    pub fn rejected_count(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Reserves `bytes`, or returns `None` at once when less is available.
    pub fn try_reserve(&self, bytes: usize) -> Option<BodyReservation> {
        let permit = self.try_acquire(bytes)?;
        Some(BodyReservation {
            budget: self.clone(),
            permit,
        })
    }

    fn try_acquire(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let permits = u32::try_from(bytes.div_ceil(PERMIT_BYTES)).ok()?;
        self.semaphore.clone().try_acquire_many_owned(permits).ok()
    }

    /// Counts a body rejected for lack of room and returns its error.
    fn reject(&self, needed_bytes: usize) -> ReadError {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        ReadError::OverBudget {
            needed_bytes: needed_bytes as u64,
        }
    }
}

/// Bytes reserved for one body; dropping it returns them to the budget.
#[derive(Debug)]
pub struct BodyReservation {
    budget: BodyBudget,
    permit: OwnedSemaphorePermit,
}

impl BodyReservation {
    /// Bytes this reservation holds, a whole number of KiB.
    pub fn bytes(&self) -> usize {
        self.permit.num_permits() * PERMIT_BYTES
    }

    /// Grows the reservation to at least `bytes` in all. Returns false,
    /// and keeps the reservation as it was, when the budget lacks the
    /// difference.
    pub fn try_grow_to(&mut self, bytes: usize) -> bool {
        let reserved = self.bytes();
        if bytes <= reserved {
            return true;
        }
        match self.budget.try_acquire(bytes - reserved) {
            Some(more) => {
                self.permit.merge(more);
                true
            }
            None => false,
        }
    }
}

/// Failure to read a webhook body to the end.
#[derive(Debug)]
pub enum ReadError {
    /// The body is larger than the per-body limit. `declared_bytes` is its
    /// Content-Length when it had one.
    TooLarge { declared_bytes: Option<u64> },
    /// The body would take the in-flight bytes over the budget's limit.
    /// `needed_bytes` is the size it needed in all: its Content-Length, or
    /// the bytes received so far when it declared no length.
    OverBudget { needed_bytes: u64 },
    /// Receiving the body failed: the client paused longer than the read
    /// timeout, closed the connection, or sent a malformed chunk.
    Body(axum::Error),
    /// The whole body did not arrive within the deadline.
    TimedOut,
}

/// Reads a whole body of at most `max_bytes` within `budget` and within
/// `deadline`, and returns it with the reservation that covers it. The
/// caller keeps the reservation until it is done with the body.
///
/// Bytes are reserved as they arrive: the reservation grows before the
/// buffer does, so the buffer never exceeds it. A client that announces a
/// large body and sends it slowly therefore takes only the room of what it
/// has sent, and the deadline bounds how long it keeps that room. A body
/// whose
/// Content-Length (read from the header, because tower-http 0.6's request
/// body timeout drops the size hint) is over `max_bytes`, or over the room
/// left at its start, is rejected before it is read.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
    budget: &BodyBudget,
    deadline: Duration,
) -> Result<(Bytes, BodyReservation), ReadError> {
    tokio::time::timeout(deadline, read_within(headers, body, max_bytes, budget))
        .await
        .unwrap_or(Err(ReadError::TimedOut))
}

async fn read_within(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, BodyReservation), ReadError> {
    let declared = declared_length(headers);
    let expected = match declared {
        Some(length) => match usize::try_from(length) {
            Ok(length) if length <= max_bytes => length,
            _ => {
                return Err(ReadError::TooLarge {
                    declared_bytes: declared,
                });
            }
        },
        None => max_bytes,
    };
    if declared.is_some() && expected > budget.available_bytes() {
        return Err(budget.reject(expected));
    }
    // A reservation of no bytes always succeeds. It grows as bytes arrive.
    let mut reservation = budget
        .try_reserve(0)
        .expect("a reservation of zero permits never waits");
    let mut buffer: Vec<u8> = Vec::new();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(ReadError::Body)?.into_data() else {
            // Trailers carry no body bytes.
            continue;
        };
        let length = buffer.len() + data.len();
        if length > max_bytes {
            return Err(ReadError::TooLarge {
                declared_bytes: declared,
            });
        }
        if length > buffer.capacity() {
            let limit = expected.max(length);
            let capacity = grow_within(&mut reservation, buffer.capacity(), length, limit)
                .ok_or_else(|| budget.reject(length))?;
            buffer.reserve_exact(capacity - buffer.len());
        }
        buffer.extend_from_slice(&data);
    }
    Ok((Bytes::from(buffer), reservation))
}

/// Returns the Content-Length of a request without Transfer-Encoding.
/// Hyper has rejected a request whose Content-Length is invalid, and it
/// reads no more and no less than that length.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return None;
    }
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Returns the capacity that a buffer of `capacity` bytes grows to so that
/// it can contain `length` bytes, after growing `reservation` to cover it. The
/// capacity doubles, up to `max_bytes`, while the budget allows, so copying
/// stays linear in the body's size. Otherwise it is `length` exactly.
/// `None` when the budget lacks room for `length`.
fn grow_within(
    reservation: &mut BodyReservation,
    capacity: usize,
    length: usize,
    max_bytes: usize,
) -> Option<usize> {
    let doubled = capacity.saturating_mul(2).max(length).min(max_bytes);
    if reservation.try_grow_to(doubled) {
        return Some(doubled);
    }
    reservation.try_grow_to(length).then_some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures::StreamExt;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    /// A deadline no test body comes near.
    const DEADLINE: Duration = Duration::from_secs(3600);

    /// Returns the headers of a body of `length` bytes.
    fn content_length(length: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, length.into());
        headers
    }

    /// Builds a body of `chunks` without a Content-Length, as a chunked
    /// request has.
    fn chunked(chunks: &[&[u8]]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .iter()
            .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
            .collect();
        Body::new(StreamBody::new(futures::stream::iter(frames)))
    }

    #[test]
    fn reservation_returns_bytes_on_drop() {
        let budget = BodyBudget::new(8 * 1024);
        let reservation = budget.try_reserve(3000).expect("fits");
        assert_eq!(reservation.bytes(), 3 * 1024);
        assert_eq!(budget.available_bytes(), 5 * 1024);
        assert!(budget.try_reserve(6 * 1024).is_none());
        drop(reservation);
        assert_eq!(budget.available_bytes(), 8 * 1024);
    }

    #[test]
    fn failed_growth_keeps_reservation() {
        let budget = BodyBudget::new(4 * 1024);
        let mut reservation = budget.try_reserve(1024).expect("fits");
        assert!(reservation.try_grow_to(3 * 1024));
        assert_eq!(reservation.bytes(), 3 * 1024);
        assert!(!reservation.try_grow_to(5 * 1024));
        assert_eq!(reservation.bytes(), 3 * 1024);
        assert_eq!(budget.available_bytes(), 1024);
    }

    #[tokio::test]
    async fn panicking_task_returns_bytes() {
        let budget = BodyBudget::new(8 * 1024);
        let shared = budget.clone();
        let task = tokio::spawn(async move {
            let _reservation = shared.try_reserve(8 * 1024).expect("fits");
            panic!("request handler panicked");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(budget.available_bytes(), 8 * 1024);
    }

    #[test]
    fn transfer_encoding_hides_content_length() {
        let mut headers = content_length(5000);
        assert_eq!(declared_length(&headers), Some(5000));
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert_eq!(declared_length(&headers), None);
    }

    #[tokio::test]
    async fn declared_length_reserved_as_it_arrives() {
        let budget = BodyBudget::new(8 * 1024);
        let headers = content_length(5000);
        let (bytes, reservation) = read_body(
            &headers,
            Body::from(vec![7u8; 5000]),
            8 * 1024,
            &budget,
            DEADLINE,
        )
        .await
        .expect("body fits");
        assert_eq!(bytes.len(), 5000);
        assert_eq!(reservation.bytes(), 5 * 1024);
        assert_eq!(budget.available_bytes(), 3 * 1024);

        let headers = content_length(4000);
        let error = read_body(
            &headers,
            Body::from(vec![7u8; 4000]),
            8 * 1024,
            &budget,
            DEADLINE,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, ReadError::OverBudget { needed_bytes: 4000 }),
            "{error:?}"
        );
        assert_eq!(budget.rejected_count(), 1);
        drop(reservation);
        assert_eq!(budget.available_bytes(), 8 * 1024);
    }

    #[tokio::test]
    async fn declared_length_over_maximum_is_too_large() {
        let budget = BodyBudget::new(64 * 1024);
        let headers = content_length(2000);
        let error = read_body(
            &headers,
            Body::from(vec![7u8; 2000]),
            1024,
            &budget,
            DEADLINE,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                error,
                ReadError::TooLarge {
                    declared_bytes: Some(2000)
                }
            ),
            "{error:?}"
        );
        assert_eq!(budget.available_bytes(), 64 * 1024);
    }

    #[tokio::test]
    async fn chunked_body_grows_reservation() {
        let budget = BodyBudget::new(16 * 1024);
        let body = chunked(&[&[1u8; 1000], &[2u8; 3000], &[3u8; 500]]);
        let (bytes, reservation) = read_body(&HeaderMap::new(), body, 16 * 1024, &budget, DEADLINE)
            .await
            .expect("body fits");
        assert_eq!(bytes.len(), 4500);
        assert_eq!(&bytes[..1000], &[1u8; 1000][..]);
        assert_eq!(&bytes[4000..], &[3u8; 500][..]);
        assert!(reservation.bytes() >= 4500, "{}", reservation.bytes());
        drop(reservation);
        assert_eq!(budget.available_bytes(), 16 * 1024);
    }

    #[tokio::test]
    async fn chunked_body_over_budget_is_rejected() {
        let budget = BodyBudget::new(8 * 1024);
        let other = budget.try_reserve(5 * 1024).expect("fits");
        let body = chunked(&[&[1u8; 2000], &[2u8; 2000]]);
        let error = read_body(&HeaderMap::new(), body, 8 * 1024, &budget, DEADLINE)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ReadError::OverBudget { needed_bytes: 4000 }),
            "{error:?}"
        );
        assert_eq!(budget.available_bytes(), 3 * 1024);
        drop(other);
        assert_eq!(budget.available_bytes(), 8 * 1024);
    }

    #[tokio::test]
    async fn chunked_body_over_maximum_is_too_large() {
        let budget = BodyBudget::new(64 * 1024);
        let body = chunked(&[&[1u8; 1000], &[2u8; 1000]]);
        let error = read_body(&HeaderMap::new(), body, 1500, &budget, DEADLINE)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ReadError::TooLarge {
                    declared_bytes: None
                }
            ),
            "{error:?}"
        );
        assert_eq!(budget.available_bytes(), 64 * 1024);
    }

    /// Builds a body that sends `chunk` and then nothing more, as a client
    /// that stalls after its first bytes does.
    fn stalled_after(chunk: &[u8]) -> Body {
        let first = futures::stream::iter([Ok::<_, std::io::Error>(Frame::data(
            Bytes::copy_from_slice(chunk),
        ))]);
        Body::new(StreamBody::new(first.chain(futures::stream::pending())))
    }

    #[tokio::test]
    async fn stalled_body_holds_only_its_bytes() {
        let budget = BodyBudget::new(64 * 1024);
        let headers = content_length(60 * 1024);
        let reading = read_body(
            &headers,
            stalled_after(&[1u8; 1000]),
            64 * 1024,
            &budget,
            DEADLINE,
        );
        tokio::pin!(reading);
        assert!(futures::poll!(reading.as_mut()).is_pending());
        assert!(
            budget.available_bytes() >= 62 * 1024,
            "a body that announced 60 KiB and sent 1,000 bytes holds {} bytes",
            64 * 1024 - budget.available_bytes()
        );
        let small = read_body(
            &content_length(2000),
            Body::from(vec![2u8; 2000]),
            64 * 1024,
            &budget,
            DEADLINE,
        )
        .await;
        assert!(small.is_ok(), "{:?}", small.err());
    }

    #[tokio::test(start_paused = true)]
    async fn body_not_done_by_deadline_times_out() {
        let budget = BodyBudget::new(64 * 1024);
        let error = read_body(
            &content_length(4000),
            stalled_after(&[1u8; 1000]),
            64 * 1024,
            &budget,
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ReadError::TimedOut), "{error:?}");
        assert_eq!(budget.available_bytes(), 64 * 1024);
    }
}
