-- Outbound sends, business reactions, downloaded media and background jobs.

-- Download state of inbound media: 'pending' until the media_download job
-- stores the file, then 'stored' or 'failed'. NULL for messages without
-- media to download (outbound media is sent by link).
ALTER TABLE messages ADD COLUMN media_status TEXT
    CHECK (media_status IN ('pending', 'stored', 'failed'));
-- Path of the stored copy, relative to the data directory.
ALTER TABLE messages ADD COLUMN media_path TEXT;
-- Size in bytes of the stored copy.
ALTER TABLE messages ADD COLUMN media_size BIGINT;
-- Why the download failed for good.
ALTER TABLE messages ADD COLUMN media_error TEXT;
-- The business's own reaction to the message.
ALTER TABLE messages ADD COLUMN business_reaction TEXT;

-- Background work that must survive a restart. A worker claims a job by
-- setting it 'running' with a lease (locked_until); a job whose lease ran
-- out is claimed again.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    account_id   TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    payload_json TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at       BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT,
    dedupe_key   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
-- At most one queued job per dedupe key; enqueueing another is a no-op.
CREATE UNIQUE INDEX jobs_dedupe_queued ON jobs (dedupe_key) WHERE state = 'queued';
