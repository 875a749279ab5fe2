-- Sends still waiting for Meta's answer. At start-up Pons marks the ones a
-- stopped process left behind as failed, and this index lets it read only
-- those instead of every message.
CREATE INDEX messages_unconfirmed ON messages (timestamp)
    WHERE direction = 'outbound' AND status = 'pending' AND wamid IS NULL;
