//! The conversation read tools: `list_conversations`, `list_unanswered` and
//! `get_conversation`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::echo::echoed;
use crate::phone::PhoneNumber;
use crate::store::{
    Account, AccountId, ArchiveFilter, ConversationId, ConversationRef, ConversationSummary,
    Direction,
};

use super::accounts::{Sought, in_other_account};
use super::list_page::{List, ListKind};
use super::output::{AccountOut, ConversationOut, MessageOut, UnansweredOut, quoted_name};
use super::{
    GET_CONVERSATION, LIST_CONVERSATIONS, LIST_UNANSWERED, Summary, ToolContext, ToolError,
    format_accounts, guide, limit_or_default, non_blank, require, resolve_accounts,
};

/// Conversations listed as choices in a guided error.
const CHOICES_LIMIT: u32 = 10;

/// Arguments of `list_conversations`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListConversationsArgs {
    /// Sender number (E.164, for example +15550001111) or account id of the
    /// account to read; omit to cover every account this key reaches.
    pub from: Option<String>,
    /// Maximum number of conversations, 1 to 200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    /// `false` lists only conversations that are not archived, and `true`
    /// only archived ones. Omit it to list both.
    pub archived: Option<bool>,
    /// `nextCursor` of an earlier call with the same `from` and `archived`,
    /// to list the conversations that follow its page. Omit it to start
    /// with the most recent.
    pub cursor: Option<String>,
}

/// Result of `list_conversations`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListConversationsOutput {
    /// The accounts that were read.
    pub accounts: Vec<AccountOut>,
    /// Most recent first.
    pub conversations: Vec<ConversationOut>,
    /// `true` when more conversations exist than `limit` let through.
    pub more: bool,
    /// Pass it as `cursor` to list the conversations that follow; present
    /// only when `more` is `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Summary for ListConversationsOutput {
    fn summary(&self) -> String {
        let unread = self
            .conversations
            .iter()
            .filter(|c| c.unread_count > 0)
            .count();
        let open = self.conversations.iter().filter(|c| c.window.open).count();
        format!(
            "{} conversation(s) on {}: {unread} with unread messages, {open} with an open 24h \
             window.{}",
            self.conversations.len(),
            describe_accounts(&self.accounts),
            more_note(self.more, self.conversations.len())
        )
    }
}

/// Lists conversations of the resolved accounts, most recent first.
pub async fn list_conversations(
    cx: &ToolContext<'_>,
    args: ListConversationsArgs,
) -> Result<ListConversationsOutput, ToolError> {
    require(cx.principal, LIST_CONVERSATIONS)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let limit = limit_or_default(args.limit, 50, MAX_LIST_LIMIT);
    let list = List {
        kind: ListKind::Conversations,
        accounts: &accounts,
        archive: ArchiveFilter::from_argument(args.archived),
    };
    let page = list.read_page(cx, args.cursor.as_deref(), limit).await?;
    Ok(ListConversationsOutput {
        conversations: page
            .rows
            .iter()
            .map(|r| ConversationOut::new(r, &accounts, cx.now))
            .collect(),
        accounts: accounts.iter().map(AccountOut::from).collect(),
        more: page.more,
        next_cursor: page.next_cursor,
    })
}

/// Arguments of `list_unanswered`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListUnansweredArgs {
    /// Sender number (E.164, for example +15550001111) or account id of the
    /// account to read; omit to cover every account this key reaches.
    pub from: Option<String>,
    /// Maximum number of conversations, 1 to 200 (default 20).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
    /// `false` lists only conversations that are not archived, and `true`
    /// only archived ones. Omit it to list both.
    pub archived: Option<bool>,
    /// `nextCursor` of an earlier call with the same `from` and `archived`,
    /// to list the conversations that follow its page. Omit it to start
    /// with the most recent.
    pub cursor: Option<String>,
}

/// Result of `list_unanswered`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListUnansweredOutput {
    pub accounts: Vec<AccountOut>,
    /// Conversations where the customer wrote last, or every reply since
    /// failed, by their last message in either direction, newest first. A
    /// failed reply counts, so `receivedAt` need not descend.
    pub conversations: Vec<UnansweredOut>,
    /// `true` when more such conversations exist than `limit` let through.
    pub more: bool,
    /// Pass it as `cursor` to list the conversations that follow; present
    /// only when `more` is `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Summary for ListUnansweredOutput {
    fn summary(&self) -> String {
        let open = self.conversations.iter().filter(|c| c.window.open).count();
        format!(
            "{} conversation(s) on {} wait for a reply; {open} can still get a free-form reply \
             inside the 24h window.{}",
            self.conversations.len(),
            describe_accounts(&self.accounts),
            more_note(self.more, self.conversations.len())
        )
    }
}

/// Highest `limit` of list_conversations and list_unanswered.
const MAX_LIST_LIMIT: u32 = 200;

/// Appends to a list's summary that the list stopped at its limit, after
/// `listed` rows, and how to see the rest.
fn more_note(more: bool, listed: usize) -> &'static str {
    if !more {
        ""
    } else if listed < MAX_LIST_LIMIT as usize {
        " More exist than the limit let through: pass nextCursor as `cursor` to list the next \
         page, or pass a higher limit (up to 200)."
    } else {
        " More exist than the limit let through: pass nextCursor as `cursor` to list the next \
         page."
    }
}

/// Lists conversations where the customer wrote last, or every reply since
/// failed, by their last message in either direction, newest first.
pub async fn list_unanswered(
    cx: &ToolContext<'_>,
    args: ListUnansweredArgs,
) -> Result<ListUnansweredOutput, ToolError> {
    require(cx.principal, LIST_UNANSWERED)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let limit = limit_or_default(args.limit, 20, MAX_LIST_LIMIT);
    let list = List {
        kind: ListKind::Unanswered,
        accounts: &accounts,
        archive: ArchiveFilter::from_argument(args.archived),
    };
    let page = list.read_page(cx, args.cursor.as_deref(), limit).await?;
    let mut conversations = Vec::with_capacity(page.rows.len());
    for row in &page.rows {
        conversations.push(unanswered_row(cx, row, &accounts).await?);
    }
    Ok(ListUnansweredOutput {
        conversations,
        accounts: accounts.iter().map(AccountOut::from).collect(),
        more: page.more,
        next_cursor: page.next_cursor,
    })
}

/// Messages read to find the customer's message before failed replies.
const FAILED_REPLIES_READ: u32 = 20;

/// Builds the row of an unanswered conversation. When its last message is
/// a failed reply, the row shows the customer's message before it, found
/// among the newest [`FAILED_REPLIES_READ`] messages.
async fn unanswered_row(
    cx: &ToolContext<'_>,
    row: &ConversationSummary,
    accounts: &[Account],
) -> Result<UnansweredOut, ToolError> {
    if row.last_message_direction != Some(Direction::Outbound) {
        return Ok(UnansweredOut::new(row, accounts, cx.now));
    }
    let messages = cx
        .store
        .conversation_messages(&row.id, FAILED_REPLIES_READ)
        .await?;
    let inbound = messages
        .iter()
        .rev()
        .find(|message| message.direction == Direction::Inbound);
    Ok(match inbound {
        Some(inbound) => UnansweredOut::after_failed_reply(row, inbound, accounts, cx.now),
        None => UnansweredOut::new(row, accounts, cx.now),
    })
}

/// Arguments of `get_conversation`. One of `conversationId` and `phone` is required.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetConversationArgs {
    /// Sender number (E.164, for example +15550001111) or account id of the
    /// account to read; omit to search every account this key reaches.
    pub from: Option<String>,
    /// Conversation id from list_conversations. With `phone` as well, both must name it.
    pub conversation_id: Option<String>,
    /// The customer's phone number, in any common form (+49 30 1234567, 004930…).
    pub phone: Option<String>,
    /// Maximum number of messages, newest kept, 1 to 200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub message_limit: Option<u32>,
}

/// Result of `get_conversation`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetConversationOutput {
    pub conversation: ConversationOut,
    /// The newest messages, oldest first.
    pub messages: Vec<MessageOut>,
}

impl Summary for GetConversationOutput {
    fn summary(&self) -> String {
        let contact = &self.conversation.contact;
        let name = contact.name.as_deref().map(|name| quoted_name(Some(name)));
        let who = match (name, &contact.phone) {
            (Some(name), Some(phone)) => format!("{name} ({phone})"),
            (None, Some(phone)) => phone.clone(),
            (Some(name), None) => name,
            (None, None) => contact.wa_id.clone(),
        };
        let window = &self.conversation.window;
        let window = match (&window.expires_at, window.open) {
            (Some(at), true) => format!("24h window open until {at}"),
            (Some(at), false) => format!("24h window closed at {at}"),
            (None, _) => "24h window closed".to_owned(),
        };
        format!(
            "Conversation with {who}: {} message(s) shown; {window}.",
            self.messages.len()
        )
    }
}

/// Returns one conversation with its newest messages, oldest first.
pub async fn get_conversation(
    cx: &ToolContext<'_>,
    args: GetConversationArgs,
) -> Result<GetConversationOutput, ToolError> {
    require(cx.principal, GET_CONVERSATION)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let limit = limit_or_default(args.message_limit, 50, 200);
    let conversation_id = args.conversation_id.as_deref();
    let phone = args.phone.as_deref();
    let found = match unambiguous_ref(&accounts, conversation_id, phone) {
        Some(by) => {
            cx.store
                .read_conversation(&ids(&accounts), &by, limit)
                .await?
        }
        None => None,
    };
    let (summary, messages) = match found {
        Some(found) => found,
        // `locate` returns the guided error, or finds which account's
        // conversation a phone number names.
        None => {
            let summary = locate(cx, GET_CONVERSATION, &accounts, conversation_id, phone).await?;
            let messages = cx.store.conversation_messages(&summary.id, limit).await?;
            (summary, messages)
        }
    };
    Ok(GetConversationOutput {
        conversation: ConversationOut::new(&summary, &accounts, cx.now),
        messages: messages.iter().map(MessageOut::from).collect(),
    })
}

/// Returns a reference that names at most one conversation: an id, or a
/// valid phone number when there is one account to look in. An id given
/// with a phone number returns `None`, so that `locate` checks that both
/// name the same conversation.
fn unambiguous_ref(
    accounts: &[Account],
    conversation_id: Option<&str>,
    phone: Option<&str>,
) -> Option<ConversationRef> {
    if let Some(id) = non_blank(conversation_id) {
        return non_blank(phone)
            .is_none()
            .then(|| ConversationRef::Id(read_conversation_id(id)));
    }
    let phone = PhoneNumber::parse(non_blank(phone)?).ok()?;
    (accounts.len() == 1).then(|| ConversationRef::Phone(phone.digits().to_owned()))
}

/// Reads a `conversationId` argument. Conversation ids are UUIDs, which
/// Pons writes in lower case, and a UUID in upper case names the same one.
fn read_conversation_id(argument: &str) -> ConversationId {
    ConversationId(argument.to_ascii_lowercase())
}

/// Finds the most recent conversation of `accounts` with the customer
/// `phone`, under any WhatsApp id the number may have (see
/// [`PhoneNumber::wa_id_forms`]), its own digits first.
pub(super) async fn find_with_number(
    cx: &ToolContext<'_>,
    accounts: &[AccountId],
    phone: &PhoneNumber,
) -> Result<Option<ConversationSummary>, ToolError> {
    for wa_id in phone.wa_id_forms() {
        let by = ConversationRef::Phone(wa_id);
        if let Some(found) = cx.store.find_conversation(accounts, &by).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Finds the conversation a tool names by `conversationId` or by the
/// customer's `phone`, within `accounts`. When both are given, they must
/// name the same conversation. Neither given is a guided missing-argument
/// error listing recent conversations.
pub(super) async fn locate(
    cx: &ToolContext<'_>,
    tool: &'static str,
    accounts: &[Account],
    conversation_id: Option<&str>,
    phone: Option<&str>,
) -> Result<ConversationSummary, ToolError> {
    if let Some(id) = non_blank(conversation_id) {
        let conversation_id = read_conversation_id(id);
        let by = ConversationRef::Id(conversation_id.clone());
        let Some(found) = cx.store.find_conversation(&ids(accounts), &by).await? else {
            let sought = Sought::Conversation(&conversation_id);
            if let Some(error) = in_other_account(cx, accounts, sought).await? {
                return Err(error);
            }
            return Err(not_found(cx, accounts, id).await?);
        };
        if let Some(phone) = non_blank(phone) {
            let parsed = PhoneNumber::parse(phone).map_err(|source| ToolError::InvalidPhone {
                argument: "phone",
                source,
            })?;
            let account = std::slice::from_ref(&found.account_id);
            let named = find_with_number(cx, account, &parsed).await?;
            if named.is_none_or(|named| named.id != found.id) {
                // Only a key with `read` learns whom the conversation is with.
                let with = if guide::can_read(cx) {
                    format!("is with +{}, not with", found.wa_id)
                } else {
                    "is not with".to_owned()
                };
                return Err(ToolError::InvalidArgument {
                    argument: "phone",
                    reason: format!(
                        "conversation {} {with} {}; pass only one of conversationId and \
                         phone, or both of one conversation",
                        found.id,
                        echoed(phone)
                    ),
                });
            }
        }
        return Ok(found);
    }
    if let Some(phone) = non_blank(phone) {
        return find_by_phone(cx, accounts, phone).await;
    }
    Err(ToolError::MissingArgument {
        tool,
        argument: "conversationId",
        hint: format!(
            "pass `conversationId` or the customer's `phone`. {}",
            recent_choices(cx, accounts).await?
        ),
    })
}

/// Tells whether `conversation_id` and `phone`, where given, both name
/// `conversation`, as [`locate`] reads them: blank values count as not
/// given, and a phone number in any common form names the conversation
/// with that customer. An invalid phone number names no conversation.
pub(super) fn names_conversation(
    conversation: &ConversationSummary,
    conversation_id: Option<&str>,
    phone: Option<&str>,
) -> bool {
    let id_names_it = non_blank(conversation_id)
        .is_none_or(|id| conversation.id.as_str().eq_ignore_ascii_case(id));
    let phone_names_it = non_blank(phone).is_none_or(|phone| {
        PhoneNumber::parse(phone).is_ok_and(|parsed| parsed.digits() == conversation.wa_id)
    });
    id_names_it && phone_names_it
}

/// Finds the conversation with a customer's number. A number that talks to
/// several of the accounts is ambiguous and needs `from`.
async fn find_by_phone(
    cx: &ToolContext<'_>,
    accounts: &[Account],
    phone: &str,
) -> Result<ConversationSummary, ToolError> {
    let parsed = PhoneNumber::parse(phone).map_err(|source| ToolError::InvalidPhone {
        argument: "phone",
        source,
    })?;
    let mut found = Vec::new();
    for account in accounts {
        if let Some(row) = find_with_number(cx, std::slice::from_ref(&account.id), &parsed).await? {
            found.push((account.clone(), row));
        }
    }
    match found.len() {
        0 => Err(not_found(cx, accounts, &parsed.e164()).await?),
        1 => Ok(found.remove(0).1),
        _ => {
            let matched: Vec<Account> = found.into_iter().map(|(a, _)| a).collect();
            Err(ToolError::AmbiguousConversation {
                phone: parsed.e164(),
                accounts: format_accounts(&matched),
            })
        }
    }
}

/// Builds the not-found error, listing recent conversations as choices.
async fn not_found(
    cx: &ToolContext<'_>,
    accounts: &[Account],
    value: &str,
) -> Result<ToolError, ToolError> {
    Ok(ToolError::ConversationNotFound {
        value: echoed(value),
        hint: format!(
            "no reachable account has it ({}). {}",
            format_accounts(accounts),
            recent_choices(cx, accounts).await?
        ),
    })
}

/// Names recent conversations as valid choices, but only to a caller whose
/// scopes allow reading them.
pub(super) async fn recent_choices(
    cx: &ToolContext<'_>,
    accounts: &[Account],
) -> Result<String, ToolError> {
    if !guide::can_read(cx) {
        return Ok(
            "A key with the `read` scope can list conversations with list_conversations."
                .to_owned(),
        );
    }
    let rows = cx
        .store
        .list_conversations(&ids(accounts), ArchiveFilter::Any, None, CHOICES_LIMIT)
        .await?;
    if rows.is_empty() {
        return Ok("These accounts have no conversations yet.".to_owned());
    }
    let choices: Vec<String> = rows
        .iter()
        .map(|row| {
            let out = ConversationOut::new(row, accounts, cx.now);
            let phone = out.contact.phone.unwrap_or(out.contact.wa_id);
            let name = quoted_name(out.contact.name.as_deref());
            format!("{phone} {name} (conversationId {})", out.id)
        })
        .collect();
    Ok(format!("Recent conversations: {}.", choices.join("; ")))
}

pub(super) fn ids(accounts: &[Account]) -> Vec<AccountId> {
    accounts.iter().map(|a| a.id.clone()).collect()
}

/// `+15550001111 (Shop)` for one account, `3 accounts` for several.
pub(super) fn describe_accounts(accounts: &[AccountOut]) -> String {
    match accounts {
        [one] => format!("{} ({})", one.phone, one.name),
        many => format!("{} accounts", many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_note_below_highest_limit_suggests_higher_limit() {
        assert!(more_note(true, 20).contains("pass a higher limit"));
        assert_eq!(more_note(false, 20), "");
    }

    #[test]
    fn more_note_below_highest_limit_names_cursor() {
        let note = more_note(true, 20);

        assert!(note.contains("pass nextCursor as `cursor`"), "{note}");
    }

    #[test]
    fn more_note_at_highest_limit_names_cursor() {
        let note = more_note(true, 200);

        assert!(!note.contains("higher limit"), "{note}");
        assert!(note.contains("pass nextCursor as `cursor`"), "{note}");
        assert!(!note.contains("pass `from`"), "{note}");
    }
}
