-- A signed-in person asked to change their email: the link mailed to the new address is kept
-- here (as a SHA-256 hash, like every emailed token) with the address it confirms. One live
-- request per person: a newer one replaces it. The change happens when the link is used, if
-- the address is still free then.
CREATE TABLE email_changes (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    new_email  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
