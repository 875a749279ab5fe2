//! Bodies of `POST /{phone-number-id}/messages`.

use serde::{Deserialize, Serialize};

use super::GraphError;
use super::retry::Idempotency;
use super::template::TemplateMessage;

/// Maximum length of a text body, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Maximum length of a media caption, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// Maximum length of `biz_opaque_callback_data`, in bytes.
pub const MAX_CALLBACK_DATA_BYTES: usize = 512;

/// One outbound message. Build it with the constructors and `reply_to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendRequest {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// Always `individual`.
    pub recipient_type: String,
    /// The recipient's phone number with `+` and country code.
    pub to: String,
    #[serde(flatten)]
    pub content: MessageContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReplyContext>,
    /// A string Meta echoes in every status webhook of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
}

/// The type-specific part: `"type":"<t>","<t>":{…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MessageContent {
    Text { text: TextBody },
    Image { image: MediaBody },
    Video { video: MediaBody },
    Audio { audio: MediaBody },
    Document { document: MediaBody },
    Sticker { sticker: MediaBody },
    Reaction { reaction: ReactionBody },
    Template { template: TemplateMessage },
}

/// `text` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextBody {
    pub body: String,
    /// Asks WhatsApp to render a preview of the first URL in the body.
    pub preview_url: bool,
}

/// `image`, `video`, `audio`, `document` or `sticker` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaBody {
    #[serde(flatten)]
    pub source: MediaSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Documents only: the file name shown, whose extension picks the icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Source of the media: exactly one of an uploaded id or a URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaSource {
    Id(String),
    Link(String),
}

/// Media message types, picked from a MIME type by `from_mime_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    /// Chooses the message type for a MIME type: `image/webp` is a sticker,
    /// other `image/*` an image, `video/*` a video, `audio/*` audio, and
    /// everything else a document.
    pub fn from_mime_type(mime_type: &str) -> MediaKind {
        let essence = mime_type.split(';').next().unwrap_or("").trim();
        let essence = essence.to_ascii_lowercase();
        if essence == "image/webp" {
            MediaKind::Sticker
        } else if essence.starts_with("image/") {
            MediaKind::Image
        } else if essence.starts_with("video/") {
            MediaKind::Video
        } else if essence.starts_with("audio/") {
            MediaKind::Audio
        } else {
            MediaKind::Document
        }
    }
}

/// `reaction` object; an empty emoji removes the business's reaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactionBody {
    pub message_id: String,
    pub emoji: String,
}

/// `context` object: the message this one quotes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyContext {
    pub message_id: String,
}

impl SendRequest {
    fn new(to: &str, content: MessageContent) -> SendRequest {
        SendRequest {
            messaging_product: "whatsapp".to_owned(),
            recipient_type: "individual".to_owned(),
            to: to.to_owned(),
            content,
            context: None,
            biz_opaque_callback_data: None,
        }
    }

    /// Builds a text message.
    pub fn text(to: &str, body: &str, preview_url: bool) -> SendRequest {
        let text = TextBody {
            body: body.to_owned(),
            preview_url,
        };
        SendRequest::new(to, MessageContent::Text { text })
    }

    /// Builds a media message. Set `filename` for documents only.
    pub fn media(
        to: &str,
        kind: MediaKind,
        source: MediaSource,
        caption: Option<&str>,
        filename: Option<&str>,
    ) -> SendRequest {
        let body = MediaBody {
            source,
            caption: caption.map(str::to_owned),
            filename: filename.map(str::to_owned),
        };
        let content = match kind {
            MediaKind::Image => MessageContent::Image { image: body },
            MediaKind::Video => MessageContent::Video { video: body },
            MediaKind::Audio => MessageContent::Audio { audio: body },
            MediaKind::Document => MessageContent::Document { document: body },
            MediaKind::Sticker => MessageContent::Sticker { sticker: body },
        };
        SendRequest::new(to, content)
    }

    /// Builds a reaction to `message_id`. An empty `emoji` removes it.
    pub fn reaction(to: &str, message_id: &str, emoji: &str) -> SendRequest {
        let reaction = ReactionBody {
            message_id: message_id.to_owned(),
            emoji: emoji.to_owned(),
        };
        SendRequest::new(to, MessageContent::Reaction { reaction })
    }

    /// Builds a template message.
    pub fn template(to: &str, template: TemplateMessage) -> SendRequest {
        SendRequest::new(to, MessageContent::Template { template })
    }

    /// Makes the message a quoted reply to `message_id`.
    pub fn reply_to(mut self, message_id: &str) -> SendRequest {
        self.context = Some(ReplyContext {
            message_id: message_id.to_owned(),
        });
        self
    }

    /// Sets `biz_opaque_callback_data`, which Meta returns in the status
    /// webhooks of the message even when the send's own response is lost.
    pub fn with_callback_data(mut self, data: &str) -> SendRequest {
        self.biz_opaque_callback_data = Some(data.to_owned());
        self
    }

    /// Returns the wire name of the message type.
    pub fn kind(&self) -> &'static str {
        match &self.content {
            MessageContent::Text { .. } => "text",
            MessageContent::Image { .. } => "image",
            MessageContent::Video { .. } => "video",
            MessageContent::Audio { .. } => "audio",
            MessageContent::Document { .. } => "document",
            MessageContent::Sticker { .. } => "sticker",
            MessageContent::Reaction { .. } => "reaction",
            MessageContent::Template { .. } => "template",
        }
    }

    /// Tells whether repeating the request is harmless. A reaction sets the
    /// business's one reaction to a message, so a repeat sets the same
    /// emoji again. Every other message would be delivered twice.
    pub fn idempotency(&self) -> Idempotency {
        match &self.content {
            MessageContent::Reaction { .. } => Idempotency::Idempotent,
            _ => Idempotency::NotIdempotent,
        }
    }

    /// Checks the rules Meta would reject the request for, so that a bad
    /// request fails before it is sent.
    pub fn validate(&self) -> Result<(), GraphError> {
        let invalid = |text: String| Err(GraphError::InvalidRequest(text));
        if self.to.trim().is_empty() {
            return invalid("the recipient `to` is empty".into());
        }
        if let Some(data) = &self.biz_opaque_callback_data
            && data.len() > MAX_CALLBACK_DATA_BYTES
        {
            return invalid(format!(
                "biz_opaque_callback_data has {} bytes; the maximum is {MAX_CALLBACK_DATA_BYTES}",
                data.len()
            ));
        }
        match &self.content {
            MessageContent::Text { text } => {
                if text.body.trim().is_empty() {
                    return invalid("the text body is empty".into());
                }
                let chars = text.body.chars().count();
                if chars > MAX_TEXT_CHARS {
                    return invalid(format!(
                        "the text body has {chars} characters; the maximum is {MAX_TEXT_CHARS}"
                    ));
                }
            }
            MessageContent::Image { image: body } | MessageContent::Video { video: body } => {
                validate_media(body, true, false)?
            }
            MessageContent::Document { document } => validate_media(document, true, true)?,
            MessageContent::Audio { audio: body } | MessageContent::Sticker { sticker: body } => {
                validate_media(body, false, false)?
            }
            MessageContent::Reaction { reaction } => {
                if reaction.message_id.trim().is_empty() {
                    return invalid("the reaction has no message_id".into());
                }
                if self.context.is_some() {
                    return invalid("a reaction cannot be a reply (context)".into());
                }
            }
            MessageContent::Template { template } => template.validate()?,
        }
        Ok(())
    }
}

fn validate_media(body: &MediaBody, caption: bool, filename: bool) -> Result<(), GraphError> {
    let invalid = |text: &str| Err(GraphError::InvalidRequest(text.to_owned()));
    match &body.source {
        MediaSource::Id(id) if id.trim().is_empty() => return invalid("the media id is empty"),
        MediaSource::Link(link)
            if !(link.starts_with("https://") || link.starts_with("http://")) =>
        {
            return invalid("the media link must be an http:// or https:// URL");
        }
        _ => {}
    }
    match &body.caption {
        Some(_) if !caption => return invalid("audio and stickers cannot have a caption"),
        Some(text) if text.chars().count() > MAX_CAPTION_CHARS => {
            return Err(GraphError::InvalidRequest(format!(
                "the caption is longer than {MAX_CAPTION_CHARS} characters"
            )));
        }
        _ => {}
    }
    if body.filename.is_some() && !filename {
        return invalid("only documents can have a filename");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reactions_may_be_repeated() {
        let reaction = SendRequest::reaction("15550001111", "wamid.A", "👍");
        assert_eq!(reaction.idempotency(), Idempotency::Idempotent);
        let text = SendRequest::text("15550001111", "Hi", false);
        assert_eq!(text.idempotency(), Idempotency::NotIdempotent);
    }

    #[test]
    fn media_kind_from_mime() {
        assert_eq!(MediaKind::from_mime_type("image/jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::from_mime_type("image/webp"), MediaKind::Sticker);
        assert_eq!(MediaKind::from_mime_type("VIDEO/mp4"), MediaKind::Video);
        assert_eq!(
            MediaKind::from_mime_type("audio/ogg; codecs=opus"),
            MediaKind::Audio
        );
        assert_eq!(
            MediaKind::from_mime_type("application/pdf"),
            MediaKind::Document
        );
    }

    #[test]
    fn validate_rejects_bad_requests() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(SendRequest::text("+1555", &long, false).validate().is_err());
        assert!(SendRequest::text("+1555", " ", false).validate().is_err());
        let audio = SendRequest::media(
            "+1555",
            MediaKind::Audio,
            MediaSource::Link("https://example.com/a.ogg".into()),
            Some("caption"),
            None,
        );
        assert!(audio.validate().is_err());
        let image = SendRequest::media(
            "+1555",
            MediaKind::Image,
            MediaSource::Link("ftp://example.com/a.png".into()),
            None,
            None,
        );
        assert!(image.validate().is_err());
        let reaction = SendRequest::reaction("+1555", "wamid.A", "👍").reply_to("wamid.B");
        assert!(reaction.validate().is_err());
        assert!(
            SendRequest::reaction("+1555", "wamid.A", "")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn callback_data_serialized_and_limited() {
        let plain = serde_json::to_value(SendRequest::text("+1555", "hi", false)).unwrap();
        assert!(plain.get("biz_opaque_callback_data").is_none(), "{plain}");

        let tracked = SendRequest::text("+1555", "hi", false).with_callback_data("msg-1");
        let json = serde_json::to_value(&tracked).unwrap();
        assert_eq!(json["biz_opaque_callback_data"], "msg-1");
        assert!(tracked.validate().is_ok());

        let longest = "x".repeat(MAX_CALLBACK_DATA_BYTES);
        let at_limit = SendRequest::text("+1555", "hi", false).with_callback_data(&longest);
        assert!(at_limit.validate().is_ok());
        let too_long = format!("{longest}x");
        let over = SendRequest::text("+1555", "hi", false).with_callback_data(&too_long);
        assert!(over.validate().is_err());
    }
}
