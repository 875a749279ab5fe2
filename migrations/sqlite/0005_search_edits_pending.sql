-- An edited message text is indexed again by the writer's commit hook, as
-- a new message is, instead of straight from the trigger: the hook keeps
-- the in-memory token counts that search ranks with in step with the
-- index, and it sees only the rows that pass through messages_fts_pending.
DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = new.rowid)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO messages_fts_pending (message_rowid) VALUES (new.rowid);
END;
