//! [`DomainStore`] in memory (`src/store/body/domains.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use crate::domain::ids::{AccountId, DomainId};
use crate::ports::{DomainStore, StoreResult};

#[async_trait]
impl DomainStore for MemoryStore {
    /// One row per (account, domain): adding it again answers the one there is.
    async fn add_domain(
        &self,
        domain: AccountDomain,
        audit: AuditEvent,
    ) -> StoreResult<AddDomainOutcome> {
        let mut state = self.lock()?;
        if let Some(existing) = state
            .domains
            .iter()
            .find(|d| d.account_id == domain.account_id && d.domain == domain.domain)
        {
            return Ok(AddDomainOutcome::AlreadyAdded(existing.clone()));
        }
        state.domains.push(AccountDomain {
            verified_at: None,
            ..domain.clone()
        });
        state.audit.push(audit);
        Ok(AddDomainOutcome::Added(domain))
    }

    /// By name, then id.
    async fn domains(&self, account_id: &AccountId) -> StoreResult<Vec<AccountDomain>> {
        let mut found: Vec<AccountDomain> = self
            .lock()?
            .domains
            .iter()
            .filter(|d| d.account_id == account_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.domain, &a.id).cmp(&(&b.domain, &b.id)));
        Ok(found)
    }

    async fn domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
    ) -> StoreResult<Option<AccountDomain>> {
        Ok(self
            .lock()?
            .domains
            .iter()
            .find(|d| d.account_id == account_id && d.id == id)
            .cloned())
    }

    /// The partial unique index: one row per domain may be verified.
    async fn verify_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<VerifyDomainOutcome> {
        let mut state = self.lock()?;
        let Some(name) = state
            .domains
            .iter()
            .find(|d| d.account_id == account_id && d.id == id)
            .map(|d| d.domain.clone())
        else {
            return Ok(VerifyDomainOutcome::NotFound);
        };
        if state
            .domains
            .iter()
            .any(|d| d.domain == name && d.id != id && d.verified_at.is_some())
        {
            return Ok(VerifyDomainOutcome::HeldByAnotherAccount);
        }
        if let Some(domain) = state.domains.iter_mut().find(|d| d.id == id) {
            domain.verified_at = domain.verified_at.or(Some(now));
        }
        state.audit.push(audit);
        Ok(VerifyDomainOutcome::Verified)
    }

    /// Connections stop serving it (the cascade).
    async fn delete_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let before = state.domains.len();
        state
            .domains
            .retain(|d| !(d.account_id == account_id && d.id == id));
        if state.domains.len() == before {
            return Ok(false);
        }
        state
            .connection_domains
            .retain(|(_, domain_id)| domain_id != id);
        state.audit.push(audit);
        Ok(true)
    }
}
