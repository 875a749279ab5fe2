//! The response of `POST /{phone-number-id}/messages`.

use serde::Deserialize;

/// Meta's response to an accepted send: accepted, not yet delivered.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SendResponse {
    #[serde(default)]
    pub messaging_product: Option<String>,
    #[serde(default)]
    pub contacts: Vec<SendContact>,
    pub messages: Vec<SentMessage>,
}

impl SendResponse {
    /// Returns the wamid of the accepted message.
    pub fn wamid(&self) -> &str {
        self.messages.first().map(|m| m.id.as_str()).unwrap_or("")
    }

    /// Returns the recipient's WhatsApp id as Meta resolved it, trimmed.
    pub fn wa_id(&self) -> Option<&str> {
        self.contacts
            .first()
            .and_then(|c| c.wa_id.as_deref())
            .map(str::trim)
    }
}

/// `contacts[]` of a send response.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SendContact {
    /// The `to` value as sent.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub wa_id: Option<String>,
    /// Business-scoped user id, for sends to one.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `messages[]` of a send response.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SentMessage {
    pub id: String,
    /// `accepted`, `held_for_quality_assessment` or `paused`, for paced
    /// templates only.
    #[serde(default)]
    pub message_status: Option<String>,
}
