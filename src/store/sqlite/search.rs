//! Full-text search over message text with FTS5.

use rusqlite::{Connection, params};

use super::json_ids;
use super::rows::{self, MESSAGE_COLUMN_COUNT, MESSAGE_COLUMNS};
use crate::store::{AccountId, SEARCH_RANKED_MATCHES, SearchHit, StoreResult};

/// Searches message text in `accounts`: ranks the `SEARCH_RANKED_MATCHES`
/// most recently stored matches (by rowid, which grows with every insert,
/// so the planner walks the full-text index backwards and stops early) and
/// returns the best first. `rank` is the negated bm25 score, so a
/// higher rank is a better match.
pub(super) fn search_messages(
    conn: &Connection,
    accounts: &[AccountId],
    query: &str,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    let Some(fts_query) = fts_query(query) else {
        return Ok(Vec::new());
    };
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    // Only the best `limit` rows are joined with the message, conversation
    // and contact tables; joining all ranked matches first cost more than
    // ranking them.
    let sql = format!(
        "WITH recent AS ( \
             SELECT messages_fts.rowid AS rowid, -bm25(messages_fts) AS score \
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
             WHERE messages_fts MATCH ?1 AND m.account_id IN (SELECT value FROM json_each(?2)) \
             ORDER BY messages_fts.rowid DESC LIMIT {SEARCH_RANKED_MATCHES}), \
         best AS (SELECT rowid, score FROM recent ORDER BY score DESC, rowid DESC LIMIT ?3) \
         SELECT {MESSAGE_COLUMNS}, m.account_id, c.profile_name, c.wa_id, best.score \
         FROM best \
         JOIN messages m ON m.rowid = best.rowid \
         JOIN conversations v ON v.id = m.conversation_id \
         JOIN contacts c ON c.id = v.contact_id \
         ORDER BY best.score DESC, best.rowid DESC"
    );
    let hits = conn
        .prepare_cached(&sql)?
        .query_map(params![fts_query, json_ids(accounts)?, limit], |row| {
            let extra = MESSAGE_COLUMN_COUNT;
            Ok(SearchHit {
                message: rows::message(row)?,
                account_id: AccountId(row.get(extra)?),
                contact_name: row.get(extra + 1)?,
                wa_id: row.get(extra + 2)?,
                rank: row.get(extra + 3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hits)
}

/// Indexes the messages waiting in `messages_fts_pending`. The writer
/// calls it once per transaction, right before COMMIT, so FTS5 writes the
/// new index data once per group instead of at every job's savepoint.
pub(super) fn index_pending_messages(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages_fts (rowid, text) \
         SELECT m.rowid, m.text FROM messages_fts_pending p \
         JOIN messages m ON m.rowid = p.message_rowid",
    )?
    .execute([])?;
    conn.prepare_cached("DELETE FROM messages_fts_pending")?
        .execute([])?;
    Ok(())
}

/// Turns free text into an FTS5 query that matches messages containing
/// every term. Each whitespace-separated term becomes a quoted string, so
/// quotes, `*`, `-`, `NEAR`, `OR` and column filters in the input are
/// searched as text and never parsed as FTS5 syntax. Terms without a letter
/// or digit are dropped because the tokenizer yields nothing for them.
/// Returns `None` when no term is left.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .map(|term| format!("\"{}\"", term.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn fts_query_quotes_each_term() {
        assert_eq!(
            fts_query("hello world").as_deref(),
            Some("\"hello\" \"world\"")
        );
    }

    #[test]
    fn fts_query_escapes_quotes() {
        assert_eq!(fts_query("say \"hi").as_deref(), Some("\"say\" \"\"\"hi\""));
    }

    #[test]
    fn fts_query_drops_punctuation_terms() {
        assert_eq!(fts_query("- * \" ( )"), None);
        assert_eq!(fts_query("   "), None);
        assert_eq!(
            fts_query("a*  OR -b").as_deref(),
            Some("\"a*\" \"OR\" \"-b\"")
        );
    }
}
