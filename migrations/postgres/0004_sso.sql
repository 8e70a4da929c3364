-- Single sign-on connections (OpenID Connect) and the email domains they claim.

CREATE TABLE sso_connections (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    issuer            TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    client_secret_enc TEXT NOT NULL,     -- AES-256-GCM with the server's key: never stored in clear
    enforced          BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX sso_connections_account_idx ON sso_connections (account_id, id);

CREATE TABLE sso_domains (
    domain        TEXT PRIMARY KEY,      -- lower-cased; one account per domain
    connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_connection_idx ON sso_domains (connection_id);
