//! The activity log.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter};
use crate::domain::ids::AccountId;
use crate::domain::paging::PageRequest;

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
    /// One page of the account's log: its own events and its current members' sign-in
    /// events ([`SIGN_IN_ACTIONS`]), narrowed by `filter`, fetched from the cursor by the rule
    /// of `domain::paging` (newest first after `starting_after`, oldest first from just above
    /// `ending_before`); up to `page.limit + 1` entries (the extra one says more follow).
    ///
    /// [`SIGN_IN_ACTIONS`]: crate::domain::audit::SIGN_IN_ACTIONS
    async fn account_log(
        &self,
        account_id: &AccountId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEntry>>;
}
