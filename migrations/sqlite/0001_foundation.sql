-- Users, accounts and their workspaces; one-time tokens; sign-in throttling; mail throttling.
-- Every timestamp is INTEGER milliseconds since the Unix epoch (UTC), the same in PostgreSQL.

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    email              TEXT NOT NULL,          -- stored lower-cased: unique case-insensitively
    password_hash      TEXT,                   -- PHC string; NULL for single sign-on users
    email_confirmed_at INTEGER,
    failed_attempts    INTEGER NOT NULL DEFAULT 0,
    locked_until       INTEGER,
    session_epoch      INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL DEFAULT 'free',
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX workspaces_account_idx ON workspaces (account_id, id);

CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,              -- SHA-256 of the emailed token; the token itself is never stored
    purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset', 'unlock', 'invite')),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);

CREATE TABLE sign_in_failures (
    id        INTEGER PRIMARY KEY,
    client_ip TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (client_ip, at);

CREATE TABLE mail_throttle (
    slot         TEXT PRIMARY KEY,
    last_sent_at INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY,
    account_id    TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    actor_user_id TEXT,
    action        TEXT NOT NULL,
    detail        TEXT,
    at            INTEGER NOT NULL
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, at);
