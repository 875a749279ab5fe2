//! Full-text search over message text with FTS5.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::index_merge::IndexWrites;
use super::json_ids;
use super::message_accounts::MessageAccounts;
use super::rows::{self, MESSAGE_COLUMN_COUNT, MESSAGE_COLUMNS};
use super::token_counts::{TokenCounts, docsize_count};
use super::writer::CommitHook;
use crate::store::{AccountId, SEARCH_RANKED_MATCHES, SearchHit, StoreResult, search_terms};

/// Searches message text in `reachable` and returns the best matches first.
/// It scores the `SEARCH_RANKED_MATCHES` most recently stored matches with
/// `match_score` (see [`super::score`]). Rowids grow with every insert and
/// the index stores each message under its rowid negated, so the planner
/// walks the full-text index forwards and stops early. Of two equal scores
/// the newer comes first, and `rank` is the score (higher is better).
/// When `reachable` is not every account, the account of each match is
/// read from `message_accounts`.
pub(super) fn search_messages(
    conn: &Connection,
    message_accounts: &MessageAccounts,
    reachable: &[AccountId],
    query: &str,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    let Some(fts_query) = fts_query(query) else {
        return Ok(Vec::new());
    };
    if reachable.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let accounts = json_ids(reachable)?;
    // The queries share one read transaction. Otherwise an account created
    // after the check below could have its messages among the candidates.
    let snapshot = conn.unchecked_transaction()?;
    let conn = &*snapshot;
    let mut best = if reaches_every_account(conn, &accounts)? {
        // Nothing to filter, so neither message rows nor their text are read.
        ranked_candidates(
            conn,
            "SELECT -rowid, match_score(messages_fts) FROM messages_fts \
             WHERE messages_fts MATCH ?1 ORDER BY rowid",
            params![fts_query],
        )?
    } else {
        candidates_of_accounts(conn, message_accounts, &fts_query, &accounts)?
    };
    // Candidates come newest first, so a stable sort keeps the newer of
    // two equal scores first.
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    best.truncate(limit as usize);

    let best_rowids: Vec<String> = best.iter().map(|(rowid, _)| rowid.to_string()).collect();
    let best_rowids = format!("[{}]", best_rowids.join(","));
    let mut found: HashMap<i64, SearchHit> = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, m.account_id, c.profile_name, c.wa_id, m.rowid \
             FROM messages m \
             JOIN conversations v ON v.id = m.conversation_id \
             JOIN contacts c ON c.id = v.contact_id \
             WHERE m.rowid IN (SELECT value FROM json_each(?1))"
        ))?
        .query_map([best_rowids], |row| {
            let extra = MESSAGE_COLUMN_COUNT;
            let hit = SearchHit {
                message: rows::message(row)?,
                account_id: AccountId(row.get(extra)?),
                contact_name: row.get(extra + 1)?,
                wa_id: row.get(extra + 2)?,
                rank: 0.0,
            };
            Ok((row.get(extra + 3)?, hit))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // A message deleted since the candidates were read is left out, and so
    // is a message of another account, which only a wrong entry in
    // `message_accounts` could have let through.
    let hits = best
        .into_iter()
        .filter_map(|(rowid, score)| {
            let mut hit = found.remove(&rowid)?;
            if !reachable.contains(&hit.account_id) {
                tracing::error!(
                    rowid,
                    account_id = %hit.account_id,
                    "search candidate of an account the key does not reach was dropped"
                );
                return None;
            }
            hit.rank = score;
            Some(hit)
        })
        .collect();
    snapshot.commit()?;
    Ok(hits)
}

/// Returns whether the JSON array `accounts` lists every account in the
/// database. A search for such a key need not check each match's account.
fn reaches_every_account(conn: &Connection, accounts: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT NOT EXISTS (SELECT 1 FROM accounts \
         WHERE id NOT IN (SELECT value FROM json_each(?1)))",
    )?
    .query_row([accounts], |row| row.get(0))
}

/// Returns the `SEARCH_RANKED_MATCHES` newest matches (rowid and score,
/// newest first) in the accounts of the JSON array `accounts`. The account
/// of each match comes from `message_accounts`, or from the message row
/// when `message_accounts` has no entry for it.
fn candidates_of_accounts(
    conn: &Connection,
    message_accounts: &MessageAccounts,
    fts_query: &str,
    accounts: &str,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let account_rowids: Vec<i64> = conn
        .prepare_cached("SELECT rowid FROM accounts WHERE id IN (SELECT value FROM json_each(?1))")?
        .query_map([accounts], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stored_account = conn.prepare_cached(
        "SELECT a.rowid FROM messages m JOIN accounts a ON a.id = m.account_id \
         WHERE m.rowid = ?1",
    )?;
    let mut matches = conn.prepare_cached(
        "SELECT -rowid, match_score(messages_fts) FROM messages_fts \
         WHERE messages_fts MATCH ?1 ORDER BY rowid",
    )?;
    let mut rows = matches.query([fts_query])?;
    let mut candidates = Vec::new();
    while candidates.len() < SEARCH_RANKED_MATCHES as usize {
        let Some(row) = rows.next()? else {
            break;
        };
        let rowid: i64 = row.get(0)?;
        let account = match message_accounts.get(rowid) {
            Some(account) => Some(account),
            None => stored_account
                .query_row([rowid], |row| row.get(0))
                .optional()?,
        };
        if account.is_some_and(|account| account_rowids.contains(&account)) {
            candidates.push((rowid, row.get(1)?));
        }
    }
    Ok(candidates)
}

/// Runs a candidate query (rowid and score, newest first) with the
/// `SEARCH_RANKED_MATCHES` limit appended.
fn ranked_candidates(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    conn.prepare_cached(&format!("{sql} LIMIT {SEARCH_RANKED_MATCHES}"))?
        .query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect()
}

/// The writer's commit hook: indexes the messages waiting in
/// `messages_fts_pending` once per transaction, right before COMMIT, so FTS5
/// writes the new index data once per group instead of at every job's
/// savepoint. It keeps [`TokenCounts`] and [`MessageAccounts`] in step with
/// the index: a message's entries are cleared before the COMMIT that
/// indexes it and stored after.
pub(super) struct SearchIndexer {
    counts: Arc<TokenCounts>,
    accounts: Arc<MessageAccounts>,
    writes: IndexWrites,
    /// Rowids indexed by the transaction being committed, with their token
    /// counts and account rowids.
    indexed: Vec<Indexed>,
}

/// A message indexed by the transaction being committed.
struct Indexed {
    rowid: i64,
    count: Option<u64>,
    account: Option<i64>,
}

impl SearchIndexer {
    pub(super) fn new(
        counts: Arc<TokenCounts>,
        accounts: Arc<MessageAccounts>,
        writes: IndexWrites,
    ) -> SearchIndexer {
        SearchIndexer {
            counts,
            accounts,
            writes,
            indexed: Vec::new(),
        }
    }
}

impl CommitHook for SearchIndexer {
    fn before_commit(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        // Counts of a group that did not commit are dropped; their slots
        // stay cleared.
        self.indexed.clear();
        // FTS5 writes its pending data out as a new segment whenever a
        // rowid is lower than the one before, so the rows go in ascending
        // index order: newest message first.
        conn.prepare_cached(
            "INSERT INTO messages_fts (rowid, text) \
             SELECT -m.rowid, m.text FROM messages_fts_pending p \
             JOIN messages m ON m.rowid = p.message_rowid \
             ORDER BY p.message_rowid DESC",
        )?
        .execute([])?;
        let mut statement = conn.prepare_cached(
            "SELECT p.message_rowid, d.sz, a.rowid FROM messages_fts_pending p \
             LEFT JOIN messages_fts_docsize d ON d.id = -p.message_rowid \
             LEFT JOIN messages m ON m.rowid = p.message_rowid \
             LEFT JOIN accounts a ON a.id = m.account_id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            self.counts.clear(rowid);
            self.accounts.clear(rowid);
            self.indexed.push(Indexed {
                rowid,
                count: row.get_ref(1)?.as_blob_or_null()?.and_then(docsize_count),
                account: row.get(2)?,
            });
        }
        conn.prepare_cached("DELETE FROM messages_fts_pending")?
            .execute([])?;
        Ok(())
    }

    fn after_commit(&mut self) {
        if !self.indexed.is_empty() {
            self.writes.record();
        }
        for indexed in self.indexed.drain(..) {
            if let Some(count) = indexed.count {
                self.counts.set(indexed.rowid, count);
            }
            if let Some(account) = indexed.account {
                self.accounts.set(indexed.rowid, account);
            }
        }
    }
}

/// Turns free text into an FTS5 query that matches messages containing
/// every term of [`search_terms`]. Each term becomes a quoted string (an
/// FTS5 phrase), so quotes, `*`, `-`, `NEAR`, `OR` and column filters in the
/// input are searched as text and never parsed as FTS5 syntax. Returns
/// `None` when no term is left.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = search_terms(text)
        .into_iter()
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
