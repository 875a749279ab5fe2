//! The free-form send tools, `send_text` and `send_media`. Both are
//! refused while the 24-hour window is closed.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::echo::echoed;
use crate::store::MediaRef;
use crate::whatsapp::graph::{
    MAX_CAPTION_CHARS, MAX_TEXT_CHARS, MediaKind, MediaSource, SendRequest,
};

use super::media_types::{accepted_list, kind_name, media_type};
use super::send::{Outgoing, Recipient, SendOutput, deliver, resolve_recipient};
use super::window::require_open_window;
use super::{SEND_MEDIA, SEND_TEXT, ToolContext, ToolError, guide, non_blank, require};

/// Arguments of `send_text`. `phone` and `text` are required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTextArgs {
    /// Sender number (E.164, for example +15550001111) or account id. It may
    /// be omitted when this key reaches one account.
    pub from: Option<String>,
    /// The customer's phone number with country code, in any common form.
    pub phone: Option<String>,
    /// The message, at most 4096 characters. A link in it gets a preview.
    pub text: Option<String>,
    /// wamid of a message in this conversation to quote in the reply.
    pub reply_to_message_id: Option<String>,
}

/// Sends a text message inside the 24-hour window.
pub async fn send_text(cx: &ToolContext<'_>, args: SendTextArgs) -> Result<SendOutput, ToolError> {
    require(cx.principal, SEND_TEXT)?;
    let recipient =
        resolve_recipient(cx, SEND_TEXT, args.from.as_deref(), args.phone.as_deref()).await?;
    require_open_window(cx, SEND_TEXT, &recipient).await?;
    let Some(text) = args.text.filter(|t| !t.trim().is_empty()) else {
        return Err(ToolError::MissingArgument {
            tool: SEND_TEXT,
            argument: "text",
            hint: format!("pass the message text, at most {MAX_TEXT_CHARS} characters"),
        });
    };
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ToolError::InvalidArgument {
            argument: "text",
            reason: format!(
                "it has {chars} characters and WhatsApp allows {MAX_TEXT_CHARS}; split it into \
                 several messages"
            ),
        });
    }
    let context = reply_context(cx, &recipient, args.reply_to_message_id.as_deref()).await?;
    let preview = text.contains("http://") || text.contains("https://");
    let mut request = SendRequest::text(&recipient.phone.e164(), &text, preview);
    if let Some(wamid) = &context {
        request = request.reply_to(wamid);
    }
    let outgoing = Outgoing {
        request,
        text: Some(text),
        caption: None,
        media: None,
        context_wamid: context,
    };
    deliver(cx, &recipient, outgoing).await
}

/// Checks that the quoted message belongs to the recipient's conversation.
async fn reply_context(
    cx: &ToolContext<'_>,
    recipient: &Recipient,
    wamid: Option<&str>,
) -> Result<Option<String>, ToolError> {
    let Some(wamid) = non_blank(wamid) else {
        return Ok(None);
    };
    let account = std::slice::from_ref(&recipient.account);
    let found = cx
        .store
        .find_message_by_wamid(std::slice::from_ref(&recipient.account.id), wamid)
        .await?;
    let in_conversation = match (&found, &recipient.conversation) {
        (Some((_, message)), Some(conversation)) => message.conversation_id == conversation.id,
        _ => false,
    };
    if !in_conversation {
        return Err(ToolError::MessageNotFound {
            wamid: echoed(wamid),
            hint: format!(
                "`replyToMessageId` must be the wamid of a message in the conversation with {}. \
                 {}",
                recipient.phone.e164(),
                guide::recent_messages(cx, account, false).await?
            ),
        });
    }
    Ok(Some(wamid.to_owned()))
}

/// Arguments of `send_media`. `phone`, `url` and `mimeType` are required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMediaArgs {
    /// Sender number (E.164, for example +15550001111) or account id. It may
    /// be omitted when this key reaches one account.
    pub from: Option<String>,
    /// The customer's phone number with country code, in any common form.
    pub phone: Option<String>,
    /// Public https:// URL Meta downloads the file from.
    pub url: Option<String>,
    /// MIME type of the file, which picks the message type: image/jpeg or
    /// image/png (5 MB), video/mp4 or video/3gpp (16 MB), audio/aac,
    /// audio/amr, audio/mpeg, audio/mp4 or audio/ogg (16 MB), or a PDF, text
    /// or Office document (100 MB).
    pub mime_type: Option<String>,
    /// File name shown for a document. Only documents take one.
    pub filename: Option<String>,
    /// Caption under an image, video or document, at most 1024 characters.
    pub caption: Option<String>,
    /// Size of the file in bytes, when known, checked against the type's limit.
    pub size_bytes: Option<u64>,
}

/// Sends an image, video, audio or document by URL inside the 24-hour window.
pub async fn send_media(
    cx: &ToolContext<'_>,
    args: SendMediaArgs,
) -> Result<SendOutput, ToolError> {
    require(cx.principal, SEND_MEDIA)?;
    let recipient =
        resolve_recipient(cx, SEND_MEDIA, args.from.as_deref(), args.phone.as_deref()).await?;
    require_open_window(cx, SEND_MEDIA, &recipient).await?;
    let url = checked_url(non_blank(args.url.as_deref()))?;
    let Some(mime_type) = non_blank(args.mime_type.as_deref()) else {
        return Err(ToolError::MissingArgument {
            tool: SEND_MEDIA,
            argument: "mimeType",
            hint: format!("pass the file's MIME type: {}", accepted_list()),
        });
    };
    let media = media_type(mime_type).map_err(|reason| ToolError::InvalidArgument {
        argument: "mimeType",
        reason,
    })?;
    if let Some(size) = args.size_bytes
        && size > media.max_bytes
    {
        return Err(ToolError::InvalidArgument {
            argument: "sizeBytes",
            reason: format!(
                "{size} bytes is more than WhatsApp accepts for {} ({} bytes)",
                media.essence, media.max_bytes
            ),
        });
    }
    let caption = non_blank(args.caption.as_deref());
    let filename = non_blank(args.filename.as_deref());
    check_extras(media.kind, caption, filename)?;
    let request = SendRequest::media(
        &recipient.phone.e164(),
        media.kind,
        MediaSource::Link(url.clone()),
        caption,
        filename,
    );
    let outgoing = Outgoing {
        request,
        text: None,
        caption: caption.map(str::to_owned),
        media: Some(MediaRef {
            url: Some(url),
            mime_type: Some(media.essence),
            filename: filename.map(str::to_owned),
            ..MediaRef::default()
        }),
        context_wamid: None,
    };
    deliver(cx, &recipient, outgoing).await
}

fn checked_url(url: Option<&str>) -> Result<String, ToolError> {
    let Some(url) = url else {
        return Err(ToolError::MissingArgument {
            tool: SEND_MEDIA,
            argument: "url",
            hint: "pass a public https:// URL that Meta can download the file from".to_owned(),
        });
    };
    let parsed = reqwest::Url::parse(url).ok();
    match parsed {
        // The parsed form lower-cases the scheme and host, as Meta expects.
        Some(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {
            Ok(parsed.to_string())
        }
        _ => Err(ToolError::InvalidArgument {
            argument: "url",
            reason: format!(
                "{:?} is not an https:// URL; Meta downloads media only from public HTTPS \
                 addresses",
                echoed(url)
            ),
        }),
    }
}

/// Checks the caption and file name against what the message type allows.
fn check_extras(
    kind: MediaKind,
    caption: Option<&str>,
    filename: Option<&str>,
) -> Result<(), ToolError> {
    if caption.is_some() && kind == MediaKind::Audio {
        return Err(ToolError::InvalidArgument {
            argument: "caption",
            reason: "audio messages cannot have a caption; send the text with send_text".to_owned(),
        });
    }
    if let Some(caption) = caption
        && caption.chars().count() > MAX_CAPTION_CHARS
    {
        return Err(ToolError::InvalidArgument {
            argument: "caption",
            reason: format!("it is longer than {MAX_CAPTION_CHARS} characters"),
        });
    }
    if filename.is_some() && kind != MediaKind::Document {
        return Err(ToolError::InvalidArgument {
            argument: "filename",
            reason: format!(
                "only documents show a file name, and this file is sent as {}; leave it out",
                kind_name(kind)
            ),
        });
    }
    Ok(())
}
