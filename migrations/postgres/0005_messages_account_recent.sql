-- Search reads each account's most recent matches. With this index
-- PostgreSQL can walk an account's messages newest first and stop after
-- enough matches of a common word, instead of fetching and sorting every
-- match that the full-text index returns. For rare words it still uses the
-- full-text index.
CREATE INDEX messages_account_recent ON messages (account_id, timestamp DESC, id DESC);
