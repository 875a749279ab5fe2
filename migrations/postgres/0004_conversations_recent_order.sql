-- Conversation lists read an account's conversations ordered by
-- last_message_at DESC NULLS LAST, then id. The first index sorted NULLs
-- first and had no id, so PostgreSQL sorted every conversation of the
-- account instead of reading the index in order up to the limit.
DROP INDEX conversations_recent;
CREATE INDEX conversations_recent
    ON conversations (account_id, last_message_at DESC NULLS LAST, id);
