//! `POST /{version}/{phone-number-id}/messages`: sends and read receipts.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use serde_json::{Value, json};

use super::routes::reject_request;
use super::state::{AcceptedMessage, lock};
use super::validate::{self, Reject};
use super::{Sim, faults, webhooks};

/// How long a customer's last message keeps the service window open.
const SERVICE_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

pub(crate) async fn post_messages(
    State(sim): State<Arc<Sim>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = reject_request(&sim, &version, &headers) {
        return response;
    }
    if id != sim.config.phone_number_id {
        return faults::unknown_object("post", &id);
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return reject(100, "The request body must be a JSON object."),
    };
    match body["messaging_product"].as_str() {
        Some("whatsapp") => {}
        Some(other) => {
            let details =
                format!("Param messaging_product must be one of {{WHATSAPP}} - got {other:?}.");
            return reject(100, &details);
        }
        None => return reject(100, "The parameter messaging_product is required."),
    }
    if !body["status"].is_null() {
        return mark_read(&sim, &body);
    }
    let checked = {
        let inner = lock(&sim.inner);
        validate::message(&inner, &body)
    };
    match checked {
        Ok(checked) => accept(&sim, checked, body),
        Err(rejected) => rejected.into_response(),
    }
}

fn reject(code: i64, details: &str) -> Response {
    Reject {
        code,
        details: details.to_owned(),
    }
    .into_response()
}

fn mark_read(sim: &Sim, body: &Value) -> Response {
    if body["status"].as_str() != Some("read") {
        return reject(100, "Param status must be one of {READ}.");
    }
    let Some(message_id) = body["message_id"].as_str() else {
        return reject(100, "The parameter message_id is required.");
    };
    if !message_id.starts_with("wamid.") {
        return reject(100, "Param message_id is not a valid message id.");
    }
    lock(&sim.inner).read_receipts.push(message_id.to_owned());
    Json(json!({"success": true})).into_response()
}

fn accept(sim: &Arc<Sim>, checked: validate::Checked, body: Value) -> Response {
    let message = AcceptedMessage {
        wamid: new_wamid(&checked.wa_id),
        to: checked.to.clone(),
        wa_id: checked.wa_id.clone(),
        kind: checked.kind.clone(),
        biz_opaque_callback_data: checked.biz_opaque_callback_data,
        body,
    };
    let wamid = message.wamid.clone();
    let failure = {
        let mut inner = lock(&sim.inner);
        let recipient = inner.recipients.get(&checked.wa_id).cloned();
        let window_open = inner
            .last_inbound
            .get(&checked.wa_id)
            .is_some_and(|at| at.elapsed() < SERVICE_WINDOW);
        inner.accepted.push(message.clone());
        match recipient {
            Some(recipient) => recipient.fail_with,
            None if !inner.recipients.is_empty() => Some(131026),
            None => None,
        }
        .or_else(|| {
            let needs_window = sim.config.enforce_service_window && checked.kind != "template";
            (needs_window && !window_open).then_some(131047)
        })
    };
    webhooks::schedule_statuses(sim.clone(), message, failure);
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": checked.to, "wa_id": checked.wa_id}],
        "messages": [{"id": wamid}],
    }))
    .into_response()
}

/// Generates a wamid shaped like Meta's: base64 of the recipient's number and a
/// random message key in Meta's framing bytes.
pub(crate) fn new_wamid(wa_id: &str) -> String {
    let mut raw = vec![0x1c, 0x18, wa_id.len().min(255) as u8];
    raw.extend_from_slice(wa_id.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    let key: u128 = rand::thread_rng().r#gen();
    raw.extend_from_slice(format!("{:018X}", key & ((1u128 << 72) - 1)).as_bytes());
    raw.push(0x00);
    format!("wamid.{}", BASE64.encode(raw))
}
