//! The write tools `mark_as_read` and `updateConversation`, and the
//! message lookup they share with `send_reaction`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::echo::echoed;
use crate::jobs::token_works;
use crate::store::{Account, AccountId, ConversationRef, Direction, Message};

use super::accounts::{Sought, in_other_account};
use super::conversations::{ids, locate};
use super::graph_errors::describe_graph_error;
use super::output::ConversationOut;
use super::rejected_token::TokenUse;
use super::sender::record_invalid_token;
use super::{
    MARK_AS_READ, Summary, ToolContext, ToolError, UPDATE_CONVERSATION, format_accounts, guide,
    non_blank, require, resolve_accounts,
};

/// Arguments of `mark_as_read`. `waMessageId` is required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkAsReadArgs {
    /// Sender number (E.164) or account id. Omit it to search every account this key reaches.
    pub from: Option<String>,
    /// wamid of the customer's message to mark read. Earlier messages are marked too.
    pub wa_message_id: Option<String>,
}

/// Result of `mark_as_read`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkAsReadOutput {
    pub conversation_id: String,
    pub wa_message_id: String,
    /// Whether Meta accepted the read receipt (blue ticks for the customer).
    pub read_receipt_sent: bool,
    /// The customer's messages after this one that stay unread, whether
    /// or not the receipt reached Meta.
    pub unread_count: i64,
    pub warnings: Vec<String>,
}

impl Summary for MarkAsReadOutput {
    fn summary(&self) -> String {
        let mut text = format!(
            "Conversation {} marked read up to {}; {} newer message(s) unread.",
            self.conversation_id, self.wa_message_id, self.unread_count
        );
        for warning in &self.warnings {
            text.push_str(" Warning: ");
            text.push_str(warning);
        }
        text
    }
}

/// Sends a read receipt for a message and marks it and the earlier messages
/// read, so the unread count keeps only the newer ones. A failed receipt
/// is reported as a warning, and the count is lowered anyway; only an
/// accepted one sets those messages' status to `read`. While Meta's
/// rejection of the account's access token is recent, the call fails and
/// marks nothing.
pub async fn mark_as_read(
    cx: &ToolContext<'_>,
    args: MarkAsReadArgs,
) -> Result<MarkAsReadOutput, ToolError> {
    require(cx.principal, MARK_AS_READ)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let (account, message) =
        find_message(cx, MARK_AS_READ, &accounts, &args.wa_message_id, true).await?;
    if message.direction != Direction::Inbound {
        return Err(ToolError::InvalidArgument {
            argument: "waMessageId",
            reason: "read receipts are for the customer's messages, and this one was sent by \
                     the business"
                .to_owned(),
        });
    }
    let wamid = message.wamid.clone().unwrap_or_default();
    // A token Meta rejected a moment ago skips the receipt like a failed
    // one, and the messages are still marked read here.
    let warning = match cx
        .sender
        .usable_token(&account, cx.now, TokenUse::ReadReceipt)
    {
        Ok(_probe) => read_receipt(cx, &account, &wamid).await,
        Err(error) => Some(format!("the read receipt was not sent: {error}")),
    };
    let unread_count = cx
        .store
        .mark_read_up_to(&message.id, warning.is_none())
        .await?;
    Ok(MarkAsReadOutput {
        conversation_id: message.conversation_id.to_string(),
        wa_message_id: wamid,
        read_receipt_sent: warning.is_none(),
        unread_count,
        warnings: warning.into_iter().collect(),
    })
}

/// Sends the read receipt to Meta and returns a warning when it failed.
async fn read_receipt(cx: &ToolContext<'_>, account: &Account, wamid: &str) -> Option<String> {
    let token = match cx.sender.access_token(cx.store, account).await {
        Ok(token) => token,
        Err(error) => return Some(format!("the read receipt was not sent: {error}")),
    };
    let graph = cx.sender.graph();
    let error = match graph
        .mark_as_read(&account.phone_number_id, &token, wamid)
        .await
    {
        Ok(()) => {
            token_works(cx.store, account).await;
            return None;
        }
        Err(error) => error,
    };
    tracing::warn!(account_id = %account.id, code = error.code(), %error, "read receipt failed");
    let mut warning = format!(
        "the read receipt to Meta failed: {}",
        describe_graph_error(&error)
    );
    if error.is_token_error() {
        record_invalid_token(cx.store, account, cx.now).await;
        warning.push_str(&format!(
            "; Meta rejected the access token of +{}, so an account owner must store a new one",
            account.phone_number
        ));
    }
    Some(warning)
}

/// Arguments of `updateConversation`. `archived` is required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConversationArgs {
    /// Sender number (E.164) or account id. Omit it to search every account this key reaches.
    pub from: Option<String>,
    /// Conversation id from list_conversations. With `phone` as well, both must name it.
    pub conversation_id: Option<String>,
    /// The customer's phone number, in any common form.
    pub phone: Option<String>,
    /// true archives the conversation, false moves it back to the inbox.
    pub archived: Option<bool>,
}

/// Result of `updateConversation`: the conversation after the change.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConversationOutput {
    pub conversation_id: String,
    pub archived: bool,
    /// The conversation as get_conversation shows it, for a key with the
    /// `read` scope; `null` for a key without it.
    pub conversation: Option<ConversationOut>,
}

impl Summary for UpdateConversationOutput {
    fn summary(&self) -> String {
        let state = if self.archived {
            "archived"
        } else {
            "in the inbox"
        };
        format!("Conversation {} is {state}.", self.conversation_id)
    }
}

/// Archives or unarchives a conversation.
pub async fn update_conversation(
    cx: &ToolContext<'_>,
    args: UpdateConversationArgs,
) -> Result<UpdateConversationOutput, ToolError> {
    require(cx.principal, UPDATE_CONVERSATION)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let summary = locate(
        cx,
        UPDATE_CONVERSATION,
        &accounts,
        args.conversation_id.as_deref(),
        args.phone.as_deref(),
    )
    .await?;
    let Some(archived) = args.archived else {
        return Err(ToolError::MissingArgument {
            tool: UPDATE_CONVERSATION,
            argument: "archived",
            hint: "pass true to archive the conversation or false to unarchive it".to_owned(),
        });
    };
    let at = archived.then_some(cx.now);
    cx.store.set_conversation_archived(&summary.id, at).await?;
    let by = ConversationRef::Id(summary.id.clone());
    let updated = cx
        .store
        .find_conversation(&ids(&accounts), &by)
        .await?
        .unwrap_or(summary);
    Ok(UpdateConversationOutput {
        conversation_id: updated.id.to_string(),
        archived: updated.archived,
        conversation: guide::can_read(cx)
            .then(|| ConversationOut::new(&updated, &accounts, cx.now)),
    })
}

/// Finds a message by wamid in `accounts`, with guided errors. When
/// several of `accounts` store the wamid, it returns an error that names
/// them and requests `from`. With `inbound_only`, only the inbound copies
/// count when there are any, because the sender's copy of a message that
/// one account sent to another cannot be marked read.
pub(super) async fn find_message(
    cx: &ToolContext<'_>,
    tool: &'static str,
    accounts: &[Account],
    wamid: &Option<String>,
    inbound_only: bool,
) -> Result<(Account, Message), ToolError> {
    let mut copies = find_message_copies(cx, tool, accounts, wamid, inbound_only).await?;
    if copies.len() > 1 {
        return Err(ambiguous_message(accounts, &copies));
    }
    Ok(copies.remove(0))
}

/// Finds every copy of a message by wamid in `accounts`, with its account,
/// oldest first, or a guided error when the wamid is missing or no account
/// stores it. The list is never empty. `inbound_only` works as in
/// [`find_message`].
pub(super) async fn find_message_copies(
    cx: &ToolContext<'_>,
    tool: &'static str,
    accounts: &[Account],
    wamid: &Option<String>,
    inbound_only: bool,
) -> Result<Vec<(Account, Message)>, ToolError> {
    let Some(wamid) = non_blank(wamid.as_deref()) else {
        let choices = guide::recent_messages(cx, accounts, inbound_only).await?;
        return Err(ToolError::MissingArgument {
            tool,
            argument: "waMessageId",
            hint: format!("pass the wamid of a message (it starts with wamid.). {choices}"),
        });
    };
    let mut found = cx
        .store
        .find_messages_by_wamid(&ids(accounts), wamid)
        .await?;
    let inbound = |(_, message): &(AccountId, Message)| message.direction == Direction::Inbound;
    if inbound_only && found.iter().any(inbound) {
        found.retain(inbound);
    }
    let copies: Vec<(Account, Message)> = found
        .into_iter()
        .filter_map(|(account_id, message)| {
            let account = accounts.iter().find(|a| a.id == account_id)?;
            Some((account.clone(), message))
        })
        .collect();
    if copies.is_empty() {
        if let Some(error) = in_other_account(cx, accounts, Sought::Message(wamid)).await? {
            return Err(error);
        }
        return Err(ToolError::MessageNotFound {
            wamid: echoed(wamid),
            hint: format!(
                "no reachable account has it. {}",
                guide::recent_messages(cx, accounts, inbound_only).await?
            ),
        });
    }
    Ok(copies)
}

/// Builds the error for a message of which `copies` are stored in several
/// of `accounts`. It names those accounts in the order of `accounts` and
/// requests `from`.
pub(super) fn ambiguous_message(accounts: &[Account], copies: &[(Account, Message)]) -> ToolError {
    let holders: Vec<Account> = accounts
        .iter()
        .filter(|account| copies.iter().any(|(holder, _)| holder.id == account.id))
        .cloned()
        .collect();
    let wamid = copies
        .first()
        .and_then(|(_, message)| message.wamid.as_deref())
        .unwrap_or_default();
    ToolError::AmbiguousMessage {
        wamid: echoed(wamid),
        accounts: format_accounts(&holders),
    }
}
