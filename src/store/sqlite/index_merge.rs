//! Merges the full-text index into one segment while no message is written.
//!
//! FTS5 adds each transaction's index data as a new segment and merges
//! segments of about the same size as they pile up (`automerge`), so an
//! index that grew by many transactions keeps several large segments. A
//! search probes each one, and a query of two or more words skips through
//! each one separately. Measured on a million messages in eleven segments,
//! an order number or a two-word search took about twice as long as on one.
//!
//! A thread checks the index every few seconds. It merges when no message
//! has been indexed since the last check and the segments besides the
//! largest contain at least a tenth as many pages as it does. The writer
//! then merges them all, a few hundred pages per write, so a webhook waits
//! for one step at most. Merging rewrites the whole index, so small new
//! segments are left to FTS5 until they add up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::writer::WeakWriter;
use crate::store::StoreResult;

/// How often the thread looks for new messages and for segments to merge.
const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Index pages written by one merge step, about 1.6 MB.
const STEP_PAGES: i64 = 400;
/// Merging starts once the other segments contain this share of the
/// largest segment's pages (one part in ten).
const SMALL_SHARE_DIVISOR: u64 = 10;
/// Rowid of FTS5's structure record in `messages_fts_data`.
const STRUCTURE_ROWID: i64 = 10;
/// Marks a structure record of FTS5's second format, after the cookie.
const STRUCTURE_V2: [u8; 4] = [0xff, 0x00, 0x00, 0x01];

/// Counter of the transactions that indexed messages. The search indexer
/// adds one after each such commit.
#[derive(Clone, Default)]
pub(super) struct IndexWrites(Arc<AtomicU64>);

impl IndexWrites {
    pub(super) fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts the thread that merges the index while no message is indexed.
/// It stops once the writer has stopped.
pub(super) fn start(writer: WeakWriter, writes: IndexWrites) -> std::io::Result<()> {
    thread::Builder::new()
        .name("sqlite-index-merge".to_owned())
        .spawn(move || run(&writer, &writes))?;
    Ok(())
}

fn run(writer: &WeakWriter, writes: &IndexWrites) {
    let mut seen = writes.count();
    loop {
        thread::sleep(CHECK_INTERVAL);
        let now = writes.count();
        if now != seen {
            seen = now;
            continue;
        }
        let Some(writer) = writer.upgrade() else {
            return;
        };
        // Each step is a write of its own. A message indexed meanwhile ends
        // this round, and the merge goes on at a later check.
        let started = Instant::now();
        let mut steps = 0u32;
        loop {
            match writer.blocking_write(|savepoint| merge_step(savepoint)) {
                Ok(true) if writes.count() == seen => steps += 1,
                Ok(more) => {
                    if steps > 0 && !more {
                        tracing::info!(
                            steps = steps + 1,
                            seconds = started.elapsed().as_secs_f64(),
                            "merged the search index into one segment"
                        );
                    }
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "merging the search index failed, retrying at the next check");
                    break;
                }
            }
        }
    }
}

/// Merges up to `STEP_PAGES` pages of the index when a merge is due or
/// under way. Returns whether more steps are needed.
pub(super) fn merge_step(conn: &Connection) -> StoreResult<bool> {
    let Some(before) = read_segments(conn)? else {
        return Ok(false);
    };
    if !before.merge_due() {
        return Ok(false);
    }
    conn.prepare_cached("INSERT INTO messages_fts (messages_fts, rank) VALUES ('merge', ?1)")?
        .execute([-STEP_PAGES])?;
    let after = read_segments(conn)?;
    Ok(after.is_some_and(|segments| segments.pages.len() > 1 && segments != before))
}

/// The segments of the index as FTS5's structure record lists them.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Segments {
    /// Pages of each segment.
    pages: Vec<u64>,
    /// Whether a merge of every segment is under way: all segments of one
    /// level are merge inputs and the only other segment is the merge's
    /// output on the next level.
    full_merge_under_way: bool,
}

impl Segments {
    /// Returns the pages of each segment.
    #[cfg(test)]
    pub(super) fn page_counts(&self) -> Vec<u64> {
        self.pages.clone()
    }

    /// Returns whether a merge should run: a merge of every segment is
    /// under way, or the segments besides the largest contain a tenth of
    /// its pages. FTS5's own merges of a few segments while larger ones sit
    /// on other levels are left to it.
    fn merge_due(&self) -> bool {
        if self.pages.len() < 2 {
            return false;
        }
        if self.full_merge_under_way {
            return true;
        }
        let largest = self.pages.iter().copied().max().unwrap_or(0);
        let total: u64 = self.pages.iter().sum();
        (total - largest) * SMALL_SHARE_DIVISOR >= largest
    }
}

/// Reads and decodes the structure record, or `None` when the index has
/// none yet or FTS5 wrote it in a form this decoder does not know.
pub(super) fn read_segments(conn: &Connection) -> rusqlite::Result<Option<Segments>> {
    let record: Option<Vec<u8>> = conn
        .prepare_cached("SELECT block FROM messages_fts_data WHERE id = ?1")?
        .query_row([STRUCTURE_ROWID], |row| row.get(0))
        .optional()?;
    Ok(record.as_deref().and_then(decode_structure))
}

/// Decodes FTS5's structure record. It starts with a 4-byte cookie, an
/// optional format marker, the level and segment counts and a write
/// counter. Each level follows with its merge-input count and segments
/// (id, first page, last page, and five more numbers in the second format).
fn decode_structure(record: &[u8]) -> Option<Segments> {
    let mut reader = Reader {
        bytes: record.get(4..)?,
    };
    let v2 = reader.bytes.starts_with(&STRUCTURE_V2);
    if v2 {
        reader.bytes = &reader.bytes[STRUCTURE_V2.len()..];
    }
    let levels = reader.varint()?;
    let segment_count = reader.varint()?;
    reader.varint()?; // write counter
    let mut pages = Vec::new();
    // Merge inputs and segments of each level.
    let mut level_counts = Vec::new();
    for _ in 0..levels {
        let inputs = reader.varint()?;
        let level_segments = reader.varint()?;
        level_counts.push((inputs, level_segments));
        for _ in 0..level_segments {
            reader.varint()?; // segment id
            let first = reader.varint()?;
            let last = reader.varint()?;
            pages.push(last.checked_sub(first)? + 1);
            if v2 {
                for _ in 0..5 {
                    reader.varint()?;
                }
            }
        }
    }
    (pages.len() as u64 == segment_count).then_some(Segments {
        pages,
        full_merge_under_way: full_merge_under_way(&level_counts),
    })
}

/// Returns whether the levels, as (merge inputs, segments) pairs, show a
/// merge of every segment: one level whose segments are all inputs, at most
/// one segment (the output) on the level above, and none elsewhere.
fn full_merge_under_way(levels: &[(u64, u64)]) -> bool {
    let Some(merging) = levels
        .iter()
        .position(|&(inputs, segments)| segments > 0 && inputs == segments)
    else {
        return false;
    };
    levels.iter().enumerate().all(|(level, &(_, segments))| {
        level == merging || (level == merging + 1 && segments <= 1) || segments == 0
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    /// Reads SQLite's variable-length integer: seven bits per byte, most
    /// significant first, and all eight bits of a ninth byte.
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for index in 0..9 {
            let byte = *self.bytes.get(index)?;
            if index == 8 {
                self.bytes = &self.bytes[9..];
                return Some((value << 8) | u64::from(byte));
            }
            value = (value << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[index + 1..];
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(pages: &[u64]) -> Segments {
        Segments {
            pages: pages.to_vec(),
            full_merge_under_way: false,
        }
    }

    #[test]
    fn merge_due_at_a_tenth() {
        assert!(!segments(&[]).merge_due());
        assert!(!segments(&[5000]).merge_due());
        assert!(!segments(&[5000, 200, 100, 21]).merge_due());
        assert!(segments(&[5000, 400, 100]).merge_due());
        assert!(segments(&[4758, 4650, 1325]).merge_due());
        let under_way = Segments {
            pages: vec![5000, 10],
            full_merge_under_way: true,
        };
        assert!(under_way.merge_due());
    }

    #[test]
    fn full_merge_seen_in_levels() {
        // Inputs on level 5, the output on level 6.
        let resumed = [(0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (11, 11), (0, 1)];
        assert!(full_merge_under_way(&resumed));
        // Just started: no output yet.
        assert!(full_merge_under_way(&[(0, 0), (4, 4)]));
        // FTS5's own merge of level 0 while larger segments sit on level 3.
        assert!(!full_merge_under_way(&[(4, 4), (0, 1), (0, 0), (0, 2)]));
        // Some segments of the level are not inputs.
        assert!(!full_merge_under_way(&[(2, 3), (0, 1)]));
        assert!(!full_merge_under_way(&[(0, 3), (0, 1)]));
    }

    #[test]
    fn varints_one_to_nine_bytes() {
        let mut reader = Reader {
            bytes: &[
                0x05, 0x81, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        };
        assert_eq!(reader.varint(), Some(5));
        assert_eq!(reader.varint(), Some(128));
        assert_eq!(reader.varint(), Some(u64::MAX));
        assert_eq!(reader.varint(), None);
    }

    #[test]
    fn structure_record_decodes() {
        // Cookie, 2 levels, 3 segments and write counter 7. Level 0 has no
        // merge and 2 segments (pages 1-3 and 4-4). Level 1 has 1 merge
        // input and 1 segment (pages 10-19).
        let record = [0, 0, 0, 1, 2, 3, 7, 0, 2, 1, 1, 3, 2, 4, 4, 1, 1, 3, 10, 19];
        assert_eq!(
            decode_structure(&record),
            Some(Segments {
                pages: vec![3, 1, 10],
                full_merge_under_way: false,
            })
        );
        // A segment count that disagrees with the listed segments.
        let mut wrong = record;
        wrong[5] = 4;
        assert_eq!(decode_structure(&wrong), None);
        assert_eq!(decode_structure(&record[..10]), None);
    }
}
