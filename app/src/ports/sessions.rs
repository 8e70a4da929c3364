//! A person's signed-in sessions, as their Security page lists and ends them. (The sessions
//! themselves are written by the session layer's store in the process crate; this is the
//! person's view of them.)
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::sessions::SessionInfo;

#[async_trait]
pub trait SessionsStore: Send + Sync + 'static {
    /// `user_id`'s live sessions, the most recently started first.
    async fn sessions_of(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>>;
    /// Ends `user_id`'s session `handle`, with `audit` in the same transaction; false when
    /// they have no such session (someone else's handle ends nothing).
    async fn end_session_of(
        &self,
        user_id: &UserId,
        handle: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Ends every session of `user_id` except `keep`, with `audit`; how many ended.
    async fn end_other_sessions_of(
        &self,
        user_id: &UserId,
        keep: &str,
        audit: AuditEvent,
    ) -> StoreResult<u64>;
}
