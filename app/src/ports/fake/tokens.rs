//! [`TokenStore`] in memory (`src/store/body/tokens.rs`).
use async_trait::async_trait;

use super::{MemoryStore, State, TokenRow};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::tokens::TokenPurpose;
use crate::ports::{StoreError, StoreResult, TokenStore};

impl State {
    /// `INSERT_TOKEN`: the hash is the key, and the user must exist.
    fn insert_token(
        &mut self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        if !self.users.contains_key(user_id) {
            return Err(StoreError(format!("no user {user_id}")));
        }
        if self.tokens.iter().any(|t| t.token_hash == token_hash) {
            return Err(StoreError("token hash exists".into()));
        }
        self.tokens.push(TokenRow {
            token_hash: token_hash.to_owned(),
            purpose,
            user_id: user_id.to_owned(),
            expires_at,
            used_at: None,
        });
        Ok(())
    }

    /// `CONSUME_TOKEN`: uses a live token once; its user.
    fn consume(
        &mut self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> Option<UserId> {
        let token = self
            .tokens
            .iter_mut()
            .find(|t| t.token_hash == token_hash && t.live(purpose, now))?;
        token.used_at = Some(now);
        Some(token.user_id.clone())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_token(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<()> {
        self.lock()?
            .insert_token(user_id, purpose, token_hash, expires_at)
    }

    async fn insert_token_audited(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        state.insert_token(user_id, purpose, token_hash, expires_at)?;
        state.audit.push(audit);
        Ok(())
    }

    async fn token_is_live(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        Ok(self
            .lock()?
            .tokens
            .iter()
            .any(|t| t.token_hash == token_hash && t.live(purpose, now)))
    }

    async fn redeem_unlock(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<UserId>> {
        let mut state = self.lock()?;
        let Some(user_id) = state.consume(TokenPurpose::Unlock, token_hash, now) else {
            return Ok(None);
        };
        if let Some(user) = state.users.get_mut(&user_id) {
            user.failed_attempts = 0;
            user.locked_until = None;
        }
        Ok(Some(user_id))
    }

    /// Sets the password, confirms the email, clears the lockout, bumps the session epoch,
    /// voids the user's other reset links and ends their sessions.
    async fn redeem_reset(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>> {
        let mut state = self.lock()?;
        let Some(user_id) = state.consume(TokenPurpose::Reset, token_hash, now) else {
            return Ok(None);
        };
        if let Some(user) = state.users.get_mut(&user_id) {
            user.password_hash = Some(new_password_hash.to_owned());
            user.email_confirmed_at = user.email_confirmed_at.or(Some(now));
            user.failed_attempts = 0;
            user.locked_until = None;
            user.session_epoch += 1;
        }
        for token in &mut state.tokens {
            if token.user_id == user_id
                && token.purpose == TokenPurpose::Reset
                && token.used_at.is_none()
            {
                token.used_at = Some(now);
            }
        }
        state.end_sessions(|s| s.user_id == user_id);
        state.password_blocks.remove(&user_id);
        Ok(Some(user_id))
    }
}
