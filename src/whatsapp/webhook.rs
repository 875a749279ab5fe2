//! Webhook bodies as Meta sends them, read leniently: ids and timestamps
//! may be strings or numbers, most fields may be missing, and message
//! types Pons does not know are kept whole instead of dropped.

use serde::Deserialize;
use serde_json::Value;

use crate::echo::echoed;
use crate::phone::PhoneNumber;

use crate::store::{
    AccountId, ContactSeen, InboundMessage, InboundReaction, IngestItem, MediaRef, MessageStatus,
    MetaError, StatusUpdate, TemplateStatusUpdate,
};

/// A whole POST body.
#[derive(Debug, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One `entry[]`: a WhatsApp Business Account and its changes.
#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One `changes[]` element; `value` is read according to `field`.
#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

impl Change {
    /// The business number's phone number id, for `messages` changes.
    pub fn phone_number_id(&self) -> Option<String> {
        text_of(&self.value["metadata"]["phone_number_id"])
    }
}

/// Turns one `messages` change into ingest items for `account`, in body
/// order: contacts first, then messages and reactions, then statuses.
/// Problems that do not stop ingestion (an unknown status) go to `notes`.
/// A message or status without a valid timestamp, or with one well after
/// `received_at` (the Unix time the webhook arrived), gets `received_at`
/// and a note. A customer number written with `+`, spaces, dashes or
/// brackets is stored as its digits, Meta's `wa_id` form, and a message
/// with such a `from` gets a note. A message whose `from` is not a phone
/// number is stored as sent, with a note.
pub fn messages_items(
    account: &AccountId,
    value: &Value,
    received_at: i64,
    notes: &mut Vec<String>,
) -> Vec<IngestItem> {
    let mut items = Vec::new();
    for contact in array(&value["contacts"]) {
        if let Some(item) = contact_item(account, contact) {
            items.push(item);
        }
    }
    for message in array(&value["messages"]) {
        let timestamp = checked_timestamp(
            &message["timestamp"],
            "message",
            message,
            received_at,
            notes,
        );
        match message_item(account, message, timestamp) {
            Some(item) => {
                note_sender_form(message, notes);
                items.push(item);
            }
            None => notes.push("message without id or sender skipped".to_owned()),
        }
    }
    for status in array(&value["statuses"]) {
        let timestamp =
            checked_timestamp(&status["timestamp"], "status", status, received_at, notes);
        match status_item(account, status, timestamp) {
            Some(item) => items.push(item),
            None => notes.push(format!(
                "status \"{}\" not understood",
                echoed(&text_of(&status["status"]).unwrap_or_default())
            )),
        }
    }
    for error in array(&value["errors"]) {
        let error = meta_error(error);
        notes.push(format!(
            "account-level error {}: {}",
            error.code.unwrap_or_default(),
            error.title.unwrap_or_default()
        ));
    }
    items
}

fn contact_item(account: &AccountId, contact: &Value) -> Option<IngestItem> {
    let user_id = non_empty(text_of(&contact["user_id"]));
    let wa_id = non_empty(text_of(&contact["wa_id"]))
        .map(wa_id_form)
        .or_else(|| user_id.clone())?;
    Some(IngestItem::Contact(ContactSeen {
        account_id: account.clone(),
        wa_id,
        profile_name: non_empty(text_of(&contact["profile"]["name"])),
        user_id,
    }))
}

fn message_item(account: &AccountId, message: &Value, timestamp: i64) -> Option<IngestItem> {
    // A blank id or sender names nothing: replies could not quote such a
    // message, and a second one would be taken for a duplicate.
    let wamid = non_empty(text_of(&message["id"]))?;
    let from = non_empty(text_of(&message["from"]))
        .map(wa_id_form)
        .or_else(|| non_empty(text_of(&message["from_user_id"])))?;
    let kind = text_of(&message["type"]).unwrap_or_else(|| "unsupported".to_owned());

    if kind == "reaction" {
        let reaction = &message["reaction"];
        return Some(IngestItem::Reaction(InboundReaction {
            account_id: account.clone(),
            from,
            wamid,
            target_wamid: text_of(&reaction["message_id"])?,
            emoji: non_empty(text_of(&reaction["emoji"])),
            timestamp,
        }));
    }

    let content = Content::of(&kind, message);
    Some(IngestItem::Message(InboundMessage {
        account_id: account.clone(),
        from,
        wamid,
        timestamp,
        kind: content.kind,
        text: content.text,
        caption: content.caption,
        media: content.media,
        context_wamid: text_of(&message["context"]["id"]),
        content_json: message.get(&kind).unwrap_or(&Value::Null).to_string(),
        raw_json: message.to_string(),
        errors: array(&message["errors"]).map(meta_error).collect(),
    }))
}

fn status_item(account: &AccountId, status: &Value, timestamp: i64) -> Option<IngestItem> {
    let name = text_of(&status["status"])?;
    let parsed = match name.as_str() {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "played" => MessageStatus::Played,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    Some(IngestItem::Status(StatusUpdate {
        account_id: account.clone(),
        wamid: non_empty(text_of(&status["id"]))?,
        status: parsed,
        timestamp,
        recipient_id: text_of(&status["recipient_id"])
            .map(wa_id_form)
            .or_else(|| text_of(&status["recipient_user_id"])),
        error: array(&status["errors"]).next().map(meta_error),
        biz_opaque_callback_data: non_empty(text_of(&status["biz_opaque_callback_data"])),
    }))
}

/// Reads a `message_template_status_update` change of WABA `waba_id`.
pub fn template_status_item(waba_id: &str, value: &Value) -> Option<IngestItem> {
    let reason = non_empty(text_of(&value["rejection_info"]["reason"]))
        .or_else(|| non_empty(text_of(&value["reason"])).filter(|r| r != "NONE"));
    Some(IngestItem::TemplateStatus(TemplateStatusUpdate {
        waba_id: waba_id.to_owned(),
        meta_template_id: text_of(&value["message_template_id"])?,
        name: text_of(&value["message_template_name"]),
        language: text_of(&value["message_template_language"]),
        status: text_of(&value["event"])?,
        reason,
    }))
}

/// What Pons shows and searches for one message type.
struct Content {
    kind: String,
    text: Option<String>,
    caption: Option<String>,
    media: Option<MediaRef>,
}

const KNOWN_TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "order",
    "system",
    "revoke",
    "edit",
    "referral",
    "unsupported",
];

impl Content {
    fn of(kind: &str, message: &Value) -> Content {
        let body = &message[kind];
        let mut content = Content {
            kind: kind.to_owned(),
            text: None,
            caption: None,
            media: None,
        };
        match kind {
            "text" => content.text = text_of(&body["body"]),
            "image" | "video" | "audio" | "document" | "sticker" => {
                content.caption = non_empty(text_of(&body["caption"]));
                let filename = text_of(&body["filename"]);
                content.text = content.caption.clone().or_else(|| filename.clone());
                content.media = Some(MediaRef {
                    media_id: text_of(&body["id"]),
                    mime_type: text_of(&body["mime_type"]),
                    sha256: text_of(&body["sha256"]),
                    filename,
                    url: text_of(&body["url"]),
                    ..MediaRef::default()
                });
            }
            "location" => content.text = location_text(body),
            "contacts" => content.text = shared_contacts_text(body),
            "interactive" => content.text = interactive_text(body),
            "button" => content.text = text_of(&body["text"]),
            "order" => content.text = order_text(body),
            "system" => content.text = text_of(&body["body"]),
            _ if KNOWN_TYPES.contains(&kind) => {}
            _ => content.kind = "unsupported".to_owned(),
        }
        content.text = non_empty(content.text);
        content
    }
}

fn location_text(body: &Value) -> Option<String> {
    let parts: Vec<String> = [&body["name"], &body["address"]]
        .into_iter()
        .filter_map(text_of)
        .collect();
    if !parts.is_empty() {
        return Some(parts.join(", "));
    }
    match (body["latitude"].as_f64(), body["longitude"].as_f64()) {
        (Some(lat), Some(lon)) => Some(format!("Location {lat}, {lon}")),
        _ => None,
    }
}

fn shared_contacts_text(body: &Value) -> Option<String> {
    let cards: Vec<String> = array(body)
        .map(|card| {
            let name = text_of(&card["name"]["formatted_name"]).unwrap_or_default();
            let phones: Vec<String> = array(&card["phones"])
                .filter_map(|p| text_of(&p["phone"]))
                .collect();
            format!("{name} {}", phones.join(" ")).trim().to_owned()
        })
        .collect();
    Some(format!("Shared contact: {}", cards.join("; ")))
}

fn interactive_text(body: &Value) -> Option<String> {
    let reply = match text_of(&body["type"]).as_deref() {
        Some("button_reply") => &body["button_reply"],
        Some("list_reply") => &body["list_reply"],
        Some("nfm_reply") => &body["nfm_reply"],
        _ => return None,
    };
    let parts: Vec<String> = [&reply["title"], &reply["description"], &reply["body"]]
        .into_iter()
        .filter_map(text_of)
        .collect();
    Some(parts.join(" — "))
}

fn order_text(body: &Value) -> Option<String> {
    let items = array(&body["product_items"]).count();
    let note = non_empty(text_of(&body["text"]));
    Some(match note {
        Some(note) => format!("Order of {items} item(s): {note}"),
        None => format!("Order of {items} item(s)"),
    })
}

fn meta_error(error: &Value) -> MetaError {
    MetaError {
        code: error["code"]
            .as_i64()
            .or_else(|| text_of(&error["code"])?.parse().ok()),
        title: text_of(&error["title"]),
        message: text_of(&error["message"]),
        details: text_of(&error["error_data"]["details"]),
    }
}

fn array(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A scalar as text: strings as they are, numbers and booleans printed.
/// NUL becomes U+FFFD, because PostgreSQL text cannot hold it and one NUL
/// would otherwise make Meta's retries of the whole body fail forever.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(s.replace('\0', "\u{fffd}")),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

/// Unix seconds from a string or number; 0 when absent or unreadable, so
/// such an event sorts before every dated one instead of being dropped.
/// Reads a Unix time in seconds, as a number or a string of digits. A
/// missing, unreadable, zero or negative time gives `None`.
fn timestamp_of(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| text_of(value)?.trim().parse().ok())
        .filter(|seconds| *seconds > 0)
}

/// Seconds a timestamp may lie ahead of the webhook's arrival, for clocks
/// that differ a little.
const MAX_FUTURE_SECONDS: i64 = 300;

/// Returns the `timestamp` of a message or status, or `received_at` with a
/// note naming the object's id and the value when it has no valid one or
/// one more than [`MAX_FUTURE_SECONDS`] after the webhook arrived. A time
/// in the future would keep the message last in its conversation and move
/// the reply window's end forward.
fn checked_timestamp(
    value: &Value,
    kind: &str,
    object: &Value,
    received_at: i64,
    notes: &mut Vec<String>,
) -> i64 {
    let id = || echoed(&text_of(&object["id"]).unwrap_or_default());
    match timestamp_of(value) {
        Some(seconds) if seconds <= received_at + MAX_FUTURE_SECONDS => seconds,
        Some(seconds) => {
            notes.push(format!(
                "{kind} \"{}\" has a timestamp {} seconds after the webhook arrived; stored \
                 with the time the webhook arrived",
                id(),
                seconds - received_at
            ));
            received_at
        }
        None => {
            notes.push(format!(
                "{kind} \"{}\" has no valid timestamp ({}); stored with the time the webhook \
                 arrived",
                id(),
                echoed(&value.to_string())
            ));
            received_at
        }
    }
}

/// Returns a customer id from a webhook in the form Meta sends a `wa_id`.
/// A phone number written with `+`, `00`, spaces, dashes, dots or brackets
/// becomes its digits, so that it names the same contact as Meta's form.
/// Any other id, such as a business-scoped user id, is returned unchanged.
fn wa_id_form(id: String) -> String {
    match PhoneNumber::parse(&id) {
        Ok(phone) => phone.digits().to_owned(),
        Err(_) => id,
    }
}

/// Adds a note naming the message and its `from` when `from` is not a phone
/// number as Meta sends one, 8 to 15 digits without `+`. A number written
/// another way is stored as its digits. Anything else is stored as sent and
/// gives a conversation with no phone number or a wrong one. A sender known
/// only by `from_user_id` is expected and gets no note.
fn note_sender_form(message: &Value, notes: &mut Vec<String>) {
    let Some(from) = text_of(&message["from"]) else {
        return;
    };
    if PhoneNumber::from_wa_id(&from).is_some() {
        return;
    }
    let id = echoed(&text_of(&message["id"]).unwrap_or_default());
    match PhoneNumber::parse(&from) {
        Ok(phone) => notes.push(format!(
            "message \"{id}\" has a sender \"{}\" written with separators or a prefix; \
             stored with the sender \"{}\"",
            echoed(&from),
            phone.digits()
        )),
        Err(_) => notes.push(format!(
            "message \"{id}\" has a sender \"{}\" that is not a phone number (expected 8 to 15 \
             digits without \"+\", such as \"15550002222\"); stored with that sender",
            echoed(&from)
        )),
    }
}

fn lenient_string<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(text_of(&Value::deserialize(deserializer)?))
}
