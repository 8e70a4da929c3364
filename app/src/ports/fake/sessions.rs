//! [`SessionsStore`] in memory (`src/store/body/sessions.rs`): the sessions a test added with
//! [`MemoryStore::add_session`].
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::sessions::{SessionInfo, IDLE_TIMEOUT_MILLIS};
use crate::ports::{SessionsStore, StoreResult};

#[async_trait]
impl SessionsStore for MemoryStore {
    async fn sessions_of(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>> {
        let state = self.lock()?;
        Ok(state
            .sessions
            .iter()
            .rev()
            .filter(|s| s.user_id == *user_id)
            .map(|s| SessionInfo {
                handle: s.id.clone(),
                method: Some(s.method.clone()),
                user_agent: None,
                ip: None,
                started_at: None,
                expires_at: Timestamp(now.millis() + IDLE_TIMEOUT_MILLIS),
            })
            .collect())
    }

    async fn end_session_of(
        &self,
        user_id: &UserId,
        handle: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let ended = state.end_sessions(|s| s.user_id == *user_id && s.id == handle);
        if ended > 0 {
            state.audit.push(audit);
        }
        Ok(ended > 0)
    }

    async fn end_other_sessions_of(
        &self,
        user_id: &UserId,
        keep: &str,
        audit: AuditEvent,
    ) -> StoreResult<u64> {
        let mut state = self.lock()?;
        let ended = state.end_sessions(|s| s.user_id == *user_id && s.id != keep);
        state.audit.push(audit);
        Ok(ended)
    }
}
