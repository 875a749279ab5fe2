//! Valid choices named in guided errors: recent contacts, recent messages
//! with their wamids, and approved templates with their variables. Each
//! list is shown only to a caller whose scopes allow reading it. Others
//! get the argument's format and the tool that lists the choices.

use crate::auth::Scope;
use crate::echo::quoted_visible;
use crate::shorten::shorten;
use crate::store::{Account, ArchiveFilter, ConversationSummary, Direction, Template};

use super::conversations::{ids, recent_choices};
use super::output::{format_time, quoted_name};
use super::template_spec::TemplateSpec;
use super::{ToolContext, ToolError};

/// Conversations searched for recent messages.
const CONVERSATIONS_SEARCHED: u32 = 5;
/// Messages named per conversation.
const MESSAGES_PER_CONVERSATION: usize = 4;
/// Newest messages read per conversation to find the ones to name.
const MESSAGES_SCANNED: u32 = 50;
/// Messages named at most.
const MESSAGES_LISTED: usize = 10;
/// Characters of a message text shown beside its wamid.
const PREVIEW_CHARS: usize = 40;
/// Approved templates named at most; list_templates shows the rest.
const TEMPLATES_LISTED: usize = 20;

/// The hint for a key that may not read the choices.
const READ_SCOPE_HINT: &str =
    "A key with the `read` scope can look wamids up with get_conversation or list_unanswered.";

/// Returns whether the caller may read conversations and messages: the rule for
/// every tool that would show customer data to a key without `read`.
pub(super) fn can_read(cx: &ToolContext<'_>) -> bool {
    cx.principal.scopes.contains(Scope::Read)
}

/// Names recent contacts with their phone numbers.
pub(super) async fn recent_contacts(
    cx: &ToolContext<'_>,
    accounts: &[Account],
) -> Result<String, ToolError> {
    recent_choices(cx, accounts).await
}

/// Names recent messages with their wamids, newest first. With
/// `inbound_only`, only the customers' messages are named.
pub(super) async fn recent_messages(
    cx: &ToolContext<'_>,
    accounts: &[Account],
    inbound_only: bool,
) -> Result<String, ToolError> {
    if !can_read(cx) {
        return Ok(READ_SCOPE_HINT.to_owned());
    }
    let conversations = cx
        .store
        .list_conversations(
            &ids(accounts),
            ArchiveFilter::Any,
            None,
            CONVERSATIONS_SEARCHED,
        )
        .await?;
    let lines = message_lines(cx, &conversations, inbound_only).await?;
    if !lines.is_empty() {
        return Ok(format!("Recent messages: {}.", lines.join("; ")));
    }
    Ok(if inbound_only && !conversations.is_empty() {
        format!(
            "The newest {MESSAGES_SCANNED} messages of the {CONVERSATIONS_SEARCHED} most recent \
             conversations contain no customer message; list_unanswered names the customers' \
             latest messages with their wamids."
        )
    } else {
        "These accounts have no messages to choose from yet.".to_owned()
    })
}

/// Names the newest messages of one conversation with their wamids, for
/// an argument that must name a message of that conversation.
pub(super) async fn conversation_messages(
    cx: &ToolContext<'_>,
    conversation: &ConversationSummary,
) -> Result<String, ToolError> {
    if !can_read(cx) {
        return Ok(READ_SCOPE_HINT.to_owned());
    }
    let lines = message_lines(cx, std::slice::from_ref(conversation), false).await?;
    if lines.is_empty() {
        return Ok("The conversation has no messages with a wamid yet.".to_owned());
    }
    Ok(format!("Recent messages: {}.", lines.join("; ")))
}

/// Describes up to `MESSAGES_PER_CONVERSATION` messages with a wamid of
/// each conversation, newest first, at most `MESSAGES_LISTED` in all.
async fn message_lines(
    cx: &ToolContext<'_>,
    conversations: &[ConversationSummary],
    inbound_only: bool,
) -> Result<Vec<String>, ToolError> {
    let mut lines = Vec::new();
    for conversation in conversations {
        // More messages are read than named, because the newest ones may
        // all be the business's replies or sends without a wamid.
        let messages = cx
            .store
            .conversation_messages(&conversation.id, MESSAGES_SCANNED)
            .await?;
        let who = quoted_name(conversation.contact_name.as_deref());
        let named = messages
            .iter()
            .rev()
            .filter(|message| !inbound_only || message.direction == Direction::Inbound)
            .filter_map(|message| Some((message.wamid.as_ref()?, message)))
            .take(MESSAGES_PER_CONVERSATION);
        for (wamid, message) in named {
            let text = message
                .text
                .as_deref()
                .or(message.caption.as_deref())
                .unwrap_or(&message.kind);
            let preview = shorten(text, PREVIEW_CHARS);
            lines.push(format!(
                "{wamid} ({} {} +{} {who}, {}: {})",
                message.direction.as_str(),
                if message.direction == Direction::Inbound {
                    "from"
                } else {
                    "to"
                },
                conversation.wa_id,
                format_time(message.timestamp).unwrap_or_default(),
                quoted_visible(&preview),
            ));
        }
    }
    lines.truncate(MESSAGES_LISTED);
    Ok(lines)
}

/// Names the approved templates of `accounts` with their variables.
pub(super) async fn approved_templates(
    cx: &ToolContext<'_>,
    accounts: &[Account],
) -> Result<String, ToolError> {
    if !can_read(cx) {
        return Ok(
            "A key with the `read` scope can list the approved templates with list_templates."
                .to_owned(),
        );
    }
    let templates = cx.store.list_templates(&ids(accounts)).await?;
    let approved: Vec<&Template> = templates
        .iter()
        .filter(|t| t.status.eq_ignore_ascii_case("APPROVED"))
        .collect();
    let mut listed: Vec<String> = approved
        .iter()
        .take(TEMPLATES_LISTED)
        .map(|t| {
            let labels = TemplateSpec::of(t).labels();
            let variables = if labels.is_empty() {
                "no variables".to_owned()
            } else {
                format!("variables {}", labels.join(", "))
            };
            format!(
                "{} ({}): {variables}",
                t.name.as_deref().unwrap_or("(unnamed)"),
                t.language.as_deref().unwrap_or("no language")
            )
        })
        .collect();
    if listed.is_empty() {
        return Ok(
            "No approved template is stored for this account. Create one in WhatsApp \
             Manager, then call list_templates with refresh=true."
                .to_owned(),
        );
    }
    if approved.len() > TEMPLATES_LISTED {
        let more = approved.len() - TEMPLATES_LISTED;
        listed.push(format!("and {more} more (see list_templates)"));
    }
    Ok(format!("Approved templates: {}.", listed.join("; ")))
}
