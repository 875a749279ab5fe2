-- The business's reactions sent to Meta and not yet confirmed. A reaction
-- carries its row's id in `biz_opaque_callback_data`, so its status
-- webhook confirms it when the Graph response was lost. Ids are never
-- reused, so a late webhook cannot name a newer reaction.
CREATE TABLE pending_reactions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_wamid TEXT NOT NULL,
    emoji        TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX pending_reactions_target ON pending_reactions (account_id, target_wamid);
