//! The account of each indexed message, kept in memory for searches by a
//! key limited to some accounts.
//!
//! Such a search keeps only the matches of the key's accounts. Reading each
//! match's account from its message row costs a B-tree lookup and often a
//! `pread` per match, for up to a thousand matches per search. This table
//! keeps the accounts' rowids in memory, two bytes per message, indexed by
//! message rowid.
//!
//! The writer keeps it the way it keeps [`super::token_counts`]: it clears
//! a message's slot before the COMMIT that indexes the message and stores
//! the account after the COMMIT. Pons never deletes messages, so a rowid
//! keeps its account. A slot that is not known makes the search read the
//! message row. Search also checks the account of every hit it returns
//! against the message row. A wrong slot (a rowid reused by another
//! process) can therefore hide a match, but never show a message of
//! another account.

use rusqlite::Connection;

use super::rowid_slots::RowidSlots;

/// Account rowids by message rowid, shared by the writer and every reader.
pub(super) struct MessageAccounts {
    slots: RowidSlots,
}

impl MessageAccounts {
    pub(super) fn new() -> MessageAccounts {
        MessageAccounts {
            slots: RowidSlots::new(),
        }
    }

    /// Returns the rowid of the account of message `rowid`, or `None` when
    /// it is not known here.
    pub(super) fn get(&self, rowid: i64) -> Option<i64> {
        self.slots.get(rowid).map(i64::from)
    }

    /// Stores the account rowid `account` for message `rowid`. An account
    /// rowid above 65,535 is not stored, so its messages are read from the
    /// database.
    pub(super) fn set(&self, rowid: i64, account: i64) {
        match u64::try_from(account) {
            Ok(account) => self.slots.set(rowid, account),
            Err(_) => self.slots.clear(rowid),
        }
    }

    /// Clears the account of message `rowid`.
    pub(super) fn clear(&self, rowid: i64) {
        self.slots.clear(rowid);
    }

    /// Loads the account of every message. Call it once, on the writer's
    /// connection before the writer starts. `CROSS JOIN` keeps SQLite's
    /// join order, so each conversation's messages come from their index
    /// (0.13 s for a million messages) instead of one conversation lookup
    /// per message (0.42 s). A message's account is its conversation's:
    /// the store writes both from the same account id, and the hit check
    /// in search reads the message's own column.
    pub(super) fn load(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut statement = conn.prepare(
            "SELECT m.rowid, a.rowid FROM accounts a \
             CROSS JOIN conversations v ON v.account_id = a.id \
             CROSS JOIN messages m ON m.conversation_id = v.id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            self.set(row.get(0)?, row.get(1)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MessageAccounts;

    #[test]
    fn accounts_stored_and_cleared() {
        let accounts = MessageAccounts::new();
        assert_eq!(accounts.get(3), None);
        accounts.set(3, 2);
        assert_eq!(accounts.get(3), Some(2));
        accounts.clear(3);
        assert_eq!(accounts.get(3), None);
    }

    #[test]
    fn accounts_beyond_two_bytes_are_not_stored() {
        let accounts = MessageAccounts::new();
        accounts.set(3, 2);
        accounts.set(3, 70_000);
        assert_eq!(accounts.get(3), None);
        accounts.set(4, -1);
        assert_eq!(accounts.get(4), None);
    }
}
