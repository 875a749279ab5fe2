//! Tool errors: each message names the problem and how to fix it, because
//! an MCP client shows it to a model that must decide what to call next.

use std::fmt::Display;

use crate::phone::PhoneError;
use crate::store::StoreError;

/// Text of [`ToolError::NoAccounts`], also sent by the media download route.
pub const NO_ACCOUNTS: &str = "this API key reaches no WhatsApp account: its user is not a member \
                               of any account, or not of the accounts the key is limited to; ask \
                               an account owner to add the user";

/// Failure of a tool call. The `Display` text is returned to the caller.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(
        "this API key lacks the `{scope}` scope needed by {tool}; create a key with \
         --scopes {scope} (plus any other scopes it needs) and use that key"
    )]
    MissingScope {
        tool: &'static str,
        scope: &'static str,
    },

    #[error("unknown tool {0}; call tools/list to see the tools this key may use")]
    UnknownTool(&'static str),

    #[error(
        "account not found: {value}; reachable accounts: {reachable}. Pass `from` as one of \
         these numbers or account ids{omit_hint}"
    )]
    AccountNotFound {
        value: String,
        reachable: String,
        /// Effect of omitting `from` for this tool, or empty when the tool
        /// needs one account and the key reaches several.
        omit_hint: &'static str,
    },

    #[error("{}", NO_ACCOUNTS)]
    NoAccounts,

    #[error("{}", missing_argument_message(.argument, .tool, .hint))]
    MissingArgument {
        tool: &'static str,
        argument: &'static str,
        hint: String,
    },

    #[error("{}", invalid_arguments_message(&[.argument], .reason))]
    InvalidArgument {
        argument: &'static str,
        reason: String,
    },

    #[error("{}", invalid_arguments_message(&[.argument], .source))]
    InvalidPhone {
        argument: &'static str,
        #[source]
        source: PhoneError,
    },

    #[error("conversation not found: {value}; {hint}")]
    ConversationNotFound { value: String, hint: String },

    #[error(
        "{kind} not found in the account that `from` names: {value} belongs to another account \
         this key reaches{holders}. Leave out `from`, or pass that account's number or id as \
         `from`"
    )]
    InOtherAccount {
        /// `conversation` or `message`.
        kind: &'static str,
        value: String,
        /// ` (+15550001111 Shop (id …))` for a key with the `read` scope,
        /// else empty.
        holders: String,
    },

    #[error(
        "the phone number {phone} has conversations with several of your accounts ({accounts}); \
         pass `from` with one of these account numbers"
    )]
    AmbiguousConversation { phone: String, accounts: String },

    #[error("message not found: {wamid}; {hint}")]
    MessageNotFound { wamid: String, hint: String },

    #[error(
        "the message {wamid} is stored in several of your accounts ({accounts}); pass `from` \
         with one of these account numbers"
    )]
    AmbiguousMessage { wamid: String, accounts: String },

    #[error(
        "the 24-hour customer service window with {phone} {state}, so {tool} cannot send \
         {message}: outside the window WhatsApp only delivers approved templates. {next_step} \
         {templates}"
    )]
    WindowClosed {
        tool: &'static str,
        /// The rejected message kind, such as `a reaction`.
        message: &'static str,
        /// The next step to take instead.
        next_step: &'static str,
        phone: String,
        /// `closed at <time>` or `was never opened: …`.
        state: String,
        templates: String,
    },

    #[error("template not found: {name}; {hint}")]
    TemplateNotFound { name: String, hint: String },

    #[error("template {name} ({language}) cannot be sent: {reason}")]
    TemplateNotSendable {
        name: String,
        language: String,
        reason: String,
    },

    #[error(
        "template {name} ({language}) is missing values for {missing}. Pass `components` \
         with one parameter per variable, for example: {example}"
    )]
    MissingVariables {
        name: String,
        language: String,
        missing: String,
        example: String,
    },

    /// Meta rejected a Graph API call or could not be reached.
    #[error("{action} failed: {}. {hint}", .detail.trim_end_matches('.'))]
    Graph {
        action: &'static str,
        detail: String,
        hint: String,
    },

    /// Meta rejected the account's access token a short time ago, so the
    /// send tools do not call Meta with it (see `rejected_token`).
    #[error(
        "{fix} Meta rejected the token at {rejected_at}, so {outcome}. From {retry_at} on, the \
         next call tries the stored token again, in case it works again on Meta's side."
    )]
    TokenRejected {
        /// The operator's next step, from `graph_errors::token_fix`.
        fix: String,
        rejected_at: String,
        retry_at: String,
        /// The action the call took instead, from `TokenUse::outcome`.
        outcome: &'static str,
    },

    /// Another call is trying the token Meta rejected again and has no
    /// response yet (see `rejected_token`).
    #[error(
        "{fix} Meta rejected the token at {rejected_at}, and another call is trying it again \
         right now, so {outcome}. Try again in a few seconds: once Meta accepts the token, \
         calls go through."
    )]
    TokenProbing {
        /// The operator's next step, from `graph_errors::token_fix`.
        fix: String,
        rejected_at: String,
        /// The action the call took instead, from `TokenUse::outcome`.
        outcome: &'static str,
    },

    #[error(
        "the stored access token of account {account} cannot be decrypted: it was encrypted \
         with another encryption key or is corrupt; an account owner must store the access \
         token again"
    )]
    Secret { account: String },

    /// The store failed. The text never carries the driver's message, which
    /// goes to the log instead.
    #[error("internal error while reading stored data; try again, and report it if it persists")]
    Store(#[from] StoreError),
}

/// Formats the error of invalid arguments, such as "invalid argument
/// `limit`: …". The tools' own checks and the decoding of arguments both
/// use it, so an invalid argument reads the same whichever check rejected
/// it. Each name is an argument's path as a caller writes it, such as
/// `components[0].type`.
pub fn invalid_arguments_message(names: &[impl AsRef<str>], reason: &dyn Display) -> String {
    let plural = if names.len() > 1 { "s" } else { "" };
    let quoted: Vec<String> = names
        .iter()
        .map(|name| format!("`{}`", name.as_ref()))
        .collect();
    format!("invalid argument{plural} {}: {reason}", quoted.join(", "))
}

/// Formats the error of a missing argument, for the tools' own checks and
/// the decoding of arguments alike.
pub fn missing_argument_message(name: &str, tool: &str, hint: &str) -> String {
    format!("missing argument `{name}` for {tool}: {hint}")
}

impl ToolError {
    /// Returns the store error behind this failure, for logging, or `None` for caller errors.
    pub fn internal_cause(&self) -> Option<&StoreError> {
        match self {
            ToolError::Store(error) => Some(error),
            _ => None,
        }
    }
}
