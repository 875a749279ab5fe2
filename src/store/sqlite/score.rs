//! `match_score`, an FTS5 ranking function: BM25 without document
//! frequencies.
//!
//! FTS5's `bm25()` counts the messages that contain each query term over
//! the whole index before it scores the first row: about 10 ms for a common
//! word at a million messages, paid by every search. Search only ranks the
//! most recent matches, each of which contains every term, so that count
//! changes no order for a one-word query and little for a longer one.
//!
//! Here every term weighs the same. The term frequency comes from the
//! match's position list and the length normalisation from the match's
//! token count, read from [`TokenCounts`] in memory, or from FTS5's own
//! table when the count is not there. Scoring a match reads neither the
//! message row nor its text. Queries call it as `match_score(messages_fts)`
//! beside `messages_fts MATCH ...`, like FTS5's own `bm25()`.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::Arc;

use anyhow::{Context, bail};
use rusqlite::Connection;
use rusqlite::ffi::{
    Fts5Context, Fts5ExtensionApi, SQLITE_OK, fts5_api, sqlite3_context, sqlite3_int64,
    sqlite3_result_double, sqlite3_result_error_code, sqlite3_value,
};
use rusqlite::types::ToSqlOutput;

use super::token_counts::TokenCounts;

/// The name queries call the function by.
const FUNCTION_NAME: &CStr = c"match_score";
/// BM25's term-frequency saturation, FTS5's default.
const K1: f64 = 1.2;
/// BM25's length normalisation, FTS5's default.
const B: f64 = 0.75;

/// Registers `match_score` on `conn`, reading token counts from `counts`.
/// FTS5 keeps ranking functions per connection, so every connection that
/// searches needs it.
pub(super) fn register(conn: &Connection, counts: Arc<TokenCounts>) -> anyhow::Result<()> {
    let api = fts5_api(conn)?;
    // SAFETY (both blocks): `api` is the live FTS5 API of `conn`'s database
    // handle, which FTS5 keeps for as long as the connection is open. FTS5
    // owns `user_data` once the call succeeds and frees it with
    // `drop_counts`.
    let create =
        unsafe { (*api).xCreateFunction }.context("FTS5 offers no function registration")?;
    let user_data = Arc::into_raw(counts).cast_mut().cast::<c_void>();
    let rc = unsafe {
        create(
            api,
            FUNCTION_NAME.as_ptr(),
            user_data,
            Some(match_score),
            Some(drop_counts),
        )
    };
    if rc != SQLITE_OK {
        // SAFETY: FTS5 did not take `user_data`, so this is its only owner.
        drop(unsafe { Arc::from_raw(user_data.cast::<TokenCounts>()) });
        bail!("registering the FTS5 function match_score failed with SQLite code {rc}");
    }
    Ok(())
}

/// Releases the connection's share of the token counts when FTS5 drops
/// `match_score`, which it does when the connection closes.
unsafe extern "C" fn drop_counts(user_data: *mut c_void) {
    // SAFETY: FTS5 passes back the pointer `register` made with
    // `Arc::into_raw`, once.
    drop(unsafe { Arc::from_raw(user_data.cast::<TokenCounts>()) });
}

/// Asks SQLite for the FTS5 API of `conn`, the documented way: `SELECT
/// fts5(?)` with a pointer bound under the type `fts5_api_ptr`.
fn fts5_api(conn: &Connection) -> anyhow::Result<*mut fts5_api> {
    let mut api: *mut fts5_api = ptr::null_mut();
    let out = ToSqlOutput::Pointer((
        (&raw mut api).cast::<c_void>().cast_const(),
        c"fts5_api_ptr",
        None,
    ));
    conn.query_row("SELECT fts5(?1)", [out], |_| Ok(()))
        .context("reading the FTS5 API pointer failed")?;
    if api.is_null() {
        bail!("SQLite returned no FTS5 API; build it with FTS5 enabled");
    }
    Ok(api)
}

/// Sets the result of FTS5's call for the current matched row to its score.
unsafe extern "C" fn match_score(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    ctx: *mut sqlite3_context,
    _argument_count: c_int,
    _arguments: *mut *mut sqlite3_value,
) {
    // SAFETY: FTS5 passes its API table and the cursor of the current row;
    // both are valid for the length of this call.
    match unsafe { score(&*api, fts) } {
        Ok(score) => unsafe { sqlite3_result_double(ctx, score) },
        Err(rc) => unsafe { sqlite3_result_error_code(ctx, rc) },
    }
}

/// Scores the current row of `fts`: the sum over the query's phrases of
/// BM25's saturated term frequency. Returns SQLite's error code on failure.
///
/// # Safety
///
/// `api` and `fts` must be the arguments FTS5 passed to the current call.
unsafe fn score(api: &Fts5ExtensionApi, fts: *mut Fts5Context) -> Result<f64, c_int> {
    let missing = rusqlite::ffi::SQLITE_MISUSE;
    let phrase_count = api.xPhraseCount.ok_or(missing)?;
    let inst_count = api.xInstCount.ok_or(missing)?;
    let inst = api.xInst.ok_or(missing)?;
    let column_size = api.xColumnSize.ok_or(missing)?;

    // SAFETY (all calls): `fts` is the cursor FTS5 passed in.
    let phrases = usize::try_from(unsafe { phrase_count(fts) }).unwrap_or(0);
    // FTS5 calls this for every candidate, so a common query's counts live
    // on the stack; a query with more phrases than that gets a vector.
    let mut on_stack = [0u32; 16];
    let mut on_heap = Vec::new();
    let frequencies = if phrases <= on_stack.len() {
        &mut on_stack[..phrases]
    } else {
        on_heap.resize(phrases, 0);
        &mut on_heap[..]
    };
    let mut instances: c_int = 0;
    check(unsafe { inst_count(fts, &mut instances) })?;
    for index in 0..instances {
        let (mut phrase, mut column, mut offset): (c_int, c_int, c_int) = (0, 0, 0);
        check(unsafe { inst(fts, index, &mut phrase, &mut column, &mut offset) })?;
        if let Some(frequency) = usize::try_from(phrase)
            .ok()
            .and_then(|phrase| frequencies.get_mut(phrase))
        {
            *frequency += 1;
        }
    }
    let length = match unsafe { stored_count(api, fts) }? {
        Some(count) => f64::from(count),
        None => {
            let mut length: c_int = 0;
            check(unsafe { column_size(fts, -1, &mut length) })?;
            f64::from(length)
        }
    };
    let average = unsafe { average_length(api, fts) }?;

    let length_factor = 1.0 - B + B * length / average;
    Ok(frequencies
        .iter()
        .map(|&frequency| {
            // Every phrase matched; a count of zero can only come from a
            // query shape search never builds, and counts as one.
            let frequency = f64::from(frequency.max(1));
            frequency * (K1 + 1.0) / (frequency + K1 * length_factor)
        })
        .sum())
}

/// Returns the token count of the current row from the counts registered
/// with the function, or `None` when they do not contain it.
///
/// # Safety
///
/// As for [`score`].
unsafe fn stored_count(
    api: &Fts5ExtensionApi,
    fts: *mut Fts5Context,
) -> Result<Option<u16>, c_int> {
    let missing = rusqlite::ffi::SQLITE_MISUSE;
    let user_data = api.xUserData.ok_or(missing)?;
    let rowid = api.xRowid.ok_or(missing)?;
    // SAFETY: `fts` is the cursor FTS5 passed in, and the user data is the
    // `TokenCounts` that `register` gave FTS5, alive until `drop_counts`.
    let counts = unsafe { &*user_data(fts).cast::<TokenCounts>() };
    // The index stores each message under its rowid negated.
    let message_rowid = unsafe { rowid(fts) }.checked_neg();
    Ok(message_rowid.and_then(|rowid| counts.get(rowid)))
}

/// Returns the average number of tokens per indexed row, at least one.
/// FTS5 reads both totals from a record of the index on every call, so the
/// average is computed at the query's first row and kept in the query's
/// auxiliary data slot for the rest.
///
/// # Safety
///
/// As for [`score`].
unsafe fn average_length(api: &Fts5ExtensionApi, fts: *mut Fts5Context) -> Result<f64, c_int> {
    let missing = rusqlite::ffi::SQLITE_MISUSE;
    let get_auxdata = api.xGetAuxdata.ok_or(missing)?;
    let set_auxdata = api.xSetAuxdata.ok_or(missing)?;
    // SAFETY: this function is the only one that sets the slot, and it
    // stores a `Box<f64>`.
    let stored = unsafe { get_auxdata(fts, 0) }.cast::<f64>();
    if !stored.is_null() {
        return Ok(unsafe { *stored });
    }

    let row_count = api.xRowCount.ok_or(missing)?;
    let total_size = api.xColumnTotalSize.ok_or(missing)?;
    let (mut rows, mut tokens): (sqlite3_int64, sqlite3_int64) = (0, 0);
    // SAFETY: `fts` is the cursor FTS5 passed in.
    check(unsafe { row_count(fts, &mut rows) })?;
    check(unsafe { total_size(fts, -1, &mut tokens) })?;
    let average = (tokens as f64 / rows.max(1) as f64).max(1.0);

    let boxed = Box::into_raw(Box::new(average)).cast::<c_void>();
    // SAFETY: FTS5 frees the box with `free_average` when the query ends,
    // or at once when it cannot keep it.
    check(unsafe { set_auxdata(fts, boxed, Some(free_average)) })?;
    Ok(average)
}

/// Frees the average that [`average_length`] kept for a query.
unsafe extern "C" fn free_average(average: *mut c_void) {
    // SAFETY: FTS5 passes back the pointer `average_length` made with
    // `Box::into_raw`, once.
    drop(unsafe { Box::from_raw(average.cast::<f64>()) });
}

fn check(rc: c_int) -> Result<(), c_int> {
    if rc == SQLITE_OK { Ok(()) } else { Err(rc) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rusqlite::Connection;

    use super::register;
    use crate::store::sqlite::token_counts::TokenCounts;

    /// Indexes `texts` as messages 1, 2, ... (under rowids -1, -2, ... as
    /// messages are) with the tokenizer messages use and returns the score
    /// of each message that matches `query`, by message rowid. Token counts
    /// come from FTS5's own table.
    fn scores(texts: &[&str], query: &str) -> Vec<(i64, f64)> {
        scores_with_counts(texts, query, &[])
    }

    /// Scores as [`scores`] does, with the token counts `counts` (rowid, count) in
    /// memory.
    fn scores_with_counts(texts: &[&str], query: &str, counts: &[(i64, u64)]) -> Vec<(i64, f64)> {
        let stored = TokenCounts::new();
        for &(rowid, count) in counts {
            stored.set(rowid, count);
        }
        let conn = Connection::open_in_memory().expect("open");
        register(&conn, Arc::new(stored)).expect("register");
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5 (text, content = '', \
             tokenize = 'unicode61 remove_diacritics 2')",
        )
        .expect("create");
        for (index, text) in texts.iter().enumerate() {
            let rowid = -(index as i64 + 1);
            conn.execute(
                "INSERT INTO t (rowid, text) VALUES (?1, ?2)",
                rusqlite::params![rowid, text],
            )
            .expect("insert");
        }
        conn.prepare("SELECT -rowid, match_score(t) FROM t WHERE t MATCH ?1 ORDER BY rowid DESC")
            .expect("prepare")
            .query_map([query], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[test]
    fn more_occurrences_score_higher() {
        let found = scores(&["fox fox fox", "the quick brown fox jumps"], "fox");
        assert_eq!(found.len(), 2);
        assert!(found[0].1 > found[1].1, "{found:?}");
    }

    #[test]
    fn shorter_text_scores_higher_for_one_occurrence() {
        let found = scores(
            &[
                "the kettle arrived today with a small scratch on the lid",
                "kettle descaled",
            ],
            "kettle",
        );
        assert!(found[1].1 > found[0].1, "{found:?}");
    }

    #[test]
    fn phrase_counts_only_in_order() {
        let found = scores(&["ord 42 ord 42", "42 ord 42"], "\"ord 42\"");
        assert!(found[0].1 > found[1].1, "{found:?}");
    }

    #[test]
    fn every_word_adds_to_the_score() {
        let found = scores(&["refund points refund", "refund points"], "refund points");
        assert!(found[1].1 > 0.0);
        assert!(found[0].1 > found[1].1, "{found:?}");
        let one_word = scores(&["refund points refund", "refund points"], "points");
        assert!(found[1].1 > one_word[1].1, "{found:?} {one_word:?}");
    }

    #[test]
    fn folded_case_and_diacritics_count_as_occurrences() {
        let found = scores(&["Café CAFE cafe", "cafe and tea"], "café");
        assert_eq!(found.len(), 2);
        assert!(found[0].1 > found[1].1, "{found:?}");
    }

    #[test]
    fn memory_counts_score_as_index_counts() {
        let texts = [
            "kettle",
            "the kettle arrived with a scratch",
            "kettle kettle descaled",
        ];
        let from_index = scores(&texts, "kettle");
        let from_memory = scores_with_counts(&texts, "kettle", &[(1, 1), (2, 6), (3, 3)]);
        assert_eq!(from_index, from_memory);
    }

    #[test]
    fn memory_count_overrides_index_count() {
        let texts = ["kettle", "kettle"];
        let found = scores_with_counts(&texts, "kettle", &[(1, 40)]);
        assert!(
            found[1].1 > found[0].1,
            "row 1 counted 40 tokens long: {found:?}"
        );
    }

    #[test]
    fn query_of_many_words_scores_each_word() {
        let words: Vec<String> = (1..=20).map(|n| format!("word{n}")).collect();
        let text = words.join(" ");
        let all = scores(&[&text], &words.join(" "));
        let fewer = scores(&[&text], &words[..16].join(" "));
        assert_eq!(all.len(), 1);
        assert_eq!(fewer.len(), 1);
        assert!(all[0].1 > fewer[0].1, "{all:?} {fewer:?}");
    }
}
