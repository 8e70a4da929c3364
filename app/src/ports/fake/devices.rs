//! [`DeviceStore`] in memory (`src/store/body/devices.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::ports::{DeviceStore, StoreError, StoreResult};

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn remember_device(
        &self,
        user_id: &UserId,
        device_hash: &str,
        network: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if !state.users.contains_key(user_id) {
            return Err(StoreError(format!("no user {user_id}")));
        }
        let key = (user_id.clone(), device_hash.to_owned(), network.to_owned());
        Ok(state.devices.insert(key, now).is_none())
    }

    async fn put_sign_in_notice(
        &self,
        user_id: &UserId,
        token_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        if !state.users.contains_key(user_id) {
            return Err(StoreError(format!("no user {user_id}")));
        }
        if state.sign_in_notices.iter().any(|n| n.0 == token_hash) {
            return Err(StoreError("token hash exists".into()));
        }
        state
            .sign_in_notices
            .push((token_hash.to_owned(), user_id.clone(), expires_at, None));
        Ok(())
    }

    async fn sign_in_notice(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>> {
        Ok(self
            .lock()?
            .sign_in_notices
            .iter()
            .find(|n| n.0 == token_hash && n.3.is_none() && n.2 > now)
            .map(|n| n.1.clone()))
    }

    async fn disown_sign_in(
        &self,
        token_hash: &str,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(notice) = state
            .sign_in_notices
            .iter_mut()
            .find(|n| n.0 == token_hash && n.1 == *user_id && n.3.is_none() && n.2 > now)
        else {
            return Ok(false);
        };
        notice.3 = Some(now);
        if let Some(user) = state.users.get_mut(user_id) {
            user.session_epoch += 1;
        }
        state.end_sessions(|s| s.user_id == *user_id);
        state.password_blocks.insert(user_id.clone());
        state.audit.push(audit);
        Ok(true)
    }

    async fn password_blocked(&self, user_id: &UserId) -> StoreResult<bool> {
        Ok(self.lock()?.password_blocks.contains(user_id))
    }
}
