//! Checks of send bodies as Meta makes them, with Meta's error codes:
//! 100 for an invalid or unknown parameter, 131008 for a missing required
//! one, 131009 for an invalid value, 132000/132001 for template problems.

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::faults;
use super::state::Inner;

const MESSAGE_TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "reaction",
    "template",
    "interactive",
    "location",
    "contacts",
];

/// A rejected body: Meta's code and the `error_data.details` text.
#[derive(Debug)]
pub(crate) struct Reject {
    pub code: i64,
    pub details: String,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        faults::graph_error(self.code, None, Some(&self.details))
    }
}

pub(crate) fn reject<T>(code: i64, details: impl Into<String>) -> Result<T, Reject> {
    Err(Reject {
        code,
        details: details.into(),
    })
}

/// Recipient and type of a valid send.
pub(crate) struct Checked {
    pub to: String,
    pub wa_id: String,
    pub kind: String,
    /// `biz_opaque_callback_data`, echoed in the message's status webhooks.
    pub biz_opaque_callback_data: Option<String>,
}

/// Maximum length of `biz_opaque_callback_data`. Meta documents 512; the
/// stand-in counts bytes, the stricter reading for non-ASCII text.
const MAX_CALLBACK_DATA_BYTES: usize = 512;

/// Checks a send body (everything but `messaging_product`, already checked).
pub(crate) fn message(inner: &Inner, body: &Value) -> Result<Checked, Reject> {
    let to = match &body["to"] {
        Value::String(to) => to.clone(),
        Value::Null => return reject(100, "The parameter to is required."),
        _ => return reject(100, "Param to must be a string."),
    };
    let dialled: String = to.chars().filter(char::is_ascii_digit).collect();
    let allowed = to
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if !allowed || !(7..=15).contains(&dialled.len()) {
        return reject(100, format!("Param to {to:?} is not a valid phone number."));
    }
    // Meta reports the WhatsApp id of the number, which may differ from
    // the digits dialled.
    let wa_id = inner
        .recipients
        .values()
        .find(|recipient| recipient.dialled_as.as_deref() == Some(dialled.as_str()))
        .map_or(dialled, |recipient| recipient.wa_id.clone());

    if let Some(kind) = body.get("recipient_type").and_then(Value::as_str)
        && kind != "individual"
    {
        return reject(
            100,
            "Param recipient_type must be one of {INDIVIDUAL, GROUP}.",
        );
    }
    let kind = match &body["type"] {
        Value::Null => "text".to_owned(),
        Value::String(kind) if MESSAGE_TYPES.contains(&kind.as_str()) => kind.clone(),
        other => return reject(100, format!("Param type {other} is not a supported type.")),
    };
    let object = &body[kind.as_str()];
    if !object.is_object() {
        return reject(131008, format!("The parameter {kind} is required."));
    }

    check_context(body, &kind)?;
    let biz_opaque_callback_data = callback_data(body)?;
    match kind.as_str() {
        "text" => text(object)?,
        "image" | "video" | "document" | "audio" | "sticker" => media(inner, &kind, object)?,
        "reaction" => reaction(object)?,
        "template" => super::validate_template::template(inner, object)?,
        _ => {}
    }
    Ok(Checked {
        to,
        wa_id,
        kind,
        biz_opaque_callback_data,
    })
}

fn callback_data(body: &Value) -> Result<Option<String>, Reject> {
    match &body["biz_opaque_callback_data"] {
        Value::Null => Ok(None),
        Value::String(data) if data.len() <= MAX_CALLBACK_DATA_BYTES => Ok(Some(data.clone())),
        Value::String(_) => reject(
            100,
            format!(
                "Param biz_opaque_callback_data must be at most {MAX_CALLBACK_DATA_BYTES} \
                 characters long."
            ),
        ),
        _ => reject(100, "Param biz_opaque_callback_data must be a string."),
    }
}

fn check_context(body: &Value, kind: &str) -> Result<(), Reject> {
    let context = &body["context"];
    if context.is_null() {
        return Ok(());
    }
    if kind == "reaction" {
        return reject(100, "Param context is not allowed for reaction messages.");
    }
    match context["message_id"].as_str() {
        Some(id) if id.starts_with("wamid.") => Ok(()),
        Some(_) => reject(
            131009,
            "Param context['message_id'] is not a valid message id.",
        ),
        None => reject(131008, "The parameter context['message_id'] is required."),
    }
}

fn text(object: &Value) -> Result<(), Reject> {
    let body = match object["body"].as_str() {
        Some(body) if !body.is_empty() => body,
        _ => return reject(131008, "The parameter text['body'] is required."),
    };
    if body.chars().count() > 4096 {
        return reject(
            100,
            "Param text['body'] must be at most 4096 characters long.",
        );
    }
    match &object["preview_url"] {
        Value::Null | Value::Bool(_) => Ok(()),
        _ => reject(100, "Param text['preview_url'] must be a boolean."),
    }
}

fn media(inner: &Inner, kind: &str, object: &Value) -> Result<(), Reject> {
    match (object["id"].as_str(), object["link"].as_str()) {
        (Some(_), Some(_)) | (None, None) => {
            return reject(
                131009,
                format!("Exactly one of {kind}['id'] or {kind}['link'] is required."),
            );
        }
        (Some(id), None) if !inner.media.contains_key(id) => {
            return reject(
                131009,
                format!("Param {kind}['id'] is not a valid media id."),
            );
        }
        (None, Some(link)) if !(link.starts_with("https://") || link.starts_with("http://")) => {
            return reject(
                131009,
                format!("Param {kind}['link'] must be an http(s) URL."),
            );
        }
        _ => {}
    }
    if !object["caption"].is_null() && matches!(kind, "audio" | "sticker") {
        return reject(
            131009,
            format!("Param {kind}['caption'] is not supported for {kind}."),
        );
    }
    if let Some(caption) = object["caption"].as_str()
        && caption.chars().count() > 1024
    {
        return reject(
            100,
            format!("Param {kind}['caption'] must be at most 1024 characters long."),
        );
    }
    if !object["filename"].is_null() && kind != "document" {
        return reject(
            131009,
            format!("Param {kind}['filename'] is only supported for documents."),
        );
    }
    Ok(())
}

fn reaction(object: &Value) -> Result<(), Reject> {
    match object["message_id"].as_str() {
        Some(id) if id.starts_with("wamid.") => {}
        Some(_) => {
            return reject(
                131009,
                "Param reaction['message_id'] is not a valid message id.",
            );
        }
        None => return reject(131008, "The parameter reaction['message_id'] is required."),
    }
    match &object["emoji"] {
        Value::String(emoji) if emoji.chars().count() <= 16 => Ok(()),
        Value::String(_) => reject(131009, "Param reaction['emoji'] must be a single emoji."),
        _ => reject(131008, "The parameter reaction['emoji'] is required."),
    }
}
