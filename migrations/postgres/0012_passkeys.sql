-- Passkeys (WebAuthn credentials, verified by the webauthn-rs crate). `passkey` is the
-- credential as webauthn-rs serialises it (its public key and signature counter: nothing
-- secret); credential_id (base64url) is unique across every person, so a credential names
-- one person only.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A WebAuthn ceremony between its two requests (the challenge and what webauthn-rs needs to
-- check the answer), found by the SHA-256 of a random handle the browser holds; used once
-- (UPDATE ... WHERE used_at IS NULL AND expires_at > now) and short-lived. In the database,
-- so a ceremony started on one instance finishes on another.
CREATE TABLE passkey_ceremonies (
    handle_hash TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies (expires_at);
