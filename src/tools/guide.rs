//! Valid choices named in guided errors: recent contacts, recent messages
//! with their wamids, and approved templates with their variables. Each
//! list is shown only to a caller whose scopes allow reading it. Others
//! get the argument's format and the tool that lists the choices.

use crate::auth::Scope;
use crate::store::{Account, Direction, Template};

use super::conversations::{ids, recent_choices};
use super::output::format_time;
use super::template_spec::TemplateSpec;
use super::{ToolContext, ToolError};

/// Conversations searched for recent messages.
const CONVERSATIONS_SEARCHED: u32 = 5;
/// Messages read per conversation.
const MESSAGES_PER_CONVERSATION: u32 = 4;
/// Messages named at most.
const MESSAGES_LISTED: usize = 10;
/// Characters of a message text shown beside its wamid.
const PREVIEW_CHARS: usize = 40;
/// Approved templates named at most; list_templates shows the rest.
const TEMPLATES_LISTED: usize = 20;

fn can_read(cx: &ToolContext<'_>) -> bool {
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
        return Ok(
            "A key with the `read` scope can look wamids up with get_conversation or \
                   list_unanswered."
                .to_owned(),
        );
    }
    let conversations = cx
        .store
        .list_conversations(&ids(accounts), CONVERSATIONS_SEARCHED)
        .await?;
    let mut lines = Vec::new();
    for conversation in &conversations {
        let messages = cx
            .store
            .conversation_messages(&conversation.id, MESSAGES_PER_CONVERSATION)
            .await?;
        let who = conversation.contact_name.as_deref().unwrap_or("(no name)");
        for message in messages.iter().rev() {
            let Some(wamid) = &message.wamid else {
                continue;
            };
            if inbound_only && message.direction != Direction::Inbound {
                continue;
            }
            let text = message
                .text
                .as_deref()
                .or(message.caption.as_deref())
                .unwrap_or(&message.kind);
            let preview: String = text.chars().take(PREVIEW_CHARS).collect();
            lines.push(format!(
                "{wamid} ({} {} +{} {who}, {}: {preview:?})",
                message.direction.as_str(),
                if message.direction == Direction::Inbound {
                    "from"
                } else {
                    "to"
                },
                conversation.wa_id,
                format_time(message.timestamp).unwrap_or_default(),
            ));
        }
    }
    lines.truncate(MESSAGES_LISTED);
    if lines.is_empty() {
        return Ok("These accounts have no messages to choose from yet.".to_owned());
    }
    Ok(format!("Recent messages: {}.", lines.join("; ")))
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
