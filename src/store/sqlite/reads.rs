//! Conversation lookups and message history.

use rusqlite::{Connection, OptionalExtension, params};

use super::json_ids;
use super::rows::{self, CONVERSATION_COLUMNS, MESSAGE_COLUMN_COUNT, MESSAGE_COLUMNS};
use crate::store::{
    AccountId, ConversationId, ConversationRef, ConversationSummary, Message, MessageId,
    StoreResult,
};

/// Finds a conversation of one of `accounts` by id, or by the customer's
/// number (the most recent one when several accounts talk to that number).
/// Each account is looked up on its own, through the primary key or the
/// contacts' `(account_id, wa_id)` index.
pub(super) fn find_conversation(
    conn: &Connection,
    accounts: &[AccountId],
    by: &ConversationRef,
) -> StoreResult<Option<ConversationSummary>> {
    let (condition, key) = match by {
        ConversationRef::Id(id) => ("v.id = ?2", id.as_str()),
        ConversationRef::Phone(digits) => ("c.wa_id = ?2 AND c.account_id = ?1", digits.as_str()),
    };
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} \
         FROM conversations v JOIN contacts c ON c.id = v.contact_id \
         WHERE v.account_id = ?1 AND {condition}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut found: Vec<ConversationSummary> = Vec::new();
    for account in accounts {
        if let Some(conversation) = statement
            .query_row(params![account.as_str(), key], rows::conversation)
            .optional()?
        {
            found.push(conversation);
        }
    }
    Ok(found
        .into_iter()
        .min_by(ConversationSummary::most_recent_first))
}

/// Returns the newest `limit` messages of the conversation, oldest first.
/// Of two messages with the same timestamp, the one stored first comes first.
pub(super) fn conversation_messages(
    conn: &Connection,
    conversation: &ConversationId,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    let mut messages: Vec<Message> = conn
        .prepare_cached(&conversation_messages_sql())?
        .query_map(params![conversation.as_str(), limit], rows::message)?
        .collect::<rusqlite::Result<_>>()?;
    messages.reverse();
    Ok(messages)
}

/// Returns the query of [`conversation_messages`].
fn conversation_messages_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = ?1 \
         ORDER BY m.timestamp DESC, m.rowid DESC LIMIT ?2"
    )
}

/// Reads `MESSAGE_COLUMNS` followed by `m.account_id`.
fn message_with_account(row: &rusqlite::Row<'_>) -> rusqlite::Result<(AccountId, Message)> {
    Ok((
        AccountId(row.get(MESSAGE_COLUMN_COUNT)?),
        rows::message(row)?,
    ))
}

/// Finds a message by its Pons id.
pub(super) fn find_message(
    conn: &Connection,
    id: &MessageId,
) -> StoreResult<Option<(AccountId, Message)>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS}, m.account_id FROM messages m WHERE m.id = ?1");
    let found = conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], message_with_account)
        .optional()?;
    Ok(found)
}

/// Finds the messages of `accounts` with this wamid, oldest first.
pub(super) fn find_messages_by_wamid(
    conn: &Connection,
    accounts: &[AccountId],
    wamid: &str,
) -> StoreResult<Vec<(AccountId, Message)>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, m.account_id FROM messages m \
         WHERE m.wamid = ?2 AND m.account_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY m.created_at, m.id"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![json_ids(accounts)?, wamid], message_with_account)?;
    let found = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::conversation_messages_sql;
    use crate::store::sqlite::query_plan;

    #[test]
    fn conversation_messages_read_in_index_order() {
        let plan = query_plan(&conversation_messages_sql(), ["c", "50"]);
        assert!(plan.contains("INDEX messages_conversation"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
