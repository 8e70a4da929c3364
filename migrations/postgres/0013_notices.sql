-- The devices a person signs in from, for the new-device notice: the SHA-256 of the
-- long-lived device cookie's random id, with the network of the sign-in (the IPv4 /24, the
-- IPv6 /48). A sign-in from a pair never seen for the person mails them a notice.
CREATE TABLE known_devices (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    network     TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_hash, network)
);

-- The "This wasn't me" links of new-device notices (stored as SHA-256 hashes, like every
-- emailed token): single use, 7 days.
CREATE TABLE sign_in_notices (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sign_in_notices_user_idx ON sign_in_notices (user_id);

-- People who said "This wasn't me": password sign-in is refused (with the one generic
-- message) until a password reset deletes the row.
CREATE TABLE password_blocks (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    since   BIGINT NOT NULL
);

-- An account's owners can require a second factor of its members (0 or 1, like the other
-- switches): a member without one is sent to enrol before entering the account.
ALTER TABLE accounts ADD COLUMN require_second_factor BIGINT NOT NULL DEFAULT 0;
