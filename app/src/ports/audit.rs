//! The activity log.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::AccountId;

/// Audit events. A change's own event is written in the change's transaction by the method
/// that makes it; [`AuditStore::record_audit`] is for events of their own.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn record_audit(&self, event: AuditEvent) -> StoreResult<()>;
    /// The account's latest events, newest first.
    async fn audit_events(
        &self,
        account_id: &AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
}
