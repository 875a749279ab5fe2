//! Conversation lookups, message and search reads on PostgreSQL. Every read is
//! restricted to the accounts the caller passes; none means no rows.

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, PgPool, Row};

use super::rows::{self, conversation_columns, message_columns};
use super::{account_ids, backend, sql_limit};
use crate::store::*;

/// Finds a conversation of one of `accounts` by id, or by the customer's
/// number. When several accounts talk to that number, the most recent wins.
pub(crate) async fn find_conversation(
    pool: &PgPool,
    accounts: &[AccountId],
    by: &ConversationRef,
) -> StoreResult<Option<ConversationSummary>> {
    if accounts.is_empty() {
        return Ok(None);
    }
    let (sql, key) = match by {
        ConversationRef::Id(id) => (
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id \
                 WHERE c.account_id = ANY($1) AND c.id = $2"
            ),
            id.as_str(),
        ),
        ConversationRef::Phone(wa_id) => (
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id \
                 WHERE c.account_id = ANY($1) AND ct.wa_id = $2 \
                 ORDER BY c.last_message_at DESC NULLS LAST, c.id LIMIT 1"
            ),
            wa_id.as_str(),
        ),
    };
    if has_nul(key) {
        return Ok(None);
    }
    let row = sqlx::query(sql)
        .bind(account_ids(accounts))
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(rows::conversation).transpose()
}

/// Reads the newest `limit` messages and returns them oldest first. Ties on
/// the timestamp keep insertion order because ids are time-ordered UUIDv7.
pub(crate) async fn conversation_messages(
    pool: &PgPool,
    conversation: &ConversationId,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    let sql = concat!(
        "SELECT * FROM (SELECT ",
        message_columns!(),
        " FROM messages m WHERE m.conversation_id = $1 \
         ORDER BY m.timestamp DESC, m.id DESC LIMIT $2) AS m \
         ORDER BY m.timestamp, m.id"
    );
    let rows = sqlx::query(sql)
        .bind(conversation.as_str())
        .bind(sql_limit(limit))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(rows::message).collect()
}

/// Messages whose text contains every term of `query` (see
/// [`search_terms`]): ranks the `SEARCH_RANKED_MATCHES` most recent
/// matches, best rank first. The terms go to PostgreSQL as an array, and
/// the SQL function `pons_search_query` turns them into a tsquery with the
/// same word splitting as the search column, so quotes and operators in
/// them never cause a syntax error.
///
/// Each account's recent matches are read apart, so that PostgreSQL can
/// choose per query between walking the account's messages newest first
/// (a common word) and the full-text index (a rare one). That choice needs
/// the query's words when planning, so the statement is not kept prepared:
/// a plan kept for any words would scan every message for a rare one.
///
/// The matches are sorted and ranked on their id, timestamp and search
/// column alone. Only the best `limit` rows are then read in full and
/// joined to their conversation and contact, so the sort carries narrow
/// rows (docs/benchmarks.md has the timings).
pub(crate) async fn search_messages(
    pool: &PgPool,
    accounts: &[AccountId],
    query: &str,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    let terms = search_terms(query);
    if accounts.is_empty() || limit == 0 || terms.is_empty() {
        return Ok(Vec::new());
    }
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        ", c.account_id, ct.profile_name, ct.wa_id, r.rank \
         FROM (SELECT r.id, r.timestamp, ts_rank(r.search, pons_search_query($2::text[]))::float8 AS rank \
               FROM (SELECT m.id, m.timestamp, m.search \
                     FROM (SELECT DISTINCT unnest($1::text[]) AS id) AS a \
                     CROSS JOIN LATERAL (SELECT m.id, m.timestamp, m.search FROM messages m \
                         WHERE m.account_id = a.id \
                         AND m.search @@ pons_search_query($2::text[]) \
                         ORDER BY m.timestamp DESC, m.id DESC LIMIT $4) AS m \
                     ORDER BY m.timestamp DESC, m.id DESC LIMIT $4) AS r \
               ORDER BY rank DESC, r.timestamp DESC, r.id DESC LIMIT $3) AS r \
         JOIN messages m ON m.id = r.id \
         JOIN conversations c ON c.id = m.conversation_id \
         JOIN contacts ct ON ct.id = c.contact_id \
         ORDER BY r.rank DESC, r.timestamp DESC, r.id DESC"
    );
    let rows = sqlx::query(sql)
        .persistent(false)
        .bind(account_ids(accounts))
        .bind(terms)
        .bind(sql_limit(limit))
        .bind(i64::from(SEARCH_RANKED_MATCHES))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|row| {
            Ok(SearchHit {
                message: rows::message(row)?,
                account_id: AccountId(row.try_get("account_id").map_err(backend)?),
                contact_name: row.try_get("profile_name").map_err(backend)?,
                wa_id: row.try_get("wa_id").map_err(backend)?,
                rank: row.try_get("rank").map_err(backend)?,
            })
        })
        .collect()
}

/// Tells whether a lookup key contains NUL. PostgreSQL text cannot hold
/// NUL, so no stored id or wamid has one, and binding such a key fails the
/// query. Lookups return `None` for it, as SQLite does.
pub(super) fn has_nul(key: &str) -> bool {
    key.contains('\0')
}

/// Decodes `message_columns!()` followed by `m.account_id`.
fn message_with_account(row: &PgRow) -> StoreResult<(AccountId, Message)> {
    let account = AccountId(row.try_get("account_id").map_err(backend)?);
    Ok((account, rows::message(row)?))
}

/// Finds a message by its Pons id, on the pool or inside a transaction.
pub(crate) async fn find_message(
    executor: impl PgExecutor<'_>,
    id: &MessageId,
) -> StoreResult<Option<(AccountId, Message)>> {
    if has_nul(id.as_str()) {
        return Ok(None);
    }
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        ", m.account_id FROM messages m WHERE m.id = $1"
    );
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .fetch_optional(executor)
        .await
        .map_err(backend)?;
    row.as_ref().map(message_with_account).transpose()
}

/// Finds the messages of `accounts` with this wamid, oldest first.
pub(crate) async fn find_messages_by_wamid(
    pool: &PgPool,
    accounts: &[AccountId],
    wamid: &str,
) -> StoreResult<Vec<(AccountId, Message)>> {
    if accounts.is_empty() || has_nul(wamid) {
        return Ok(Vec::new());
    }
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        ", m.account_id FROM messages m WHERE m.account_id = ANY($1) AND m.wamid = $2 \
         ORDER BY m.created_at, m.id"
    );
    let rows = sqlx::query(sql)
        .bind(account_ids(accounts))
        .bind(wamid)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(message_with_account).collect()
}
