//! Exact echo of integer JSON-RPC ids that rmcp 3.11 cannot hold.
//!
//! rmcp stores a numeric request id as `i64`, so it rejects an id such as
//! 18446744073709551615, and `serde_json::Value` would round anything
//! beyond `u64` to a float. JSON-RPC 2.0 requires the response to carry the
//! request's id unchanged. Such an id is therefore replaced in the request
//! body by a string with the same digits, and the response's top-level
//! string id is replaced by the original digits again. Both replacements
//! splice bytes and do not re-serialize the message, so an integer id of
//! any size comes back exactly as it was sent.

use std::ops::Range;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::value::RawValue;

/// An integer request id outside `i64`, as its JSON text.
pub(super) struct WideId {
    digits: String,
}

impl WideId {
    /// Replaces an integer id outside `i64` in `body` with a string of the
    /// same digits, and returns the new body and the id to restore in the
    /// response. Returns `None` for any other body, which passes unchanged.
    pub(super) fn substitute(body: &[u8]) -> Option<(Bytes, WideId)> {
        // Every integer outside i64 has at least 19 digits, so a body without
        // such a run of digits is not parsed again.
        if !has_digit_run(body, MIN_WIDE_DIGITS) {
            return None;
        }
        let span = top_level_id(body)?;
        let digits = std::str::from_utf8(&body[span.clone()]).ok()?;
        if !is_integer_literal(digits) || digits.parse::<i64>().is_ok() {
            return None;
        }
        let replaced = splice(body, span, format!("\"{digits}\"").as_bytes());
        let id = WideId {
            digits: digits.to_owned(),
        };
        Some((replaced, id))
    }

    /// Puts the original integer id back into a JSON or SSE response.
    pub(super) async fn restore(&self, response: Response) -> Response {
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            self.restore_json(response).await
        } else if content_type.starts_with("text/event-stream") {
            self.restore_event_stream(response)
        } else {
            response
        }
    }

    async fn restore_json(&self, response: Response) -> Response {
        let (mut parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                tracing::warn!(%error, "reading the MCP response to restore its id failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let restored = self.restore_message(&bytes).unwrap_or(bytes);
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(restored))
    }

    /// Rewrites each complete SSE event as it arrives, so that progress
    /// notifications still stream. rmcp 3.11 ends every event with "\n\n".
    fn restore_event_stream(&self, response: Response) -> Response {
        let (parts, body) = response.into_parts();
        let digits = self.digits.clone();
        let mut pending: Vec<u8> = Vec::new();
        let events = body.into_data_stream().map(move |chunk| {
            let data = chunk?;
            pending.extend_from_slice(&data);
            let mut output = Vec::with_capacity(pending.len());
            while let Some(end) = pending.windows(2).position(|pair| pair == b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                output.extend_from_slice(&restore_event(&event, &digits));
            }
            Ok::<_, axum::Error>(Bytes::from(output))
        });
        Response::from_parts(parts, Body::from_stream(events))
    }

    /// Returns `message` with its top-level id, the string this id was
    /// replaced by, turned back into the integer. `None` when the id is
    /// something else, for example `null` in an error about the body.
    fn restore_message(&self, message: &[u8]) -> Option<Bytes> {
        restore_id(message, &self.digits)
    }
}

/// Rewrites the `data:` lines of one SSE event (see [`restore_id`]).
fn restore_event(event: &[u8], digits: &str) -> Vec<u8> {
    let mut output = Vec::with_capacity(event.len());
    for line in event.split_inclusive(|byte| *byte == b'\n') {
        let restored = line.strip_prefix(b"data:").and_then(|payload| {
            let start = usize::from(payload.first() == Some(&b' '));
            let restored = restore_id(&payload[start..], digits)?;
            let mut line = b"data:".to_vec();
            line.extend_from_slice(&payload[..start]);
            line.extend_from_slice(&restored);
            Some(line)
        });
        match restored {
            Some(line) => output.extend_from_slice(&line),
            None => output.extend_from_slice(line),
        }
    }
    output
}

/// Replaces the top-level id `"<digits>"` of a JSON message with `digits`.
fn restore_id(message: &[u8], digits: &str) -> Option<Bytes> {
    let span = top_level_id(message)?;
    let id = &message[span.clone()];
    let is_placeholder = id.len() == digits.len() + 2
        && id.first() == Some(&b'"')
        && id.last() == Some(&b'"')
        && &id[1..id.len() - 1] == digits.as_bytes();
    is_placeholder.then(|| splice(message, span, digits.as_bytes()))
}

/// Finds the byte range of the value of the `id` member of a JSON object.
fn top_level_id(message: &[u8]) -> Option<Range<usize>> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    // Without this check serde would also read an array as the struct.
    if message.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let envelope: Envelope = serde_json::from_slice(message).ok()?;
    let raw = envelope.id?.get().as_bytes();
    // The raw value borrows from `message`, so its address gives its offset.
    let start = (raw.as_ptr() as usize).checked_sub(message.as_ptr() as usize)?;
    let span = start..start + raw.len();
    (message.get(span.clone()) == Some(raw)).then_some(span)
}

/// Number of digits of i64::MAX, 9223372036854775807. Integers with fewer
/// digits fit in `i64`.
const MIN_WIDE_DIGITS: usize = 19;

fn has_digit_run(bytes: &[u8], length: usize) -> bool {
    let mut run = 0;
    for byte in bytes {
        run = if byte.is_ascii_digit() { run + 1 } else { 0 };
        if run >= length {
            return true;
        }
    }
    false
}

/// Checks for a JSON integer: an optional minus and digits, no fraction or exponent.
fn is_integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

fn splice(bytes: &[u8], span: Range<usize>, replacement: &[u8]) -> Bytes {
    let mut output = Vec::with_capacity(bytes.len() + replacement.len());
    output.extend_from_slice(&bytes[..span.start]);
    output.extend_from_slice(replacement);
    output.extend_from_slice(&bytes[span.end..]);
    Bytes::from(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_ids_are_substituted() {
        let body = br#"{"jsonrpc":"2.0","id": 18446744073709551615 ,"method":"ping"}"#;
        let (replaced, id) = WideId::substitute(body).unwrap();
        assert_eq!(
            &replaced[..],
            br#"{"jsonrpc":"2.0","id": "18446744073709551615" ,"method":"ping"}"#
        );
        let response = br#"{"jsonrpc":"2.0","id":"18446744073709551615","result":{}}"#;
        let restored = id.restore_message(response).unwrap();
        assert_eq!(
            &restored[..],
            br#"{"jsonrpc":"2.0","id":18446744073709551615,"result":{}}"#
        );
    }

    #[test]
    fn other_ids_pass_unchanged() {
        for body in [
            r#"{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":922337203685477580,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":"18446744073709551616","method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5e30,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"[{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}]"#,
            r#"{"jsonrpc": "2.0", "id": 1, "method":"#,
        ] {
            assert!(WideId::substitute(body.as_bytes()).is_none(), "{body}");
        }
    }

    #[test]
    fn sse_event_id_is_restored() {
        let digits = "-99999999999999999999";
        let event = b"id: 0\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"-99999999999999999999\",\"result\":{}}\n\n";
        let restored = restore_event(event, digits);
        assert_eq!(
            String::from_utf8(restored).unwrap(),
            "id: 0\ndata: {\"jsonrpc\":\"2.0\",\"id\":-99999999999999999999,\"result\":{}}\n\n"
        );
        let priming = b"id: 0\ndata:\n\n";
        assert_eq!(restore_event(priming, digits), priming.to_vec());
    }
}
