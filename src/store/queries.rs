//! Query text shared by the SQLite and PostgreSQL stores.

pub const PING: &str = "SELECT 1";

pub const USER_COLUMNS: &str =
    "id, email, password_hash, email_confirmed_at, failed_attempts, locked_until, session_epoch, created_at";

pub const INSERT_USER: &str =
    "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)";
pub const INSERT_ACCOUNT: &str = "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)";
pub const INSERT_MEMBERSHIP: &str =
    "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)";
pub const INSERT_WORKSPACE: &str =
    "INSERT INTO workspaces (id, account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";

/// Counts a guess before the password is checked. Old values are read on the right-hand
/// side, so: an expired lock starts a new series at 1; the guess that reaches the maximum
/// sets the lock at once; no row comes back while locked or while the last guess is in flight.
pub const RESERVE_GUESS: &str = "
UPDATE users SET
    failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1
                           ELSE failed_attempts + 1 END,
    locked_until = CASE
        WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1
                   ELSE failed_attempts + 1 END) >= $3 THEN $4
        WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL
        ELSE locked_until END
WHERE id = $1
  AND (failed_attempts < $3 OR (locked_until IS NOT NULL AND locked_until <= $2))
RETURNING failed_attempts";

pub const SIGN_IN_SUCCEEDED: &str = "
UPDATE users SET failed_attempts = 0, locked_until = NULL,
                 password_hash = COALESCE($2, password_hash)
WHERE id = $1";

pub const INSERT_IP_FAILURE: &str = "INSERT INTO sign_in_failures (client_ip, at) VALUES ($1, $2)";
pub const IP_FAILURES_SINCE: &str =
    "SELECT COUNT(*), MIN(at) FROM sign_in_failures WHERE client_ip = $1 AND at > $2";

pub const INSERT_TOKEN: &str = "
INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5)";
pub const TOKEN_IS_LIVE: &str = "
SELECT COUNT(*) FROM one_time_tokens
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3";
/// Single use even under concurrency: only one UPDATE can flip `used_at` from NULL.
pub const CONSUME_TOKEN: &str = "
UPDATE one_time_tokens SET used_at = $3
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
RETURNING user_id";
pub const VOID_TOKENS: &str = "
UPDATE one_time_tokens SET used_at = $3
WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";

pub const CONFIRM_USER: &str =
    "UPDATE users SET email_confirmed_at = COALESCE(email_confirmed_at, $2) WHERE id = $1";
pub const UNLOCK_USER: &str =
    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1";
pub const RESET_USER: &str = "
UPDATE users SET password_hash = $2,
                 email_confirmed_at = COALESCE(email_confirmed_at, $3),
                 failed_attempts = 0, locked_until = NULL,
                 session_epoch = session_epoch + 1
WHERE id = $1";

pub const TAKE_MAIL_SLOT: &str = "
INSERT INTO mail_throttle (slot, last_sent_at) VALUES ($1, $2)
ON CONFLICT (slot) DO UPDATE SET last_sent_at = excluded.last_sent_at
WHERE mail_throttle.last_sent_at <= $3
RETURNING slot";

pub const MEMBERSHIPS: &str = "
SELECT m.account_id, a.name, m.role FROM memberships m
JOIN accounts a ON a.id = m.account_id
WHERE m.user_id = $1
ORDER BY m.created_at, m.account_id";
pub const WORKSPACES: &str =
    "SELECT id, account_id, name, created_at FROM workspaces WHERE account_id = $1 ORDER BY id";

pub const PRUNE_IP_FAILURES: &str = "DELETE FROM sign_in_failures WHERE at <= $1";
pub const PRUNE_TOKENS: &str = "DELETE FROM one_time_tokens WHERE expires_at <= $1";
