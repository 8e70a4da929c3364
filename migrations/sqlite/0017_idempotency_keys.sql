-- The first answer to a POST under an Idempotency-Key, per account, for 24 hours: retries
-- (on any instance) get it again. `status` is NULL while the first request is being
-- answered; the body is sealed with the server's key (it may carry a new API key).
CREATE TABLE idempotency_keys (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER,
    body_sealed  TEXT,
    location     TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
