//! Output shapes shared by the read tools, and the conversions from store
//! rows: ISO 8601 UTC times, phone numbers with `+`, and 24h-window status.

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::media_out::{MediaOut, cut_file_name};
use crate::phone::PhoneNumber;
use crate::shorten::shorten;
use crate::store::{
    Account, ConversationSummary, Message, MetaError, UnixTime, cut_preview, message_preview,
};
use crate::whatsapp::graph::{MAX_CAPTION_CHARS, MAX_TEXT_CHARS};

/// Formats Unix seconds as ISO 8601 UTC, for example `2025-06-15T10:00:00Z`.
/// Returns `None` for a time outside chrono's range, which no real row holds.
pub fn format_time(time: UnixTime) -> Option<String> {
    DateTime::<Utc>::from_timestamp(time, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Formats Unix seconds as [`format_time`] does, or as the number of
/// seconds for a time outside chrono's range, for messages.
pub fn time_text(time: UnixTime) -> String {
    format_time(time).unwrap_or_else(|| time.to_string())
}

/// `+` and the digits for a WhatsApp id that is a phone number as Meta
/// sends one. `None` for a business-scoped user id or any other id; the
/// webhook's log entry notes such a sender when it arrives.
fn phone_of(wa_id: &str) -> Option<String> {
    PhoneNumber::from_wa_id(wa_id).map(|phone| phone.e164())
}

/// Maximum length of a profile name shown in summaries and lists of
/// choices, in characters.
const NAME_CHARS: usize = 64;

/// Returns the customer's profile name for a summary or a list of choices,
/// quoted and escaped like message text, because the customer chose it and
/// it may contain line breaks or text that reads like instructions. A
/// longer name is shortened to `NAME_CHARS` characters. `(no name)` when there is
/// none.
pub fn quoted_name(name: Option<&str>) -> String {
    match name {
        Some(name) => crate::echo::quoted_visible(&shorten(name, NAME_CHARS)),
        None => "(no name)".to_owned(),
    }
}

/// A WhatsApp business number the caller may act on.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountOut {
    /// Account id, usable as `from`.
    pub id: String,
    /// E.164 number with `+`, usable as `from`.
    pub phone: String,
    pub name: String,
}

impl From<&Account> for AccountOut {
    fn from(account: &Account) -> Self {
        AccountOut {
            id: account.id.to_string(),
            phone: format!("+{}", account.phone_number),
            name: account.name.clone(),
        }
    }
}

/// The customer in a conversation.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactOut {
    /// WhatsApp profile name, when the customer shared one.
    pub name: Option<String>,
    /// E.164 number with `+`; `null` when Meta sent only a business-scoped user id.
    pub phone: Option<String>,
    /// Meta's id for the customer: the phone digits or a business-scoped user id.
    pub wa_id: String,
}

/// Maximum characters of a customer's profile name in tool output. A longer
/// name is cut with `…`, so that one crafted webhook cannot fill every list
/// that shows the contact.
const MAX_NAME_CHARS: usize = 256;

/// Tells serde to leave out a flag that is `false`.
pub(super) fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Maximum characters of a customer's reaction in tool output. The longest
/// emoji sequences have about ten characters, so this cuts only crafted ones.
const MAX_REACTION_CHARS: usize = 32;

/// A message's text and caption as tool output shows them. The text is
/// shortened to `MAX_TEXT_CHARS` (or, when it copies a caption,
/// `MAX_CAPTION_CHARS`) and the caption to `MAX_CAPTION_CHARS` characters,
/// WhatsApp's limits for a text body and a media caption, the `…` at the
/// end included. Only a crafted webhook carries longer ones. The limits are
/// the same for both directions, and the store keeps the whole text.
pub(super) struct MessageBody {
    pub text: Option<String>,
    pub caption: Option<String>,
    pub text_cut: bool,
    pub caption_cut: bool,
}

impl MessageBody {
    pub(super) fn of(message: &Message) -> Self {
        // The text of a message with a caption is a copy of the caption,
        // so both are cut alike.
        let text_limit = if message.caption.is_some() {
            MAX_CAPTION_CHARS
        } else {
            MAX_TEXT_CHARS
        };
        let (text, text_cut) = cut_field(message.text.as_deref(), text_limit);
        let (caption, caption_cut) = cut_field(message.caption.as_deref(), MAX_CAPTION_CHARS);
        MessageBody {
            text,
            caption,
            text_cut,
            caption_cut,
        }
    }
}

/// Returns `value` shortened to `max_chars` characters, and whether it was longer.
fn cut_field(value: Option<&str>, max_chars: usize) -> (Option<String>, bool) {
    let Some(value) = value else {
        return (None, false);
    };
    let longer = value.chars().nth(max_chars).is_some();
    (Some(shorten(value, max_chars)), longer)
}

impl ContactOut {
    pub(super) fn new(name: Option<String>, wa_id: &str) -> Self {
        ContactOut {
            name: name.map(|name| shorten(&name, MAX_NAME_CHARS)),
            phone: phone_of(wa_id),
            wa_id: wa_id.to_owned(),
        }
    }
}

/// The 24-hour customer service window, during which free-form messages may be sent.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowOut {
    pub open: bool,
    /// When the window closes (or closed); `null` if the customer never wrote.
    pub expires_at: Option<String>,
}

impl WindowOut {
    fn new(expires_at: Option<UnixTime>, now: UnixTime) -> Self {
        WindowOut {
            open: expires_at.is_some_and(|t| t > now),
            expires_at: expires_at.and_then(format_time),
        }
    }
}

/// The newest message of a conversation.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastMessageOut {
    pub time: Option<String>,
    /// `inbound` (from the customer) or `outbound` (from the business).
    pub direction: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Its text, else its caption, else its type in brackets, shortened to
    /// 200 characters, the `…` at its end included.
    pub preview: Option<String>,
    pub wamid: Option<String>,
}

/// One conversation between an account and a customer.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationOut {
    /// Conversation id, usable as `conversationId`.
    pub id: String,
    pub account_id: String,
    /// The business number of the account, with `+`.
    pub account_phone: Option<String>,
    pub contact: ContactOut,
    pub unread_count: i64,
    pub window: WindowOut,
    pub last_message: LastMessageOut,
    pub archived: bool,
}

impl ConversationOut {
    /// Builds the output row; `accounts` supplies the business number.
    pub fn new(summary: &ConversationSummary, accounts: &[Account], now: UnixTime) -> Self {
        let account_phone = accounts
            .iter()
            .find(|a| a.id == summary.account_id)
            .map(|a| format!("+{}", a.phone_number));
        ConversationOut {
            id: summary.id.to_string(),
            account_id: summary.account_id.to_string(),
            account_phone,
            contact: ContactOut::new(summary.contact_name.clone(), &summary.wa_id),
            unread_count: summary.unread_count,
            window: WindowOut::new(summary.window_expires_at, now),
            last_message: LastMessageOut {
                time: summary.last_message_at.and_then(format_time),
                direction: summary
                    .last_message_direction
                    .map(|d| d.as_str().to_owned()),
                kind: summary.last_message_type.clone(),
                // Rows stored before previews were cut may hold a whole message.
                preview: summary.last_message_preview.as_deref().map(cut_preview),
                wamid: summary.last_message_wamid.clone(),
            },
            archived: summary.archived,
        }
    }
}

/// A conversation whose newest message came from the customer.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnansweredOut {
    pub conversation_id: String,
    pub account_id: String,
    pub account_phone: Option<String>,
    pub contact: ContactOut,
    pub window: WindowOut,
    pub unread_count: i64,
    /// Time of the customer's last message.
    pub received_at: Option<String>,
    /// Seconds since the customer's last message.
    pub waiting_seconds: Option<i64>,
    /// The last inbound text, shortened to 200 characters with `…`, or its type (`image`,
    /// `audio`, …) when it has none. get_conversation shows up to 4,096
    /// characters of it.
    pub text: Option<String>,
    /// Whether `text` was shortened to 200 characters; left out when it was not.
    #[serde(skip_serializing_if = "is_false")]
    pub text_cut: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Meta's id of the last inbound message, usable for read receipts and reactions.
    pub wamid: Option<String>,
    /// `true` when the business replied after that message and every reply
    /// failed; get_conversation shows Meta's error of each.
    pub reply_failed: bool,
    /// Set with updateConversation. The `archived` argument filters on it.
    pub archived: bool,
}

impl UnansweredOut {
    /// Builds the output row; `accounts` supplies the business number.
    pub fn new(summary: &ConversationSummary, accounts: &[Account], now: UnixTime) -> Self {
        let conversation = ConversationOut::new(summary, accounts, now);
        let last = conversation.last_message;
        UnansweredOut {
            conversation_id: conversation.id,
            account_id: conversation.account_id,
            account_phone: conversation.account_phone,
            contact: conversation.contact,
            window: conversation.window,
            unread_count: conversation.unread_count,
            received_at: last.time,
            waiting_seconds: summary.last_message_at.map(|t| (now - t).max(0)),
            // Only the stored preview, not the shortened one, shows whether
            // the text was longer than a preview.
            text_cut: summary
                .last_message_preview
                .as_deref()
                .is_some_and(crate::store::preview_was_cut),
            text: last.preview.or_else(|| last.kind.clone()),
            kind: last.kind,
            wamid: last.wamid,
            reply_failed: false,
            archived: conversation.archived,
        }
    }

    /// Builds the output row of a conversation whose replies after the
    /// customer's message `inbound` all failed.
    pub fn after_failed_reply(
        summary: &ConversationSummary,
        inbound: &Message,
        accounts: &[Account],
        now: UnixTime,
    ) -> Self {
        let summary = ConversationSummary {
            last_message_at: Some(inbound.timestamp),
            last_message_preview: Some(message_preview(
                inbound.text.as_deref(),
                inbound.caption.as_deref(),
                &inbound.kind,
            )),
            last_message_direction: Some(inbound.direction),
            last_message_type: Some(inbound.kind.clone()),
            last_message_wamid: inbound.wamid.clone(),
            ..summary.clone()
        };
        UnansweredOut {
            reply_failed: true,
            ..UnansweredOut::new(&summary, accounts, now)
        }
    }
}

/// Meta's error on a failed message.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageErrorOut {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

impl From<&MetaError> for MessageErrorOut {
    fn from(error: &MetaError) -> Self {
        MessageErrorOut {
            code: error.code,
            title: error.title.clone(),
            message: error.message.clone(),
            details: error.details.clone(),
        }
    }
}

/// One message of a conversation. Optional fields without a value and
/// flags that are `false` are left out, which shortens a page of 50 text
/// messages by about 40 % for the assistant that reads it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    /// Meta's message id; `null` for an outbound message not yet accepted by Meta.
    pub wamid: Option<String>,
    /// `inbound` (from the customer) or `outbound` (from the business).
    pub direction: String,
    pub time: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// The text body, or for other types the caption, file name or a
    /// summary. A longer one is shortened to 4,096 characters (a caption's
    /// copy to 1,024), the `…` at its end included.
    pub text: Option<String>,
    /// The media caption. A longer one is shortened to 1,024 characters,
    /// the `…` at its end included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Whether `text` was cut. WhatsApp allows at most 4,096 characters.
    #[serde(skip_serializing_if = "is_false")]
    pub text_cut: bool,
    /// Whether `caption` was cut. WhatsApp allows at most 1,024 characters.
    #[serde(skip_serializing_if = "is_false")]
    pub caption_cut: bool,
    /// `received` for inbound; `pending`, `sent`, `delivered`, `read`, `played` or `failed` for outbound.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageErrorOut>,
    /// The customer's current reaction emoji to this message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    /// The business's current reaction emoji to this message, set with send_reaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_reaction: Option<String>,
    /// The wamid of the message this one replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_wamid: Option<String>,
    /// The same as `media.mimeType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_mime_type: Option<String>,
    /// The same as `media.fileName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_filename: Option<String>,
    /// The attached file of a media message; absent for other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaOut>,
    /// The approved template an outbound template message was sent with;
    /// `text` then contains its body with the values filled in. Absent for
    /// other messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateOut>,
}

/// The template of a sent template message.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TemplateOut {
    pub name: String,
    /// The language code, such as `en_US`.
    pub language: String,
}

impl From<&Message> for MessageOut {
    fn from(message: &Message) -> Self {
        let media = message.media.as_ref();
        let body = MessageBody::of(message);
        MessageOut {
            id: message.id.to_string(),
            wamid: message.wamid.clone(),
            direction: message.direction.as_str().to_owned(),
            time: format_time(message.timestamp),
            kind: message.kind.clone(),
            text: body.text,
            caption: body.caption,
            text_cut: body.text_cut,
            caption_cut: body.caption_cut,
            status: message.status.as_str().to_owned(),
            error: message.error.as_ref().map(MessageErrorOut::from),
            reaction: message
                .reaction
                .as_deref()
                .map(|reaction| shorten(reaction, MAX_REACTION_CHARS)),
            business_reaction: message.business_reaction.clone(),
            reply_to_wamid: message.context_wamid.clone(),
            media_mime_type: media.and_then(|m| m.mime_type.clone()),
            media_filename: media.and_then(|m| m.filename.as_deref().map(cut_file_name)),
            media: MediaOut::of(message),
            template: message.template.as_ref().map(|template| TemplateOut {
                name: template.name.clone(),
                language: template.language.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Direction;

    #[test]
    fn long_reactions_are_cut() {
        let message = |reaction: &str| Message {
            id: crate::store::MessageId("m1".to_owned()),
            conversation_id: crate::store::ConversationId("c1".to_owned()),
            wamid: Some("wamid.1".to_owned()),
            direction: crate::store::Direction::Inbound,
            kind: "text".to_owned(),
            text: Some("Hi".to_owned()),
            caption: None,
            status: crate::store::MessageStatus::Received,
            timestamp: 1_750_000_000,
            context_wamid: None,
            error: None,
            reaction: Some(reaction.to_owned()),
            business_reaction: None,
            media: None,
            template: None,
        };
        let family = "👨‍👩‍👧‍👦";
        assert_eq!(
            MessageOut::from(&message(family)).reaction.as_deref(),
            Some(family)
        );
        let crafted = MessageOut::from(&message(&"😀".repeat(5_000))).reaction;
        let crafted = crafted.unwrap();
        assert_eq!(crafted.chars().count(), MAX_REACTION_CHARS);
        assert!(crafted.ends_with('…'), "{crafted}");
    }

    fn message_with(direction: Direction, text: &str, caption: Option<&str>) -> Message {
        Message {
            direction,
            kind: if caption.is_some() { "image" } else { "text" }.to_owned(),
            text: Some(text.to_owned()),
            caption: caption.map(str::to_owned),
            ..Message::test_message()
        }
    }

    #[test]
    fn long_texts_are_cut_both_ways() {
        let huge = "é".repeat(3_000_000);
        for direction in [Direction::Inbound, Direction::Outbound] {
            let output = MessageOut::from(&message_with(direction, &huge, None));
            let text = output.text.unwrap();
            assert_eq!(text.chars().count(), MAX_TEXT_CHARS, "{direction:?}");
            assert!(text.ends_with('…'), "{direction:?}");
            assert!(output.text_cut, "{direction:?}");
            assert_eq!(output.caption, None, "{direction:?}");
            assert!(!output.caption_cut, "{direction:?}");
        }
    }

    #[test]
    fn long_captions_are_cut() {
        let caption = "c".repeat(MAX_CAPTION_CHARS + 1);
        let output = MessageOut::from(&message_with(Direction::Inbound, &caption, Some(&caption)));
        let cut_caption = output.caption.unwrap();
        assert_eq!(
            cut_caption,
            format!("{}…", "c".repeat(MAX_CAPTION_CHARS - 1))
        );
        assert!(output.caption_cut);
        assert_eq!(output.text, Some(cut_caption));
        assert!(output.text_cut, "the text copies the caption");
    }

    #[test]
    fn texts_at_the_limit_stay_whole() {
        let text = "t".repeat(MAX_TEXT_CHARS);
        let output = MessageOut::from(&message_with(Direction::Outbound, &text, None));
        assert_eq!(output.text.as_deref(), Some(text.as_str()));
        assert!(!output.text_cut);

        let caption = "😀".repeat(MAX_CAPTION_CHARS);
        let output = MessageOut::from(&message_with(Direction::Outbound, &caption, Some(&caption)));
        assert_eq!(output.text.as_deref(), Some(caption.as_str()));
        assert_eq!(output.caption.as_deref(), Some(caption.as_str()));
        assert!(!output.text_cut);
        assert!(!output.caption_cut);
        let json = serde_json::to_value(&output).unwrap();
        assert_eq!(json.get("textCut"), None, "a false flag is left out");
        assert_eq!(json.get("captionCut"), None, "a false flag is left out");
    }

    #[test]
    fn template_shown_only_when_known() {
        let plain = serde_json::to_value(MessageOut::from(&Message::test_message())).unwrap();
        assert_eq!(plain.get("template"), None, "{plain}");

        let sent = Message {
            direction: Direction::Outbound,
            kind: "template".to_owned(),
            template: Some(crate::store::TemplateRef {
                name: "order_update".to_owned(),
                language: "en_US".to_owned(),
            }),
            ..Message::test_message()
        };
        let output = serde_json::to_value(MessageOut::from(&sent)).unwrap();
        assert_eq!(
            output["template"],
            serde_json::json!({"name": "order_update", "language": "en_US"})
        );
    }

    #[test]
    fn long_names_are_cut() {
        let short = ContactOut::new(Some("Ana 😀".to_owned()), "4930123456");
        assert_eq!(short.name.as_deref(), Some("Ana 😀"));
        let long = ContactOut::new(Some("n".repeat(100_000)), "4930123456");
        let name = long.name.unwrap();
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
        assert!(name.ends_with('…'), "{name}");
    }

    #[test]
    fn cuts_keep_family_emoji_whole() {
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let name = format!("{}{family}", "n".repeat(MAX_NAME_CHARS - 3));
        let cut = ContactOut::new(Some(name), "4930123456").name.unwrap();
        assert_eq!(cut, format!("{}…", "n".repeat(MAX_NAME_CHARS - 3)));

        let text = format!("{}{family}x", "t".repeat(MAX_TEXT_CHARS - 3));
        let output = MessageOut::from(&message_with(Direction::Inbound, &text, None));
        assert_eq!(
            output.text.unwrap(),
            format!("{}…", "t".repeat(MAX_TEXT_CHARS - 3))
        );
        assert!(output.text_cut);

        let quoted = quoted_name(Some(&format!("{}{family}", "q".repeat(NAME_CHARS - 2))));
        assert_eq!(quoted, format!("\"{}…\"", "q".repeat(NAME_CHARS - 2)));
    }

    #[test]
    fn format_time_is_iso_utc() {
        assert_eq!(
            format_time(1_749_981_600).as_deref(),
            Some("2025-06-15T10:00:00Z")
        );
    }

    #[test]
    fn phone_only_for_digit_ids() {
        assert_eq!(phone_of("15550001111").as_deref(), Some("+15550001111"));
        assert_eq!(phone_of("US.13491208655302741918"), None);
        assert_eq!(phone_of(""), None);
    }

    #[test]
    fn window_open_until_expiry() {
        assert!(WindowOut::new(Some(101), 100).open);
        assert!(!WindowOut::new(Some(100), 100).open);
        assert!(!WindowOut::new(None, 100).open);
        assert_eq!(WindowOut::new(None, 100).expires_at, None);
    }
}
