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
use super::window::{FreeForm, require_open_window};
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
    require_open_window(cx, FreeForm::Text, &recipient).await?;
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
    if !has_visible_character(&text) {
        return Err(ToolError::InvalidArgument {
            argument: "text",
            reason: format!(
                "\"{}\" has no visible character, only spaces or invisible characters such as \
                 U+200B, so the customer would see an empty message; write the message text",
                echoed(&text)
            ),
        });
    }
    reject_control_characters("text", &text, "a chat message", true)?;
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
/// Without `read`, a message of another conversation gets the same error
/// as a wamid that does not exist, so the error reveals nothing about them.
async fn reply_context(
    cx: &ToolContext<'_>,
    recipient: &Recipient,
    wamid: Option<&str>,
) -> Result<Option<String>, ToolError> {
    let Some(wamid) = non_blank(wamid) else {
        return Ok(None);
    };
    let found = cx
        .store
        .find_message_by_wamid(std::slice::from_ref(&recipient.account.id), wamid)
        .await?;
    let in_conversation = match (&found, &recipient.conversation) {
        (Some((_, message)), Some(conversation)) => message.conversation_id == conversation.id,
        _ => false,
    };
    if !in_conversation {
        let choices = match &recipient.conversation {
            Some(conversation) => guide::conversation_messages(cx, conversation).await?,
            None => "The customer has no conversation with this account yet.".to_owned(),
        };
        let rule = format!(
            "`replyToMessageId` must be the wamid of a message in the conversation with {}. \
             {choices}",
            recipient.phone.e164(),
        );
        if found.is_some() && guide::can_read(cx) {
            return Err(ToolError::InvalidArgument {
                argument: "replyToMessageId",
                reason: format!(
                    "{} is a message of another conversation of this account; {rule}",
                    echoed(wamid)
                ),
            });
        }
        return Err(ToolError::MessageNotFound {
            wamid: echoed(wamid),
            hint: rule,
        });
    }
    Ok(Some(wamid.to_owned()))
}

/// Maximum length of a media link, in characters. NOTE: Meta's reference
/// for media messages gives no maximum, so this limit is an assumption.
pub(super) const MAX_LINK_CHARS: usize = 2048;

/// Maximum length of a document's file name, in characters. NOTE: Meta's
/// reference for document messages gives no maximum for `filename`, so
/// this limit is an assumption.
pub(super) const MAX_FILENAME_CHARS: usize = 240;

/// Arguments of `send_media`. `phone`, `url` and `mimeType` are required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMediaArgs {
    /// Sender number (E.164, for example +15550001111) or account id. It may
    /// be omitted when this key reaches one account.
    pub from: Option<String>,
    /// The customer's phone number with country code, in any common form.
    pub phone: Option<String>,
    /// Public https:// URL Meta downloads the file from, at most 2048 characters.
    pub url: Option<String>,
    /// MIME type of the file, which picks the message type: image/jpeg or
    /// image/png (5 MB), video/mp4 or video/3gpp (16 MB), audio/aac,
    /// audio/amr, audio/mpeg, audio/mp4 or audio/ogg (16 MB), or a PDF, text
    /// or Office document (100 MB).
    pub mime_type: Option<String>,
    /// File name shown for a document, at most 240 characters. Only
    /// documents take one.
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
    require_open_window(cx, FreeForm::Media, &recipient).await?;
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
    if args.size_bytes == Some(0) {
        return Err(ToolError::InvalidArgument {
            argument: "sizeBytes",
            reason: "0 bytes is an empty file, which WhatsApp cannot deliver; pass the file's \
                     size, or leave sizeBytes out when it is not known"
                .to_owned(),
        });
    }
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
        // Stored as the searchable text, like the caption or file name of
        // a received file.
        text: caption.or(filename).map(str::to_owned),
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
    public_https_link(url).map_err(|reason| ToolError::InvalidArgument {
        argument: "url",
        reason,
    })
}

/// Checks a media link that Meta will download and returns its parsed form,
/// which lower-cases the scheme and host as Meta expects. The error names
/// the problem: longer than [`MAX_LINK_CHARS`], not an https:// URL, a user
/// name or password in it (which Meta would receive and keep), a host that
/// Meta cannot reach (see [`is_local`]), or port 0.
pub(super) fn public_https_link(url: &str) -> Result<String, String> {
    // Spaces and line breaks around a pasted link are dropped. URL parsing
    // would also drop other control characters at the ends and tabs and
    // line breaks inside, so the link sent would differ from the one given.
    let url = url.trim();
    check_link_length(url.chars().count(), "")?;
    if url.chars().any(char::is_control) {
        return Err(format!(
            "\"{}\" contains control characters; pass the link alone",
            echoed(url)
        ));
    }
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Err(format!(
                "\"{}\" is not a valid URL ({error}); pass a public https:// link",
                echoed(url)
            ));
        }
    };
    if parsed.scheme() != "https" || parsed.host().is_none() {
        return Err(format!(
            "\"{}\" is not an https:// URL; Meta downloads media only from public HTTPS \
             addresses",
            echoed(url)
        ));
    }
    // Percent-encoding makes a link with spaces or non-ASCII letters longer.
    check_link_length(parsed.as_str().len(), " once percent-encoded")?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the link contains a user name or password, which would be sent to Meta; use a \
             link that needs no login, such as a signed URL"
                .to_owned(),
        );
    }
    if let Some(url::Host::Domain(name)) = parsed.host()
        && !is_dns_name(name)
    {
        return Err(format!(
            "{} is not a valid host name: each dot-separated part must have 1 to 63 letters, \
             digits, hyphens or underscores, not starting or ending with a hyphen; check the \
             link",
            echoed(name)
        ));
    }
    if is_local(&parsed) {
        return Err(format!(
            "{} is a local or reserved address that Meta's servers cannot reach; put the \
             file on a public HTTPS address",
            echoed(parsed.host_str().unwrap_or_default())
        ));
    }
    if parsed.port() == Some(0) {
        return Err(format!(
            "\"{}\" names port 0, which no server listens on; leave the port out or use the \
             server's port",
            echoed(url)
        ));
    }
    Ok(parsed.to_string())
}

fn check_link_length(length: usize, form: &str) -> Result<(), String> {
    if length > MAX_LINK_CHARS {
        return Err(format!(
            "the URL is {length} characters long{form}, and Pons accepts links of at most \
             {MAX_LINK_CHARS} characters; use a shorter link"
        ));
    }
    Ok(())
}

/// Checks a document's file name: at most [`MAX_FILENAME_CHARS`] characters,
/// no control characters and no direction controls. Returns the reason on
/// failure, without the argument's name.
pub(super) fn check_filename(filename: &str) -> Result<(), String> {
    let length = filename.chars().count();
    if length > MAX_FILENAME_CHARS {
        return Err(format!(
            "it is {length} characters long, and Pons accepts file names of at most \
             {MAX_FILENAME_CHARS} characters; shorten it"
        ));
    }
    if let Some(control) = filename.chars().find(|&c| is_direction_control(c)) {
        return Err(format!(
            "it contains the direction control U+{:04X}, which makes a file name show in \
             another order than it is stored (\"x\\u{{202e}}gpj.exe\" shows as \"xexe.jpg\"); \
             remove it",
            u32::from(control)
        ));
    }
    control_character_reason(filename, "a file name", false)
}

/// Tells whether `c` changes the direction in which the text around it
/// shows: the bidirectional marks, embeddings, overrides and isolates.
fn is_direction_control(c: char) -> bool {
    matches!(
        c,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Tells whether `text` has a character that shows: not whitespace, not an
/// invisible format character, not a variation selector and not a
/// zero-width joiner or non-joiner.
pub(super) fn has_visible_character(text: &str) -> bool {
    text.chars().any(|c| {
        !c.is_whitespace()
            && !crate::echo::is_invisible(c)
            && !crate::echo::is_variation_selector(c)
            && !matches!(c, '\u{200c}' | '\u{200d}')
    })
}

/// Tells whether `name`, a host name as URL parsing leaves it (lower case,
/// international names in their `xn--` form), follows the DNS's rules for
/// host names. A trailing dot, which names the root, is allowed. So is an
/// underscore, which DNS allows in names (RFC 2181) though host names may
/// not have one, so that only names that cannot resolve are rejected.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}

/// Tells whether Meta's servers cannot reach the host of `url`. Such hosts
/// are names without a dot or under a local-only domain, and addresses that
/// are not public, also in an IPv6 form of an IPv4 address.
fn is_local(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !name.contains('.')
                || LOCAL_DOMAINS
                    .iter()
                    .any(|domain| name == domain[1..] || name.ends_with(domain))
        }
        Some(url::Host::Ipv4(address)) => !is_public_ipv4(address),
        Some(url::Host::Ipv6(address)) => !is_public_ipv6(address),
        None => true,
    }
}

/// Domains that the public DNS never resolves: `localhost`, `test` and
/// `invalid` (RFC 6761), `example` (RFC 2606), mDNS's `local`, `internal` (reserved for private
/// use), the `localdomain` of many hosts files, `home.arpa` (RFC 8375) and
/// Tor's `onion` (RFC 7686). Each starts with a dot.
const LOCAL_DOMAINS: &[&str] = &[
    ".localhost",
    ".local",
    ".internal",
    ".localdomain",
    ".home.arpa",
    ".test",
    ".invalid",
    ".example",
    ".onion",
];

fn is_public_ipv4(address: std::net::Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // Shared address space for carrier-grade NAT, 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_ipv6(address: std::net::Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(address) {
        return is_public_ipv4(v4);
    }
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        || address.is_unique_local()
        || address.is_unicast_link_local())
}

/// Returns the IPv4 address that an IPv4-mapped (`::ffff:0:0/96` and
/// `::ffff:0:0:0/96`), IPv4-compatible (`::/96`), NAT64 (`64:ff9b::/96`)
/// or 6to4 (`2002::/16`) address carries.
fn embedded_ipv4(address: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let segments = address.segments();
    let last_two = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        std::net::Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        [0, 0, 0, 0, 0, 0xffff, high, low]
        | [0, 0, 0, 0, 0xffff, 0, high, low]
        | [0, 0, 0, 0, 0, 0, high, low]
        | [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(last_two(high, low)),
        [0x2002, high, low, ..] => Some(last_two(high, low)),
        _ => None,
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
    if let Some(caption) = caption {
        let chars = caption.chars().count();
        if chars > MAX_CAPTION_CHARS {
            return Err(ToolError::InvalidArgument {
                argument: "caption",
                reason: format!(
                    "it has {chars} characters and WhatsApp allows {MAX_CAPTION_CHARS}; shorten \
                     it or send the rest with send_text"
                ),
            });
        }
        if !has_visible_character(caption) {
            return Err(ToolError::InvalidArgument {
                argument: "caption",
                reason: format!(
                    "\"{}\" has no visible character, only spaces or invisible characters such \
                     as U+200B; write the caption or leave it out",
                    echoed(caption)
                ),
            });
        }
        reject_control_characters("caption", caption, "a caption", true)?;
    }
    if let Some(filename) = filename {
        check_filename(filename).map_err(|reason| ToolError::InvalidArgument {
            argument: "filename",
            reason,
        })?;
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

/// Rejects control characters in `value`: NUL, escape, bell, delete, the
/// C1 controls, and line breaks and tabs unless `line_breaks` allows them.
/// PostgreSQL text cannot store NUL, and none of them belongs in `place`.
fn reject_control_characters(
    argument: &'static str,
    value: &str,
    place: &str,
    line_breaks: bool,
) -> Result<(), ToolError> {
    control_character_reason(value, place, line_breaks)
        .map_err(|reason| ToolError::InvalidArgument { argument, reason })
}

fn control_character_reason(value: &str, place: &str, line_breaks: bool) -> Result<(), String> {
    let allowed = |c: char| line_breaks && matches!(c, '\n' | '\r' | '\t');
    let Some(control) = value.chars().find(|&c| c.is_control() && !allowed(c)) else {
        return Ok(());
    };
    Err(format!(
        "it contains the control character U+{:04X}, which has no place in {place}; remove it",
        u32::from(control)
    ))
}

#[cfg(test)]
mod tests {
    use super::{
        MAX_LINK_CHARS, MediaKind, ToolError, check_extras, checked_url, has_visible_character,
    };

    #[test]
    fn public_https_link_accepted() {
        let url = checked_url(Some("HTTPS://Example.com/cat.jpg")).expect("public link");
        assert_eq!(url, "https://example.com/cat.jpg");
    }

    #[test]
    fn public_addresses_accepted() {
        for link in [
            "https://93.184.215.14/a.jpg",
            "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/a.jpg",
            "https://[::ffff:93.184.215.14]/a.jpg",
            "https://cdn.example.com/a.jpg",
            "https://locality.example.com/a.jpg",
        ] {
            checked_url(Some(link)).expect(link);
        }
    }

    #[test]
    fn link_with_control_characters_rejected() {
        for link in [
            "https://example.com/a.jpg\u{0}",
            "https://example.com/\ta.jpg",
            "https://example.com/a\u{7f}.jpg",
        ] {
            let text = checked_url(Some(link)).expect_err(link).to_string();
            assert!(text.contains("control characters"), "{text}");
        }
    }

    #[test]
    fn unparsable_link_named_invalid() {
        let text = checked_url(Some("https://exa mple.com/a.jpg"))
            .expect_err("space in the host")
            .to_string();
        assert!(text.contains("is not a valid URL"), "{text}");
        assert!(!text.contains("is not an https:// URL"), "{text}");
    }

    #[test]
    fn link_with_credentials_rejected() {
        for link in [
            "https://user:secret@example.com/a.jpg",
            "https://user@example.com/a.jpg",
        ] {
            let error = checked_url(Some(link)).expect_err("credentials in the link");
            let text = error.to_string();
            assert!(text.contains("user name or password"), "{text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn invalid_host_names_rejected() {
        for link in [
            "https://a..b.com/a.jpg",
            "https://-bad-.com/a.jpg",
            "https://bad-.example.com/a.jpg",
            "https://.example.com/a.jpg",
        ] {
            let text = checked_url(Some(link)).expect_err(link).to_string();
            assert!(text.contains("is not a valid host name"), "{link}: {text}");
        }
        for link in [
            "https://xn--bcher-kva.example.com/a.jpg",
            "https://bücher.example.com/a.jpg",
            "https://cdn_1.example.com/a.jpg",
            "https://example.com./a.jpg",
        ] {
            checked_url(Some(link)).expect(link);
        }
    }

    #[test]
    fn local_hosts_rejected() {
        for link in [
            "https://localhost/a.jpg",
            "https://printer.localhost./a.jpg",
            "https://127.0.0.1/a.jpg",
            "https://10.1.2.3/a.jpg",
            "https://192.168.0.9/a.jpg",
            "https://169.254.169.254/a.jpg",
            "https://0.0.0.0/a.jpg",
            "https://[::1]/a.jpg",
            "https://[fd00::1]/a.jpg",
            "https://[::ffff:127.0.0.1]/a.jpg",
            "https://[::ffff:a9fe:a9fe]/a.jpg",
            "https://[::127.0.0.1]/a.jpg",
            "https://[::ffff:0:7f00:1]/a.jpg",
            "https://[64:ff9b::7f00:1]/a.jpg",
            "https://[2002:7f00:1::]/a.jpg",
            "https://[ff02::1]/a.jpg",
            "https://100.64.0.1/a.jpg",
            "https://224.0.0.1/a.jpg",
            "https://240.0.0.1/a.jpg",
            "https://255.255.255.255/a.jpg",
            "https://198.18.0.1/a.jpg",
            "https://192.0.0.1/a.jpg",
            "https://example/a.jpg",
            "https://localhost.localdomain/a.jpg",
            "https://cdn.test/a.jpg",
            "https://cdn.example/a.jpg",
            "https://files.invalid/a.jpg",
            "https://abcdefghijklmnop.onion/a.jpg",
            "https://metadata.google.internal/a.jpg",
            "https://printer.LOCAL/a.jpg",
        ] {
            let error = checked_url(Some(link)).expect_err(link);
            let text = error.to_string();
            assert!(text.contains("local or reserved address"), "{link}: {text}");
        }
    }

    #[test]
    fn port_zero_link_rejected() {
        let error = checked_url(Some("https://example.com:0/a.jpg")).expect_err("port 0");
        let text = error.to_string();
        assert!(text.contains("port 0"), "{text}");
        checked_url(Some("https://example.com:8443/a.jpg")).expect("another port");
    }

    #[test]
    fn invisible_caption_rejected() {
        for caption in ["\u{200b}", " \u{2060} ", "\u{200d}"] {
            let error = check_extras(MediaKind::Image, Some(caption), None).expect_err(caption);
            let text = error.to_string();
            assert!(text.contains("invalid argument `caption`"), "{text}");
            assert!(text.contains("no visible character"), "{text}");
        }
        assert!(check_extras(MediaKind::Image, Some("\u{1f44d}"), None).is_ok());
    }

    #[test]
    fn check_extras_control_characters() {
        let document = MediaKind::Document;
        assert!(check_extras(document, Some("Line one\nline two"), Some("a.pdf")).is_ok());
        let cases = [
            (
                Some("cap\0tion"),
                None,
                "invalid argument `caption`",
                "U+0000",
            ),
            (
                Some("bell\u{7}"),
                None,
                "invalid argument `caption`",
                "U+0007",
            ),
            (
                None,
                Some("a\0b.pdf"),
                "invalid argument `filename`",
                "U+0000",
            ),
            (
                None,
                Some("a\nb.pdf"),
                "invalid argument `filename`",
                "U+000A",
            ),
        ];
        for (caption, filename, argument, character) in cases {
            let error = check_extras(document, caption, filename).expect_err(argument);
            assert!(
                matches!(error, ToolError::InvalidArgument { .. }),
                "{error}"
            );
            let text = error.to_string();
            assert!(text.contains(argument), "{text}");
            assert!(text.contains(character), "{text}");
        }
    }

    #[test]
    fn long_url_rejected_with_limit() {
        let path = "a".repeat(5_000 - "https://example.com/".len());
        let url = format!("https://example.com/{path}");
        let error = checked_url(Some(&url)).expect_err("a 5000-character URL");
        let text = error.to_string();
        assert!(text.contains("invalid argument `url`"), "{text}");
        assert!(text.contains("5000 characters long"), "{text}");
        assert!(text.contains("at most 2048 characters"), "{text}");

        let at_limit = format!(
            "https://example.com/{}",
            "a".repeat(MAX_LINK_CHARS - "https://example.com/".len())
        );
        checked_url(Some(&at_limit)).expect("a URL of exactly the limit");

        let spaces = format!("https://example.com/{}", " x".repeat(1_000));
        let error = checked_url(Some(&spaces)).expect_err("longer once percent-encoded");
        let text = error.to_string();
        assert!(text.contains("once percent-encoded"), "{text}");
    }

    #[test]
    fn filename_with_direction_control_rejected() {
        let document = MediaKind::Document;
        let error = check_extras(document, None, Some("x\u{202e}gpj.exe"))
            .expect_err("right-to-left override");
        let text = error.to_string();
        assert!(text.contains("invalid argument `filename`"), "{text}");
        assert!(text.contains("U+202E"), "{text}");
        check_extras(document, None, Some("تقرير.pdf")).expect("right-to-left letters");
    }

    #[test]
    fn invisible_text_has_no_visible_character() {
        for text in ["\u{200b}", " \u{200b}\u{feff} ", "\u{200d}", "\u{3164}"] {
            assert!(!has_visible_character(text), "{text:?}");
        }
        for text in ["ok", "👍", "\u{200b}a", "👨\u{200d}👩"] {
            assert!(has_visible_character(text), "{text:?}");
        }
    }

    #[test]
    fn long_filename_rejected_with_limit() {
        let document = MediaKind::Document;
        let at_limit = format!("{}.pdf", "f".repeat(236));
        check_extras(document, None, Some(&at_limit)).expect("240 characters");
        let long = "f".repeat(10_000);
        let error = check_extras(document, None, Some(&long)).expect_err("10,000 characters");
        let text = error.to_string();
        assert!(text.contains("invalid argument `filename`"), "{text}");
        assert!(text.contains("10000 characters long"), "{text}");
        assert!(text.contains("at most 240 characters"), "{text}");
    }
}
