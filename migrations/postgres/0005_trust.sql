-- Trust: nothing durable before an email is confirmed; domains proven by DNS; SSO identities
-- keyed by (connection, subject); atomic rate counters; sessions stored by a hash of their id.

-- Sign-ups wait here until their link is used; only then are the user, the account and its
-- workspace created. A new sign-up for the same email replaces the row (new password, new link).
CREATE TABLE pending_sign_ups (
    email         TEXT PRIMARY KEY,       -- normalised
    password_hash TEXT NOT NULL,
    token_hash    TEXT NOT NULL,          -- SHA-256 of the emailed token
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX pending_sign_ups_token_key ON pending_sign_ups (token_hash);

-- Unconfirmed users no longer exist: they are deleted, with the accounts only they belonged to
-- (an unconfirmed user could not have joined anyone else's). They can sign up again.
DELETE FROM accounts
WHERE id IN (SELECT m.account_id FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE u.email_confirmed_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                  WHERE m.account_id = accounts.id AND u.email_confirmed_at IS NOT NULL);
DELETE FROM users WHERE email_confirmed_at IS NULL;
DELETE FROM one_time_tokens WHERE purpose = 'confirm';

-- Fixed-window counters taken atomically before the work they limit (sign-ins per client IP,
-- invitations per account per day).
CREATE TABLE rate_counters (
    counter_key  TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);
DROP TABLE sign_in_failures;

-- Domains an account has added. Verified by a DNS TXT record carrying the token; at most one
-- account holds a verified domain at a time.
CREATE TABLE account_domains (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain      TEXT NOT NULL,            -- ASCII (UTS-46), lower-case, no trailing dot
    token       TEXT NOT NULL,            -- published as terminus-hub-verification=<token>
    verified_at BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX account_domains_account_domain_key ON account_domains (account_id, domain);
CREATE UNIQUE INDEX account_domains_verified_key ON account_domains (domain) WHERE verified_at IS NOT NULL;

-- Which of its account's domains a connection serves (a domain is served by one connection).
CREATE TABLE sso_connection_domains (
    connection_id TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    domain_id     TEXT NOT NULL REFERENCES account_domains (id) ON DELETE CASCADE,
    PRIMARY KEY (connection_id, domain_id)
);
CREATE UNIQUE INDEX sso_connection_domains_domain_key ON sso_connection_domains (domain_id);

-- Former claims become unverified domains of the same account: nothing routes or enforces
-- until the account publishes its record and verifies. Enforcement waits for a test sign-in.
INSERT INTO account_domains (id, account_id, domain, token, verified_at, created_at)
SELECT 'dom_' || replace(gen_random_uuid()::text, '-', ''), account_id, domain, replace(gen_random_uuid()::text, '-', ''),
       NULL, (extract(epoch FROM now()) * 1000)::BIGINT
FROM sso_domains;
INSERT INTO sso_connection_domains (connection_id, domain_id)
SELECT d.connection_id, a.id FROM sso_domains d
JOIN account_domains a ON a.account_id = d.account_id AND a.domain = d.domain;
DROP TABLE sso_domains;
ALTER TABLE sso_connections ADD COLUMN tested_at BIGINT;
UPDATE sso_connections SET enforced = 0;

-- A person at an identity provider, by the provider's stable subject. Later sign-ins find the
-- user through this row, never by email. One identity per user and connection.
CREATE TABLE sso_identities (
    connection_id   TEXT NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE UNIQUE INDEX sso_identities_user_key ON sso_identities (connection_id, user_id);
CREATE INDEX sso_identities_user_idx ON sso_identities (user_id);

-- Sessions by the SHA-256 of their id: the table holds no usable cookie value. Who is signed
-- in and how is kept beside the data, so their sessions can be ended.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT,
    method     TEXT,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);
DROP SCHEMA IF EXISTS tower_sessions CASCADE;
