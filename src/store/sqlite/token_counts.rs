//! Token counts of indexed messages, kept in memory for search ranking.
//!
//! `match_score` normalises by each match's length in tokens. FTS5 keeps
//! that length in its `messages_fts_docsize` table, and reading it there
//! costs a B-tree lookup per candidate, often a `pread`: about two fifths
//! of a search's CPU at a million messages. This table keeps the same
//! numbers in memory, two bytes per message, indexed by message rowid.
//!
//! A count of zero means "not known here": the score then reads it from FTS5, so a
//! missing count costs time, never correctness. The writer keeps it so:
//! before the COMMIT that indexes a message it clears the message's count,
//! and only after the COMMIT it stores the new one. A reader therefore never
//! sees a count that belongs to another version of the row, whatever its
//! snapshot: an edited text or a reused rowid goes through the same steps.
//!
//! NOTE: only this process's writer keeps the table. Messages that another
//! process writes to the same database (`pons bench seed` beside a running
//! server) fall back to FTS5; a text that process edits, or a rowid it
//! reuses, ranks by the old length here until the server restarts.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};

use rusqlite::Connection;

/// Counts per chunk; a chunk is allocated when its first count is stored.
const CHUNK_LEN: usize = 1 << 16;
/// Chunks in the table, so rowids below 2^28 (268 million) are covered.
/// Larger rowids are never stored and always read from FTS5.
const CHUNKS: usize = 1 << 12;

/// Token counts by message rowid, shared by the writer and every reader.
pub(super) struct TokenCounts {
    chunks: Box<[OnceLock<Box<[AtomicU16]>>]>,
}

impl TokenCounts {
    pub(super) fn new() -> TokenCounts {
        TokenCounts {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Returns the stored count of `rowid`, or `None` when it is not known.
    pub(super) fn get(&self, rowid: i64) -> Option<u16> {
        let (chunk, slot) = position(rowid)?;
        let count = self.chunks[chunk].get()?[slot].load(Ordering::Acquire);
        (count != 0).then_some(count)
    }

    /// Stores `count` for `rowid`. A count that does not fit in two bytes
    /// is not stored, so such a message is ranked by FTS5's own count.
    pub(super) fn set(&self, rowid: i64, count: u64) {
        let Some((chunk, slot)) = position(rowid) else {
            return;
        };
        let Ok(count) = u16::try_from(count) else {
            self.clear(rowid);
            return;
        };
        let chunk =
            self.chunks[chunk].get_or_init(|| (0..CHUNK_LEN).map(|_| AtomicU16::new(0)).collect());
        chunk[slot].store(count, Ordering::Release);
    }

    /// Forgets the count of `rowid`, so readers ask FTS5 until it is set again.
    pub(super) fn clear(&self, rowid: i64) {
        if let Some((chunk, slot)) = position(rowid)
            && let Some(chunk) = self.chunks[chunk].get()
        {
            chunk[slot].store(0, Ordering::SeqCst);
        }
    }

    /// Loads every count from FTS5's `messages_fts_docsize` table. Call it
    /// once, on the writer's connection before the writer starts, so no
    /// commit can change a count while it runs.
    pub(super) fn load(&self, conn: &Connection) -> rusqlite::Result<()> {
        // The index stores each message under its rowid negated.
        let mut statement = conn.prepare("SELECT -id, sz FROM messages_fts_docsize")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            if let Some(count) = docsize_count(row.get_ref(1)?.as_blob()?) {
                self.set(rowid, count);
            }
        }
        Ok(())
    }
}

/// Splits `rowid` into its chunk and the slot inside it; `None` when the
/// table does not cover it.
fn position(rowid: i64) -> Option<(usize, usize)> {
    let rowid = usize::try_from(rowid).ok()?;
    let chunk = rowid / CHUNK_LEN;
    (chunk < CHUNKS).then_some((chunk, rowid % CHUNK_LEN))
}

/// Reads the token count of the first (and only) indexed column from an
/// FTS5 docsize record, made of one SQLite varint per column. A varint
/// is big-endian with seven bits per byte, and every byte but the last has
/// its high bit set. A ninth byte gives all eight of its bits. Returns
/// `None` when the record is empty or cut short.
pub(super) fn docsize_count(record: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (index, &byte) in record.iter().enumerate().take(9) {
        if index == 8 {
            return Some((value << 8) | u64::from(byte));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{CHUNK_LEN, CHUNKS, TokenCounts, docsize_count};

    #[test]
    fn docsize_count_reads_sqlite_varints() {
        assert_eq!(docsize_count(&[0x00]), Some(0));
        assert_eq!(docsize_count(&[0x7f]), Some(127));
        assert_eq!(docsize_count(&[0x81, 0x00]), Some(128));
        assert_eq!(docsize_count(&[0x81, 0x80, 0x00]), Some(16_384));
        // A second column's varint is not read.
        assert_eq!(docsize_count(&[0x05, 0x07]), Some(5));
        assert_eq!(
            docsize_count(
                &[0xff; 8]
                    .iter()
                    .chain(&[0xff])
                    .copied()
                    .collect::<Vec<u8>>()
            ),
            Some(u64::MAX)
        );
        assert_eq!(docsize_count(&[]), None);
        assert_eq!(docsize_count(&[0x81]), None);
    }

    #[test]
    fn counts_stored_cleared_and_bounded() {
        let counts = TokenCounts::new();
        assert_eq!(counts.get(7), None);
        counts.set(7, 12);
        assert_eq!(counts.get(7), Some(12));
        counts.clear(7);
        assert_eq!(counts.get(7), None);
        let far = CHUNK_LEN as i64 + 3;
        counts.set(far, 65_535);
        assert_eq!(counts.get(far), Some(u16::MAX));
        counts.set(far, 65_536);
        assert_eq!(
            counts.get(far),
            None,
            "too long for two bytes: left to FTS5"
        );
    }

    #[test]
    fn rowids_outside_the_table_are_never_known() {
        let counts = TokenCounts::new();
        for rowid in [-1, (CHUNK_LEN * CHUNKS) as i64, i64::MAX] {
            counts.set(rowid, 5);
            assert_eq!(counts.get(rowid), None, "rowid {rowid}");
            counts.clear(rowid);
        }
    }
}
