-- API keys (stored as SHA-256 hashes) and the records the REST API manages.

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,           -- SHA-256 of the whole key; the key itself is never stored
    hint         TEXT NOT NULL,           -- "thub_" + first 4 characters, for lists
    scopes       TEXT,                    -- space-separated; NULL = full account access
    expires_at   INTEGER,
    last_used_at INTEGER,
    created_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, id);

CREATE TABLE records (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    data         TEXT NOT NULL,           -- a JSON object
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX records_account_idx ON records (account_id, id);
CREATE INDEX records_workspace_idx ON records (workspace_id, id);
