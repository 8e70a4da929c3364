//! The devices a person signs in from, the "This wasn't me" links of new-device notices, and
//! the password block such a link sets.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;

/// Known devices (the SHA-256 of a device cookie's id with a network, per person), the
/// notices' one-time links (stored as SHA-256 hashes) and password blocks.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Records that `user_id` signed in from `device_hash` on `network` now, in one
    /// statement: `true` when that pair was never seen for them (the row is new), `false`
    /// when it was (its last-seen time moves on).
    async fn remember_device(
        &self,
        user_id: &UserId,
        device_hash: &str,
        network: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Stores a "This wasn't me" link's token hash for `user_id`.
    async fn put_sign_in_notice(
        &self,
        user_id: &UserId,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Whose unused, unexpired "This wasn't me" link this is, without using it.
    async fn sign_in_notice(&self, token_hash: &str, now: Timestamp)
        -> StoreResult<Option<UserId>>;
    /// Uses the link (once, even under concurrency) and, in the same transaction: ends every
    /// session of its user (the rows go and the session epoch moves on), blocks password
    /// sign-in until a reset, and writes `audit`. `false` (nothing written) when the link is
    /// not `user_id`'s, used or expired.
    async fn disown_sign_in(
        &self,
        token_hash: &str,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Whether password sign-in is blocked for `user_id` (until a password reset clears it).
    async fn password_blocked(&self, user_id: &UserId) -> StoreResult<bool>;
}
