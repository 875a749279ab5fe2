-- Initial schema. Times are Unix seconds (UTC); ids are UUIDv7 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE accounts (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    waba_id                TEXT NOT NULL,
    phone_number_id        TEXT NOT NULL UNIQUE,
    phone_number           TEXT NOT NULL,
    display_name           TEXT,
    access_token_encrypted BLOB NOT NULL,
    app_secret_encrypted   BLOB NOT NULL,
    verify_token           TEXT NOT NULL,
    token_invalid_at       INTEGER,
    created_at             INTEGER NOT NULL
);
CREATE INDEX accounts_waba ON accounts (waba_id);
CREATE INDEX accounts_phone ON accounts (phone_number);

CREATE TABLE account_members (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_members_user ON account_members (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);

-- Accounts a key is limited to; a key with no rows here reaches every
-- account its user is a member of.
CREATE TABLE api_key_accounts (
    api_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, account_id)
);

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    wa_id        TEXT NOT NULL,
    profile_name TEXT,
    user_id      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_id, wa_id)
);

CREATE TABLE conversations (
    id                     TEXT PRIMARY KEY,
    account_id             TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id             TEXT NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    last_message_at        INTEGER,
    last_message_preview   TEXT,
    last_message_direction TEXT,
    last_message_type      TEXT,
    last_message_wamid     TEXT,
    last_inbound_at        INTEGER,
    unread_count           INTEGER NOT NULL DEFAULT 0,
    window_expires_at      INTEGER,
    archived_at            INTEGER,
    created_at             INTEGER NOT NULL
);
CREATE INDEX conversations_recent ON conversations (account_id, last_message_at DESC);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    wamid           TEXT,
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    type            TEXT NOT NULL,
    text            TEXT,
    caption         TEXT,
    media_id        TEXT,
    media_mime_type TEXT,
    media_sha256    TEXT,
    media_filename  TEXT,
    media_url       TEXT,
    context_wamid   TEXT,
    content_json    TEXT,
    raw_json        TEXT,
    status          TEXT NOT NULL,
    status_at       INTEGER,
    error_code      INTEGER,
    error_title     TEXT,
    error_message   TEXT,
    error_details   TEXT,
    reaction        TEXT,
    timestamp       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_wamid ON messages (account_id, wamid);
CREATE INDEX messages_conversation ON messages (conversation_id, timestamp DESC);

-- Full-text index over message text, kept in sync by triggers. New
-- messages wait in messages_fts_pending and the writer indexes them once
-- per transaction, just before COMMIT: FTS5 writes its in-memory index
-- data at every savepoint, and the writer runs each job in one.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE messages_fts_pending (
    message_rowid INTEGER PRIMARY KEY
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts_pending (message_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', old.rowid, old.text
        WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = old.rowid);
    DELETE FROM messages_fts_pending WHERE message_rowid = old.rowid;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE message_rowid = new.rowid)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;

-- Statuses that arrived before their message; applied when it is stored.
CREATE TABLE pending_statuses (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    wamid         TEXT NOT NULL,
    status        TEXT NOT NULL,
    timestamp     INTEGER NOT NULL,
    recipient_id  TEXT,
    error_code    INTEGER,
    error_title   TEXT,
    error_message TEXT,
    error_details TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX pending_statuses_wamid ON pending_statuses (account_id, wamid);

-- Customer reactions by target wamid, kept even when the target is unknown.
CREATE TABLE reactions (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_wamid TEXT NOT NULL,
    from_wa_id   TEXT NOT NULL,
    emoji        TEXT,
    timestamp    INTEGER NOT NULL,
    PRIMARY KEY (account_id, target_wamid, from_wa_id)
);

CREATE TABLE templates (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    meta_template_id TEXT NOT NULL,
    name             TEXT,
    language         TEXT,
    status           TEXT NOT NULL,
    category         TEXT,
    parameter_format TEXT,
    components_json  TEXT,
    rejected_reason  TEXT,
    updated_at       INTEGER NOT NULL,
    UNIQUE (account_id, meta_template_id)
);

CREATE TABLE webhook_log (
    id           TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    account_id   TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    headers_json TEXT NOT NULL,
    body         BLOB NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX webhook_log_received ON webhook_log (received_at);

-- Events for forwarding to the business's own endpoints.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL
);
CREATE INDEX events_account ON events (account_id, occurred_at);
