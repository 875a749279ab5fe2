//! Conversation lists: each account's conversations in list order, read
//! from the `conversations_recent` index, from the start or after a sort key.

use rusqlite::{CachedStatement, Connection, params};

use super::rows::{self, CONVERSATION_COLUMNS};
use crate::store::{
    AccountId, ArchiveFilter, ConversationSortKey, ConversationSummary, StoreResult,
};

/// Filter of a conversation list.
#[derive(Clone, Copy)]
pub(super) enum ConversationFilter {
    All,
    /// Only those whose newest message that did not fail is inbound: the
    /// customer wrote last, or every reply since then failed.
    Unanswered,
}

/// Conversations of `accounts` that `filter` and `archive` let through,
/// most recent message first, then by id, starting after the sort key
/// `after` when one is given.
///
/// Each account is read on its own: SQLite then walks the
/// `conversations_recent` index and stops after `limit` rows. A query over
/// all accounts at once sorted every conversation of every account.
pub(super) fn list_conversations(
    conn: &Connection,
    accounts: &[AccountId],
    filter: ConversationFilter,
    archive: ArchiveFilter,
    after: Option<&ConversationSortKey>,
    limit: u32,
) -> StoreResult<Vec<ConversationSummary>> {
    let direction = match filter {
        ConversationFilter::All => "",
        // The subquery runs only for a conversation whose last message is
        // outbound, and usually stops at that message.
        ConversationFilter::Unanswered => {
            "AND (v.last_message_direction = 'inbound' \
             OR (v.last_message_direction = 'outbound' \
                 AND (SELECT m.direction FROM messages m \
                      WHERE m.conversation_id = v.id AND m.status <> 'failed' \
                      ORDER BY m.timestamp DESC, m.rowid DESC LIMIT 1) = 'inbound'))"
        }
    };
    let archived = match archive {
        ArchiveFilter::Any => "",
        ArchiveFilter::Active => "AND v.archived_at IS NULL",
        ArchiveFilter::Archived => "AND v.archived_at IS NOT NULL",
    };
    let filters = format!("{direction} {archived}");
    let mut conversations = Vec::new();
    match after {
        None => {
            let sql = list_sql(&filters, "", LIST_ORDER);
            let mut statement = conn.prepare_cached(&sql)?;
            for account in accounts {
                let params = params![account.as_str(), limit];
                read_rows(&mut statement, params, &mut conversations)?;
            }
        }
        Some(key) => {
            let queries = AfterQueries {
                dated: list_sql(&filters, DATED_AFTER, LIST_ORDER),
                undated: list_sql(&filters, UNDATED_AFTER, "v.id"),
            };
            for account in accounts {
                queries.read(conn, account, key, limit, &mut conversations)?;
            }
        }
    }
    if accounts.len() > 1 {
        conversations.sort_by(ConversationSummary::most_recent_first);
        conversations.truncate(limit as usize);
    }
    Ok(conversations)
}

/// Order of the conversation lists: most recent message first, those
/// without a message last, then by id.
const LIST_ORDER: &str = "v.last_message_at DESC NULLS LAST, v.id";

/// Returns the query of one account's conversations that pass `filters`
/// and `position`, ordered by `order`. `?1` is the account and `?2` the
/// limit.
fn list_sql(filters: &str, position: &str, order: &str) -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS} \
         FROM conversations v JOIN contacts c ON c.id = v.contact_id \
         WHERE v.account_id = ?1 {filters} {position} \
         ORDER BY {order} LIMIT ?2"
    )
}

/// Conditions of the conversations with a last message that follow a sort
/// key (`?3` its time, `?4` its id): older ones, and those of the same time
/// with a greater id. The first condition makes the index search a range.
const DATED_AFTER: &str = "AND v.last_message_at <= ?3 AND (v.last_message_at < ?3 OR v.id > ?4)";
/// Condition of the conversations without a message whose id is greater
/// than `?3`. SQLite sorts an account's conversations without a message by
/// id, which is cheap because they are few: of the webhook items, only a
/// customer's reaction opens a conversation without storing a message.
const UNDATED_AFTER: &str = "AND v.last_message_at IS NULL AND v.id > ?3";

/// The two queries of a list read after a sort key, built once per list.
struct AfterQueries {
    /// Conversations with a last message, with [`DATED_AFTER`].
    dated: String,
    /// Conversations without a message, with [`UNDATED_AFTER`].
    undated: String,
}

impl AfterQueries {
    /// Appends to `conversations` up to `limit` conversations of `account`
    /// that follow `key`: first those with a last message, then those
    /// without one. Each query reads a range of the `conversations_recent`
    /// index that starts at the key, so no row before it is read.
    fn read(
        &self,
        conn: &Connection,
        account: &AccountId,
        key: &ConversationSortKey,
        limit: u32,
        conversations: &mut Vec<ConversationSummary>,
    ) -> StoreResult<()> {
        let mut read = 0;
        // Conversation ids are UUIDs, so each one is greater than "".
        let mut undated_after = "";
        match key.last_message_at {
            Some(at) => {
                let params = params![account.as_str(), limit, at, key.id.as_str()];
                let mut statement = conn.prepare_cached(&self.dated)?;
                read = read_rows(&mut statement, params, conversations)?;
            }
            None => undated_after = key.id.as_str(),
        }
        if read < limit {
            let params = params![account.as_str(), limit - read, undated_after];
            let mut statement = conn.prepare_cached(&self.undated)?;
            read_rows(&mut statement, params, conversations)?;
        }
        Ok(())
    }
}

/// Runs a query of [`list_sql`], appends its rows to `conversations` and
/// returns how many it read.
fn read_rows(
    statement: &mut CachedStatement<'_>,
    params: impl rusqlite::Params,
    conversations: &mut Vec<ConversationSummary>,
) -> StoreResult<u32> {
    let mut read = 0;
    for row in statement.query_map(params, rows::conversation)? {
        conversations.push(row?);
        read += 1;
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::query_plan;

    #[test]
    fn after_key_queries_search_index_range() {
        for filters in ["", "AND v.archived_at IS NULL"] {
            let sql = list_sql(filters, DATED_AFTER, LIST_ORDER);
            let plan = query_plan(&sql, params!["a", 5, 7, "x"]);
            let range = "USING INDEX conversations_recent (account_id=? AND last_message_at<?)";
            assert!(plan.contains(range), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");

            let sql = list_sql(filters, UNDATED_AFTER, "v.id");
            let plan = query_plan(&sql, params!["a", 5, "x"]);
            let nulls = "USING INDEX conversations_recent (account_id=? AND last_message_at=?)";
            assert!(plan.contains(nulls), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
        }
    }
}
