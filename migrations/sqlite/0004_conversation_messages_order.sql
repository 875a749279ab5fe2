-- A conversation's messages are read newest first, and of two with the same
-- timestamp the later stored comes first. Read backwards, an ascending index
-- gives that order with the rowid as the tie-breaker, so the read needs no
-- sort of the conversation's messages.
DROP INDEX messages_conversation;
CREATE INDEX messages_conversation ON messages (conversation_id, timestamp);
