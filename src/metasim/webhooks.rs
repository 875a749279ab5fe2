//! Webhooks the stand-in sends: status changes of accepted messages and
//! inbound customer messages, as Meta's `messages` change, escaped like
//! Meta's bodies and signed with `X-Hub-Signature-256` over the bytes sent.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::escape::to_meta_json;
use super::faults::{details_of, title_of};
use super::state::{AcceptedMessage, WebhookDelivery, lock};
use super::{Sim, SimError, unix_now};
use crate::whatsapp::signature;

/// A status the stand-in can report for an accepted message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimStatus {
    Sent,
    Delivered,
    Read,
    /// Voice notes only.
    Played,
    /// `failed` with Meta's error code, such as 131026 or 131047.
    Failed(i64),
}

impl SimStatus {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SimStatus::Sent => "sent",
            SimStatus::Delivered => "delivered",
            SimStatus::Read => "read",
            SimStatus::Played => "played",
            SimStatus::Failed(_) => "failed",
        }
    }
}

/// Builds the `value` of a `messages` change for this stand-in's number.
fn change_value(sim: &Sim) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": sim.config.display_phone_number,
            "phone_number_id": sim.config.phone_number_id,
        },
    })
}

/// Wraps one change value in a whole notification.
fn notification(sim: &Sim, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": sim.config.waba_id,
            "changes": [{"value": value, "field": "messages"}],
        }],
    })
}

/// Builds the notification of one status of `message`. Like Meta, it
/// echoes the send's `biz_opaque_callback_data` when the send had one.
pub(crate) fn status_payload(sim: &Sim, message: &AcceptedMessage, status: SimStatus) -> Value {
    let mut entry = json!({
        "id": message.wamid,
        "status": status.name(),
        "timestamp": unix_now().to_string(),
        "recipient_id": message.wa_id,
    });
    if let Some(data) = &message.biz_opaque_callback_data {
        entry["biz_opaque_callback_data"] = json!(data);
    }
    if let SimStatus::Failed(code) = status {
        entry["errors"] = json!([{
            "code": code,
            "title": title_of(code),
            "message": title_of(code),
            "error_data": {"details": details_of(code)},
        }]);
    }
    let mut value = change_value(sim);
    value["statuses"] = json!([entry]);
    notification(sim, value)
}

/// Builds the notification of a customer message. `content` is the type's
/// object, such as `{"body": "hi"}` for `text`.
pub(crate) fn inbound_payload(
    sim: &Sim,
    wamid: &str,
    from: &str,
    profile_name: &str,
    kind: &str,
    content: Value,
) -> Value {
    let mut value = change_value(sim);
    value["contacts"] = json!([{"profile": {"name": profile_name}, "wa_id": from}]);
    let mut message = json!({
        "from": from,
        "id": wamid,
        "timestamp": unix_now().to_string(),
        "type": kind,
    });
    message[kind] = content;
    value["messages"] = json!([message]);
    notification(sim, value)
}

/// Signs and POSTs `payload` to the configured webhook URL and records the
/// delivery. A response other than 2xx is recorded, not retried.
// NOTE: Meta retries failed deliveries for up to 7 days; the stand-in sends
// each webhook once, so a receiver's retry handling is not exercised here.
pub(crate) async fn deliver(
    sim: &Sim,
    kind: String,
    wamid: &str,
    payload: &Value,
) -> Result<WebhookDelivery, SimError> {
    let url = lock(&sim.inner)
        .webhook_url
        .clone()
        .ok_or(SimError::NoWebhookUrl)?;
    let body = to_meta_json(payload).map_err(|e| SimError::Delivery(e.to_string()))?;
    let signature = signature::sign(sim.config.app_secret.as_bytes(), &body);
    let result = sim
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("user-agent", "facebookexternalua")
        .header(signature::HEADER, &signature)
        .body(body.clone())
        .send()
        .await;
    let (http_status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => (None, Some(error.without_url().to_string())),
    };
    let delivery = WebhookDelivery {
        kind,
        wamid: wamid.to_owned(),
        body,
        signature,
        http_status,
        error,
    };
    lock(&sim.inner).deliveries.push(delivery.clone());
    Ok(delivery)
}

/// Sends the status webhooks of an accepted message in the background,
/// following the configured plan: `failed` alone when `failure` is set,
/// `sent` alone for reactions, else `sent`, `delivered` and `read`.
pub(crate) fn schedule_statuses(sim: Arc<Sim>, message: AcceptedMessage, failure: Option<i64>) {
    let (plan, has_url) = {
        let inner = lock(&sim.inner);
        (inner.status_plan.clone(), inner.webhook_url.is_some())
    };
    if !has_url {
        return;
    }
    let steps: Vec<(Option<Duration>, SimStatus)> = match failure {
        Some(code) => vec![(plan.sent.or(Some(Duration::ZERO)), SimStatus::Failed(code))],
        None if message.kind == "reaction" => vec![(plan.sent, SimStatus::Sent)],
        None => vec![
            (plan.sent, SimStatus::Sent),
            (plan.delivered, SimStatus::Delivered),
            (plan.read, SimStatus::Read),
        ],
    };
    let start = tokio::time::Instant::now();
    let shutdown = sim.shutdown.clone();
    tokio::spawn(async move {
        let run = async {
            for (delay, status) in steps {
                let Some(delay) = delay else { continue };
                tokio::time::sleep_until(start + delay).await;
                let payload = status_payload(&sim, &message, status);
                let kind = format!("status:{}", status.name());
                if let Err(error) = deliver(&sim, kind, &message.wamid, &payload).await {
                    tracing::warn!(%error, wamid = message.wamid,
                        "Meta stand-in could not send a status webhook");
                }
            }
        };
        tokio::select! {
            _ = run => {}
            _ = shutdown.cancelled() => {}
        }
    });
}
