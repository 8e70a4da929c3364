//! [`AuditStore`] in memory (`src/store/body/audit.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::AccountId;
use crate::ports::{AuditStore, StoreResult};

#[async_trait]
impl AuditStore for MemoryStore {
    async fn record_audit(&self, event: AuditEvent) -> StoreResult<()> {
        self.lock()?.audit.push(event);
        Ok(())
    }

    /// Newest first: by time, then the later written (ids are time-ordered).
    async fn audit_events(
        &self,
        account_id: &AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut events: Vec<AuditEvent> = self
            .lock()?
            .audit
            .iter()
            .filter(|e| e.account_id.as_ref() == Some(account_id))
            .cloned()
            .collect();
        events.reverse();
        events.sort_by_key(|e| std::cmp::Reverse(e.at));
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}
