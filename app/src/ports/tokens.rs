//! One-time tokens (confirm, reset, unlock links).
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::tokens::TokenPurpose;

/// One-time tokens.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn insert_token(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Stores a one-time token like [`TokenStore::insert_token`], with its audit event.
    async fn insert_token_audited(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()>;
    /// Whether a token could be redeemed now, without using it (to show the right page).
    async fn token_is_live(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Uses an unlock token and clears the lockout.
    async fn redeem_unlock(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<UserId>>;
    /// Uses a reset token and, in the same transaction: sets the password, confirms the email,
    /// clears the lockout, ends the user's sessions (their rows are deleted, and a new epoch
    /// refuses any that were loaded already) and voids other reset links.
    async fn redeem_reset(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>>;
}
