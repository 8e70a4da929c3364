//! Account domains: the email domains an account proves it holds, by a DNS TXT record.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use crate::domain::ids::{AccountId, DomainId};

/// Account domains.
#[async_trait]
pub trait DomainStore: Send + Sync + 'static {
    async fn add_domain(
        &self,
        domain: AccountDomain,
        audit: AuditEvent,
    ) -> StoreResult<AddDomainOutcome>;
    async fn domains(&self, account_id: &AccountId) -> StoreResult<Vec<AccountDomain>>;
    async fn domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
    ) -> StoreResult<Option<AccountDomain>>;
    /// Marks the domain verified unless another account holds it verified.
    async fn verify_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<VerifyDomainOutcome>;
    /// Deletes the domain (connections stop serving it). False when there was none.
    async fn delete_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
}
