//! Query text shared by the SQLite and PostgreSQL stores.
use std::sync::LazyLock;

/// The readiness probe's write: one row, committed in a transaction of its own.
pub const PROBE_WRITE: &str = "UPDATE health_probe SET checks = checks + 1 WHERE id = 1";

pub const USER_COLUMNS: &str =
    "id, email, password_hash, email_confirmed_at, failed_attempts, locked_until, session_epoch, created_at";

pub const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (id, name, created_at, plan) VALUES ($1, $2, $3, $4)";
/// The first statement of a plan change: takes the row's write lock (a no-op update, so the
/// transaction starts with a write) and returns the plan it is on.
pub const LOCK_ACCOUNT_PLAN: &str = "UPDATE accounts SET plan = plan WHERE id = $1 RETURNING plan";
pub const SET_ACCOUNT_PLAN: &str = "UPDATE accounts SET plan = $2 WHERE id = $1";
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

/// Counts a hit: `$2` now, `$3` the start of the oldest window still current, `$4` the limit.
/// An old window restarts at 1; a full one is left alone and returns no row. The row lock of
/// the upsert makes concurrent hits count one after another.
pub const COUNT_HIT: &str = "
INSERT INTO rate_counters (counter_key, window_start, hits) VALUES ($1, $2, 1)
ON CONFLICT (counter_key) DO UPDATE SET
    window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2
                        ELSE rate_counters.window_start END,
    hits = CASE WHEN rate_counters.window_start <= $3 THEN 1
                ELSE rate_counters.hits + 1 END
WHERE rate_counters.window_start <= $3 OR rate_counters.hits < $4
RETURNING window_start";
pub const COUNTER_WINDOW: &str = "SELECT window_start FROM rate_counters WHERE counter_key = $1";
pub const REFUND_HIT: &str = "
UPDATE rate_counters SET hits = hits - 1
WHERE counter_key = $1 AND window_start = $2 AND hits > 0";

pub const PUT_PENDING_SIGN_UP: &str = "
INSERT INTO pending_sign_ups (email, password_hash, token_hash, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash,
    token_hash = excluded.token_hash, expires_at = excluded.expires_at,
    created_at = excluded.created_at";
pub const PENDING_SIGN_UP: &str =
    "SELECT email, password_hash FROM pending_sign_ups WHERE token_hash = $1 AND expires_at > $2";
pub const RENEW_PENDING_SIGN_UP: &str = "
UPDATE pending_sign_ups SET token_hash = $2, expires_at = $3
WHERE email = $1 AND expires_at > $4";
/// Single use even under concurrency: only one DELETE can return the row.
pub const TAKE_PENDING_SIGN_UP: &str = "
DELETE FROM pending_sign_ups WHERE token_hash = $1 AND expires_at > $2
RETURNING email, password_hash";
pub const DELETE_PENDING_FOR_EMAIL: &str = "DELETE FROM pending_sign_ups WHERE email = $1";
pub const PRUNE_PENDING_SIGN_UPS: &str = "DELETE FROM pending_sign_ups WHERE expires_at <= $1";
pub const PRUNE_COUNTERS: &str = "DELETE FROM rate_counters WHERE window_start <= $1";

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

pub const PRUNE_TOKENS: &str = "DELETE FROM one_time_tokens WHERE expires_at <= $1";

pub const ACCOUNT: &str = "SELECT id, name, plan, created_at FROM accounts WHERE id = $1";
pub const ROLE_IN: &str = "SELECT role FROM memberships WHERE user_id = $1 AND account_id = $2";
pub const INSERT_AUDIT: &str = "
INSERT INTO audit_events (id, account_id, actor_user_id, action, detail, at)
VALUES ($1, $2, $3, $4, $5, $6)";

/// The one indexed read behind every bearer-key request.
pub const KEY_BY_HASH: &str = "
SELECT k.id, k.account_id, k.scopes, k.expires_at, a.plan
FROM api_keys k JOIN accounts a ON a.id = k.account_id
WHERE k.key_hash = $1";
pub const API_KEY_COLUMNS: &str =
    "id, account_id, name, hint, scopes, expires_at, last_used_at, created_by, created_at";
pub const INSERT_API_KEY: &str = "
INSERT INTO api_keys (id, account_id, name, key_hash, hint, scopes, expires_at, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// A key by id in any account (the operator's `admin key revoke`).
pub const ANY_API_KEY_BY_ID: &str = "
SELECT id, account_id, name, hint, scopes, expires_at, last_used_at, created_by, created_at
FROM api_keys WHERE id = $1";
pub const DELETE_API_KEY: &str = "DELETE FROM api_keys WHERE account_id = $1 AND id = $2";
pub const TOUCH_API_KEY: &str = "
UPDATE api_keys SET last_used_at = $2
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";

pub const WORKSPACE_COLUMNS: &str = "id, account_id, name, created_at";
pub const RENAME_WORKSPACE: &str = "
UPDATE workspaces SET name = $3, updated_at = $4 WHERE account_id = $1 AND id = $2
RETURNING id, account_id, name, created_at";
pub const DELETE_WORKSPACE: &str = "DELETE FROM workspaces WHERE account_id = $1 AND id = $2";

pub const RECORD_COLUMNS: &str = "id, account_id, workspace_id, data, created_at, updated_at";
/// Inserts only when the workspace belongs to the account: one statement, no race.
pub const INSERT_RECORD: &str = "
INSERT INTO records (id, account_id, workspace_id, data, created_at, updated_at)
SELECT $1, $2, w.id, $4, $5, $6 FROM workspaces w WHERE w.id = $3 AND w.account_id = $2";
pub const UPDATE_RECORD: &str = "
UPDATE records SET data = $3, updated_at = $4 WHERE account_id = $1 AND id = $2
RETURNING id, account_id, workspace_id, data, created_at, updated_at";
pub const DELETE_RECORD: &str = "DELETE FROM records WHERE account_id = $1 AND id = $2";

/// A page of `table`, newest first: `$1` account, `$2` cursor (or NULL), `$3` limit,
/// and `extra` for one more filter on `$4`.
pub fn page_query(columns: &str, table: &str, extra: Option<&str>) -> String {
    let extra = extra
        .map(|column| format!(" AND ($4 IS NULL OR {column} = $4)"))
        .unwrap_or_default();
    format!(
        "SELECT {columns} FROM {table} WHERE account_id = $1 AND ($2 IS NULL OR id < $2){extra} ORDER BY id DESC LIMIT $3"
    )
}

pub fn by_id_query(columns: &str, table: &str) -> String {
    format!("SELECT {columns} FROM {table} WHERE account_id = $1 AND id = $2")
}

/// Takes the account's row lock (PostgreSQL) or the write lock (SQLite) first, so membership
/// changes of one account are serialised and the last-owner check cannot race.
pub const LOCK_ACCOUNT: &str = "UPDATE accounts SET name = name WHERE id = $1";
pub const MEMBERS: &str = "
SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.account_id = $1
ORDER BY m.created_at, u.email";
pub const OWNER_COUNT: &str =
    "SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND role = 'owner'";
pub const SET_ROLE: &str =
    "UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2";
pub const DELETE_MEMBERSHIP: &str =
    "DELETE FROM memberships WHERE account_id = $1 AND user_id = $2";
pub const INSERT_MEMBERSHIP_IF_NEW: &str = "
INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, user_id) DO NOTHING";
pub const INSERT_CONFIRMED_USER: &str = "
INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at) VALUES ($1, $2, $3, $4, $4)";

pub const INVITATION_COLUMNS: &str =
    "i.id, i.account_id, a.name AS account_name, i.email, i.role, i.invited_by, i.created_at, i.expires_at";
pub const REVOKE_PENDING_FOR_EMAIL: &str = "
UPDATE invitations SET revoked_at = $3
WHERE account_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL";
pub const INSERT_INVITATION: &str = "
INSERT INTO invitations (id, account_id, email, role, token_hash, invited_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const LIVE_INVITATION: &str =
    "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2";
pub const REVOKE_INVITATION: &str = "
UPDATE invitations SET revoked_at = $3
WHERE account_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL";
pub const USE_INVITATION: &str = "
UPDATE invitations SET accepted_at = $2
WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
RETURNING id";
pub const AUDIT_EVENTS: &str = "
SELECT account_id, actor_user_id, action, detail, at FROM audit_events
WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2";

/// Query texts assembled once, at first use, instead of on every request.
macro_rules! built {
    ($($name:ident = $e:expr;)*) => {
        $(pub static $name: LazyLock<String> = LazyLock::new(|| $e);)*
    };
}

built! {
    USER_BY_EMAIL = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    USER_BY_ID = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    LIST_API_KEYS = page_query(API_KEY_COLUMNS, "api_keys", None);
    API_KEY_BY_ID = by_id_query(API_KEY_COLUMNS, "api_keys");
    LIST_WORKSPACES = page_query(WORKSPACE_COLUMNS, "workspaces", None);
    WORKSPACE_BY_ID = by_id_query(WORKSPACE_COLUMNS, "workspaces");
    LIST_RECORDS = page_query(RECORD_COLUMNS, "records", Some("workspace_id"));
    RECORD_BY_ID = by_id_query(RECORD_COLUMNS, "records");
}

pub const DOMAIN_COLUMNS: &str = "id, account_id, domain, token, verified_at, created_at";
pub const INSERT_DOMAIN: &str = "
INSERT INTO account_domains (id, account_id, domain, token, verified_at, created_at)
VALUES ($1, $2, $3, $4, NULL, $5)";
pub const VERIFY_DOMAIN: &str = "
UPDATE account_domains SET verified_at = COALESCE(verified_at, $3)
WHERE account_id = $1 AND id = $2";
pub const DELETE_DOMAIN: &str = "DELETE FROM account_domains WHERE account_id = $1 AND id = $2";

pub const INSERT_SSO_CONNECTION: &str = "
INSERT INTO sso_connections (id, account_id, issuer, client_id, client_secret_enc, enforced, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 0, $6, $6)";
pub const INSERT_SSO_DOMAIN: &str =
    "INSERT INTO sso_connection_domains (connection_id, domain_id) VALUES ($1, $2)";
pub const SSO_CONNECTION_COLUMNS: &str =
    "c.id, c.account_id, c.issuer, c.client_id, c.client_secret_enc, c.enforced, c.tested_at, c.created_at";
pub const SSO_DOMAINS: &str = "
SELECT d.domain, d.verified_at FROM sso_connection_domains s
JOIN account_domains d ON d.id = s.domain_id
WHERE s.connection_id = $1 ORDER BY d.domain";
pub const STOP_ENFORCING_SSO: &str =
    "UPDATE sso_connections SET enforced = 0, updated_at = $3 WHERE account_id = $1 AND id = $2";
pub const MARK_SSO_TESTED: &str =
    "UPDATE sso_connections SET tested_at = $3, updated_at = $3 WHERE account_id = $1 AND id = $2";
pub const SSO_TESTED_AT: &str =
    "SELECT tested_at FROM sso_connections WHERE account_id = $1 AND id = $2";
pub const ENFORCE_SSO: &str = "
UPDATE sso_connections SET enforced = 1, updated_at = $3
WHERE account_id = $1 AND id = $2 AND tested_at IS NOT NULL";
/// Users enforcement would refuse a password: email on a verified domain the connection `$2`
/// serves, not an owner or admin of its account `$1`.
pub const SSO_AFFECTED_USERS: &str = "
SELECT u.id FROM users u
JOIN account_domains d ON u.email LIKE '%@' || d.domain AND d.verified_at IS NOT NULL
JOIN sso_connection_domains s ON s.domain_id = d.id AND s.connection_id = $2
WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.account_id = $1
                  AND m.role IN ('owner', 'admin'))";
pub const DELETE_SSO_CONNECTION: &str =
    "DELETE FROM sso_connections WHERE account_id = $1 AND id = $2";

pub const SSO_IDENTITY_USER: &str =
    "SELECT user_id FROM sso_identities WHERE connection_id = $1 AND subject = $2";
pub const SSO_IDENTITY_OF_USER: &str =
    "SELECT subject FROM sso_identities WHERE connection_id = $1 AND user_id = $2";
pub const INSERT_SSO_IDENTITY: &str = "
INSERT INTO sso_identities (connection_id, subject, user_id, created_at, last_sign_in_at)
VALUES ($1, $2, $3, $4, $4)";
pub const TOUCH_SSO_IDENTITY: &str =
    "UPDATE sso_identities SET last_sign_in_at = $3 WHERE connection_id = $1 AND subject = $2";
pub const INSERT_SSO_USER: &str = "
INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at) VALUES ($1, $2, NULL, $3, $3)";

/// Ends the sessions of `$1` that were started with `$2` ("password", "sso").
pub const END_SESSIONS_BY_METHOD: &str = "DELETE FROM sessions WHERE user_id = $1 AND method = $2";

built! {
    SSO_CONNECTIONS = format!(
        "SELECT {SSO_CONNECTION_COLUMNS} FROM sso_connections c WHERE c.account_id = $1 ORDER BY c.id"
    );
    SSO_BY_DOMAIN = format!(
        "SELECT {SSO_CONNECTION_COLUMNS} FROM sso_connections c
         JOIN sso_connection_domains s ON s.connection_id = c.id
         JOIN account_domains d ON d.id = s.domain_id
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL"
    );
    DOMAINS = format!(
        "SELECT {DOMAIN_COLUMNS} FROM account_domains WHERE account_id = $1 ORDER BY domain, id"
    );
    DOMAIN_BY_ID = by_id_query(DOMAIN_COLUMNS, "account_domains");
    DOMAIN_BY_NAME = format!(
        "SELECT {DOMAIN_COLUMNS} FROM account_domains WHERE account_id = $1 AND domain = $2"
    );
}
