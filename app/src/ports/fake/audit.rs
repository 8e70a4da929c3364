//! [`AuditStore`] in memory (`src/store/body/audit.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter, SIGN_IN_ACTIONS};
use crate::domain::ids::AccountId;
use crate::domain::paging::PageRequest;
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

    /// `ACCOUNT_LOG`: ids are the events' positions, zero-padded (so they sort as written).
    async fn account_log(
        &self,
        account_id: &AccountId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEntry>> {
        let state = self.lock()?;
        let mut entries: Vec<AuditEntry> = state
            .audit
            .iter()
            .enumerate()
            .map(|(i, e)| AuditEntry {
                id: format!("evt_{i:020}"),
                event: e.clone(),
                ip: None,
                device: None,
            })
            .filter(|entry| {
                let e = &entry.event;
                let own = e.account_id.as_ref() == Some(account_id);
                let members_sign_in = e.account_id.is_none()
                    && SIGN_IN_ACTIONS.contains(&e.action.as_str())
                    && e.actor_user_id
                        .as_ref()
                        .is_some_and(|u| state.role_of(u, account_id).is_some());
                let kind = filter
                    .kind
                    .is_none_or(|k| e.action.starts_with(&format!("{k}.")));
                let actor = filter
                    .actor
                    .as_ref()
                    .is_none_or(|a| e.actor_user_id.as_ref() == Some(a));
                (own || members_sign_in) && kind && actor && page.admits(&entry.id)
            })
            .collect();
        // Written oldest first: newest first after a cursor, as `ACCOUNT_LOG` reads them;
        // oldest first from just above `ending_before`, as `ACCOUNT_LOG_BEFORE` does.
        if !page.backwards() {
            entries.reverse();
        }
        entries.truncate(
            usize::try_from(page.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        Ok(entries)
    }
}
