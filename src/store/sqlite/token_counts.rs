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

use rusqlite::Connection;

use super::rowid_slots::RowidSlots;

/// Token counts by message rowid, shared by the writer and every reader.
pub(super) struct TokenCounts {
    slots: RowidSlots,
}

impl TokenCounts {
    pub(super) fn new() -> TokenCounts {
        TokenCounts {
            slots: RowidSlots::new(),
        }
    }

    /// Returns the stored count of `rowid`, or `None` when it is not known.
    pub(super) fn get(&self, rowid: i64) -> Option<u16> {
        self.slots.get(rowid)
    }

    /// Stores `count` for `rowid`. A count that does not fit in two bytes
    /// is not stored, so such a message is ranked by FTS5's own count.
    pub(super) fn set(&self, rowid: i64, count: u64) {
        self.slots.set(rowid, count);
    }

    /// Forgets the count of `rowid`, so readers ask FTS5 until it is set again.
    pub(super) fn clear(&self, rowid: i64) {
        self.slots.clear(rowid);
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
    use super::docsize_count;

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
}
