//! The service layer behind the MCP endpoint (and later the dashboard): each
//! tool checks the caller's scope, resolves the accounts it may act on, and
//! returns a typed, serializable output or a [`ToolError`].

mod accounts;
mod actions;
mod conversations;
mod error;
mod graph_errors;
mod guide;
mod list_page;
mod media_out;
mod media_types;
mod messages;
mod output;
mod reaction;
mod reaction_locks;
mod rejected_token;
mod search;
mod send;
mod sender;
mod template_check;
mod template_shape;
mod template_spec;
mod templates;
mod window;

pub use crate::store::TOKEN_RETRY_AFTER_SECONDS;
pub use accounts::{format_accounts, resolve_accounts};
pub use actions::{
    MarkAsReadArgs, MarkAsReadOutput, UpdateConversationArgs, UpdateConversationOutput,
    mark_as_read, update_conversation,
};
pub use conversations::{
    GetConversationArgs, GetConversationOutput, ListConversationsArgs, ListConversationsOutput,
    ListUnansweredArgs, ListUnansweredOutput, get_conversation, list_conversations,
    list_unanswered,
};
pub use error::{NO_ACCOUNTS, ToolError, invalid_arguments_message, missing_argument_message};
pub use media_out::MediaOut;
pub use messages::{SendMediaArgs, SendTextArgs, send_media, send_text};
pub use output::{
    AccountOut, ContactOut, ConversationOut, LastMessageOut, MessageErrorOut, MessageOut,
    UnansweredOut, WindowOut, format_time, time_text,
};
pub use reaction::{SendReactionArgs, SendReactionOutput, send_reaction};
pub use search::{SearchHitOut, SearchMessagesArgs, SearchMessagesOutput, search_messages};
pub use send::SendOutput;
pub use sender::{GraphTemplateSync, Sender, TemplateSync, TemplateSyncError};
pub use templates::{
    HeaderOut, ListTemplatesArgs, ListTemplatesOutput, SendTemplateArgs, TemplateOut,
    list_templates, send_template,
};

use crate::auth::{Principal, Scope};
use crate::store::{Store, UnixTime};

pub const LIST_CONVERSATIONS: &str = "list_conversations";
pub const LIST_UNANSWERED: &str = "list_unanswered";
pub const GET_CONVERSATION: &str = "get_conversation";
pub const SEARCH_MESSAGES: &str = "search_messages";
pub const LIST_TEMPLATES: &str = "list_templates";
pub const MARK_AS_READ: &str = "mark_as_read";
pub const SEND_REACTION: &str = "send_reaction";
pub const UPDATE_CONVERSATION: &str = "updateConversation";
pub const SEND_TEXT: &str = "send_text";
pub const SEND_MEDIA: &str = "send_media";
pub const SEND_TEMPLATE: &str = "send_template";

/// The scope each tool requires; the one table both `tools/list` filtering
/// and the checks inside the tools read.
const TOOL_SCOPES: &[(&str, Scope)] = &[
    (LIST_CONVERSATIONS, Scope::Read),
    (LIST_UNANSWERED, Scope::Read),
    (GET_CONVERSATION, Scope::Read),
    (SEARCH_MESSAGES, Scope::Read),
    (LIST_TEMPLATES, Scope::Read),
    (MARK_AS_READ, Scope::Write),
    (SEND_REACTION, Scope::Write),
    (UPDATE_CONVERSATION, Scope::Write),
    (SEND_TEXT, Scope::Send),
    (SEND_MEDIA, Scope::Send),
    (SEND_TEMPLATE, Scope::Send),
];

/// Every tool name, in the order of the scope table.
pub fn tool_names() -> impl Iterator<Item = &'static str> {
    TOOL_SCOPES.iter().map(|(name, _)| *name)
}

/// Returns the scope a tool requires, or `None` for a name that is not a tool.
pub fn required_scope(tool: &str) -> Option<Scope> {
    TOOL_SCOPES
        .iter()
        .find(|(name, _)| *name == tool)
        .map(|(_, scope)| *scope)
}

/// Tells whether `tool` sends something to a customer: a message, a
/// template or a reaction.
pub fn sends_to_customer(tool: &str) -> bool {
    tool == SEND_REACTION || required_scope(tool) == Some(Scope::Send)
}

/// A one-line, human-readable account of a tool's output, shown next to
/// the structured result.
pub trait Summary {
    fn summary(&self) -> String;
}

/// Everything a tool call needs besides its arguments.
#[derive(Clone, Copy)]
pub struct ToolContext<'a> {
    pub store: &'a dyn Store,
    pub principal: &'a Principal,
    /// Graph API access for the tools that call Meta.
    pub sender: &'a Sender,
    /// The time the call started: it decides the 24h window and stamps
    /// what the call stores.
    pub now: UnixTime,
}

/// Fails with [`ToolError::MissingScope`] unless the principal has the
/// scope that `tool` requires.
pub fn require(principal: &Principal, tool: &'static str) -> Result<(), ToolError> {
    let Some(scope) = required_scope(tool) else {
        // A tool missing from the table is never allowed, so a new tool
        // cannot ship without a scope.
        return Err(ToolError::UnknownTool(tool));
    };
    if principal.scopes.contains(scope) {
        Ok(())
    } else {
        Err(ToolError::MissingScope {
            tool,
            scope: scope.as_str(),
        })
    }
}

/// Applies the default of an optional `limit`-style argument. Before a
/// tool runs, the MCP layer rejects values outside the range of the tool's
/// input schema. The clamp keeps other callers within `1..=max`.
fn limit_or_default(value: Option<u32>, default: u32, max: u32) -> u32 {
    value.unwrap_or(default).clamp(1, max)
}

/// Returns `None` for an absent or blank string argument, so that clients
/// sending `""` for an optional field are treated as having omitted it.
fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scopes;
    use crate::store::{ApiKeyId, UserId};

    fn principal(scopes: &str) -> Principal {
        Principal {
            user_id: UserId("u".into()),
            key_id: ApiKeyId("k".into()),
            scopes: Scopes::parse(scopes).unwrap(),
            only_accounts: Vec::new(),
        }
    }

    #[test]
    fn require_names_missing_scope() {
        let error = require(&principal("send"), LIST_CONVERSATIONS).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`read` scope"), "{text}");
        assert!(text.contains("list_conversations"), "{text}");
        assert!(text.contains("--scopes read"), "{text}");
    }

    #[test]
    fn require_accepts_held_scope() {
        assert!(require(&principal("read"), SEARCH_MESSAGES).is_ok());
    }

    #[test]
    fn require_rejects_unlisted_tool() {
        assert!(require(&principal("read,write,send"), "drop_tables").is_err());
    }

    #[test]
    fn limit_or_default_bounds() {
        assert_eq!(limit_or_default(None, 50, 200), 50);
        assert_eq!(limit_or_default(Some(200), 50, 200), 200);
        assert_eq!(limit_or_default(Some(0), 50, 200), 1);
        assert_eq!(limit_or_default(Some(201), 50, 200), 200);
    }
}
