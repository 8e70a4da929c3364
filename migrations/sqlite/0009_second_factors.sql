-- Second factors: a person's authenticator app (TOTP, RFC 6238) and their recovery codes.
-- The TOTP secret is sealed with the server's key (AES-256-GCM), as SSO client secrets are;
-- last_step is the last 30-second time step a code was accepted for, and only a later one is
-- (one UPDATE ... WHERE last_step < $n), so a code works once. A row exists only once the
-- person confirmed the enrolment with a code (the pending secret waits, sealed, in their
-- session).
CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    last_step     INTEGER NOT NULL,
    confirmed_at  INTEGER NOT NULL
);

-- Recovery codes: random, so stored as their SHA-256 and found by it; used once (used_at).
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
