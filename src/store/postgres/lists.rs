//! Conversation lists on PostgreSQL: each account's conversations in list
//! order, read from the `conversations_recent` index, from the start or
//! after a sort key. None of the accounts means no rows.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres};

use super::rows::{self, conversation_columns};
use super::{backend, sql_limit};
use crate::store::*;

/// Builds the query of one account's conversations in list order that pass
/// the filters and `$position`. `$1` is the account, `$2` whether only
/// unanswered conversations pass, `$3` the limit, `$4` and `$5` whether
/// only active or only archived ones pass. An unanswered conversation is
/// one whose newest message that did not fail is inbound: the customer
/// wrote last, or every reply since then failed.
macro_rules! list_sql {
    ($position:literal) => {
        concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id \
             WHERE c.account_id = $1 \
             AND (NOT $2 OR c.last_message_direction = 'inbound' \
                  OR (c.last_message_direction = 'outbound' \
                      AND (SELECT m.direction FROM messages m \
                           WHERE m.conversation_id = c.id AND m.status <> 'failed' \
                           ORDER BY m.timestamp DESC, m.id DESC LIMIT 1) = 'inbound')) \
             AND (NOT $4 OR c.archived_at IS NULL) \
             AND (NOT $5 OR c.archived_at IS NOT NULL) ",
            $position,
            " ORDER BY c.last_message_at DESC NULLS LAST, c.id LIMIT $3"
        )
    };
}

/// The first conversations of an account.
const FIRST: &str = list_sql!("");
/// The conversations with a last message that follow a sort key (`$6` its
/// time, `$7` its id): older ones, and those of the same time with a
/// greater id. The first condition makes the index scan a range.
const DATED_AFTER: &str =
    list_sql!("AND c.last_message_at <= $6 AND (c.last_message_at < $6 OR c.id > $7)");
/// The conversations without a message whose id is greater than `$6`.
const UNDATED_AFTER: &str = list_sql!("AND c.last_message_at IS NULL AND c.id > $6");

/// Lists conversations of these accounts that `archive` lets through, most
/// recent first, starting after the sort key `after` when one is given.
/// With `unanswered`, only unanswered ones are listed (see `list_sql!`).
///
/// Each account is read on its own, so that PostgreSQL walks the
/// `conversations_recent` index in order and stops after `limit` rows.
/// After a sort key, an account's conversations with a last message are
/// read first and those without one next, each a range of the index that
/// starts at the key.
///
/// NOTE: `c.id > $7` compares in the database's collation while
/// [`ConversationSummary::most_recent_first`] compares bytes. Both agree
/// because every conversation id is a lower-case UUID, whose hyphens stand
/// at the same places.
pub(crate) async fn list_conversations(
    pool: &PgPool,
    accounts: &[AccountId],
    unanswered: bool,
    archive: ArchiveFilter,
    after: Option<&ConversationSortKey>,
    limit: u32,
) -> StoreResult<Vec<ConversationSummary>> {
    if accounts.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let filters = Filters {
        unanswered,
        archive,
    };
    let mut conversations = Vec::new();
    for account in accounts {
        let Some(key) = after else {
            let query = filters.query(FIRST, account, limit);
            fetch(pool, query, &mut conversations).await?;
            continue;
        };
        let mut read = 0;
        // Conversation ids are UUIDs, so each one is greater than "".
        let mut undated_after = "";
        match key.last_message_at {
            Some(at) => {
                let query = filters.query(DATED_AFTER, account, limit);
                let query = query.bind(at).bind(key.id.as_str());
                read = fetch(pool, query, &mut conversations).await?;
            }
            None => undated_after = key.id.as_str(),
        }
        if read < limit {
            let query = filters.query(UNDATED_AFTER, account, limit - read);
            fetch(pool, query.bind(undated_after), &mut conversations).await?;
        }
    }
    if accounts.len() > 1 {
        conversations.sort_by(ConversationSummary::most_recent_first);
        conversations.truncate(limit as usize);
    }
    Ok(conversations)
}

/// The filters of one list, bound as `$2`, `$4` and `$5` of `list_sql!`.
struct Filters {
    unanswered: bool,
    archive: ArchiveFilter,
}

impl Filters {
    /// Starts the query `sql` of `account` with these filters and `limit`.
    fn query(
        &self,
        sql: &'static str,
        account: &AccountId,
        limit: u32,
    ) -> Query<'static, Postgres, PgArguments> {
        sqlx::query(sql)
            .bind(account.as_str())
            .bind(self.unanswered)
            .bind(sql_limit(limit))
            .bind(self.archive == ArchiveFilter::Active)
            .bind(self.archive == ArchiveFilter::Archived)
    }
}

/// Runs `query`, appends its conversations and returns how many it read.
async fn fetch(
    pool: &PgPool,
    query: Query<'static, Postgres, PgArguments>,
    conversations: &mut Vec<ConversationSummary>,
) -> StoreResult<u32> {
    let rows: Vec<PgRow> = query.fetch_all(pool).await.map_err(backend)?;
    for row in &rows {
        conversations.push(rows::conversation(row)?);
    }
    Ok(rows.len() as u32)
}
