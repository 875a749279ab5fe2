-- At most one row (id 1): a fixed label encrypted with the key that
-- encrypts account secrets, stored the first time a key is used with the
-- database. A start with another key fails to decrypt it, so that key is
-- rejected before it stores secrets next to ones it cannot read.
CREATE TABLE encryption_key_verifier (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    sealed     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
