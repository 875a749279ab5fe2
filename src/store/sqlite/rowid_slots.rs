//! A table of two-byte values by message rowid, kept in memory and shared
//! by the writer thread and the readers. Zero means "not known here".

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};

/// Slots per chunk; a chunk is allocated when its first value is stored.
pub(super) const CHUNK_LEN: usize = 1 << 16;
/// Chunks in the table, so rowids below 2^28 (268 million) are covered.
/// Larger rowids are never stored and always read from the database.
pub(super) const CHUNKS: usize = 1 << 12;

/// Two-byte values by rowid.
pub(super) struct RowidSlots {
    chunks: Box<[OnceLock<Box<[AtomicU16]>>]>,
}

impl RowidSlots {
    pub(super) fn new() -> RowidSlots {
        RowidSlots {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Returns the value stored for `rowid`, or `None` when it is not known.
    pub(super) fn get(&self, rowid: i64) -> Option<u16> {
        let (chunk, slot) = position(rowid)?;
        let value = self.chunks[chunk].get()?[slot].load(Ordering::Acquire);
        (value != 0).then_some(value)
    }

    /// Stores `value` for `rowid`. A value that does not fit in two bytes,
    /// or zero, clears the slot instead.
    pub(super) fn set(&self, rowid: i64, value: u64) {
        let Some((chunk, slot)) = position(rowid) else {
            return;
        };
        let Ok(value) = u16::try_from(value) else {
            self.clear(rowid);
            return;
        };
        let chunk =
            self.chunks[chunk].get_or_init(|| (0..CHUNK_LEN).map(|_| AtomicU16::new(0)).collect());
        chunk[slot].store(value, Ordering::Release);
    }

    /// Forgets the value of `rowid`, so readers ask the database until it
    /// is set again.
    pub(super) fn clear(&self, rowid: i64) {
        if let Some((chunk, slot)) = position(rowid)
            && let Some(chunk) = self.chunks[chunk].get()
        {
            chunk[slot].store(0, Ordering::SeqCst);
        }
    }
}

/// Splits `rowid` into its chunk and the slot inside it; `None` when the
/// table does not cover it.
fn position(rowid: i64) -> Option<(usize, usize)> {
    let rowid = usize::try_from(rowid).ok()?;
    let chunk = rowid / CHUNK_LEN;
    (chunk < CHUNKS).then_some((chunk, rowid % CHUNK_LEN))
}

#[cfg(test)]
mod tests {
    use super::{CHUNK_LEN, CHUNKS, RowidSlots};

    #[test]
    fn values_stored_cleared_and_bounded() {
        let slots = RowidSlots::new();
        assert_eq!(slots.get(7), None);
        slots.set(7, 12);
        assert_eq!(slots.get(7), Some(12));
        slots.clear(7);
        assert_eq!(slots.get(7), None);
        let far = CHUNK_LEN as i64 + 3;
        slots.set(far, 65_535);
        assert_eq!(slots.get(far), Some(u16::MAX));
        slots.set(far, 65_536);
        assert_eq!(slots.get(far), None, "too large for two bytes");
    }

    #[test]
    fn rowids_outside_the_table_are_never_known() {
        let slots = RowidSlots::new();
        for rowid in [-1, (CHUNK_LEN * CHUNKS) as i64, i64::MAX] {
            slots.set(rowid, 5);
            assert_eq!(slots.get(rowid), None, "rowid {rowid}");
            slots.clear(rowid);
        }
    }
}
