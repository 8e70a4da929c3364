//! Account domains, for owners: add a domain, publish the TXT record it shows, verify it by a
//! DNS lookup, delete it. Only a verified domain can be served by single sign-on, and one
//! account at a time holds a domain verified.
use crate::auth::OwnerOf;
use crate::domain::domains::{self, challenge, record_matches, ChallengeRecord, DomainError};
use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use crate::domain::ids::new_id;
use crate::flows::FlowError;
use crate::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddResult {
    Added(AccountDomain),
    /// The account had added this domain already.
    AlreadyAdded(AccountDomain),
    Invalid(DomainError),
}

pub async fn add(state: &AppState, owner: &OwnerOf, input: &str) -> Result<AddResult, FlowError> {
    let domain = match domains::check_new(input) {
        Ok(d) => d,
        Err(e) => return Ok(AddResult::Invalid(e)),
    };
    let now = state.clock.now();
    let new = AccountDomain {
        id: new_id("dom"),
        account_id: owner.account_id.clone(),
        domain: domain.clone(),
        token: domains::new_token(),
        verified_at: None,
        created_at: now,
    };
    let audit = owner.audit("domain.added", domain, now);
    Ok(match state.store.add_domain(new, audit).await? {
        AddDomainOutcome::Added(d) => AddResult::Added(d),
        AddDomainOutcome::AlreadyAdded(d) => AddResult::AlreadyAdded(d),
    })
}

pub async fn list(state: &AppState, owner: &OwnerOf) -> Result<Vec<AccountDomain>, FlowError> {
    Ok(state.store.domains(&owner.account_id).await?)
}

pub async fn get(
    state: &AppState,
    owner: &OwnerOf,
    id: &str,
) -> Result<Option<AccountDomain>, FlowError> {
    Ok(state.store.domain(&owner.account_id, id).await?)
}

/// The record an owner publishes for `domain`.
pub fn record_for(domain: &AccountDomain) -> ChallengeRecord {
    challenge(&domain.domain, &domain.token)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyResult {
    Verified(AccountDomain),
    /// The TXT record was not found (or holds another value): publish it, then try again.
    RecordNotFound(ChallengeRecord),
    /// Another account holds this domain verified.
    HeldByAnotherAccount,
    /// DNS did not answer; nothing changed.
    DnsUnavailable,
    NotFound,
}

/// Looks the challenge record up and marks the domain verified when it carries the token.
pub async fn verify(
    state: &AppState,
    owner: &OwnerOf,
    id: &str,
) -> Result<VerifyResult, FlowError> {
    let Some(domain) = state.store.domain(&owner.account_id, id).await? else {
        return Ok(VerifyResult::NotFound);
    };
    let record = record_for(&domain);
    if domain.verified_at.is_some() {
        return Ok(VerifyResult::Verified(domain));
    }
    let found = match state.dns.txt(&record.name).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(error = %err, "DNS lookup for domain verification failed");
            return Ok(VerifyResult::DnsUnavailable);
        }
    };
    if !record_matches(&found, &domain.token) {
        return Ok(VerifyResult::RecordNotFound(record));
    }
    let now = state.clock.now();
    let audit = owner.audit("domain.verified", domain.domain.clone(), now);
    Ok(
        match state
            .store
            .verify_domain(&owner.account_id, id, now, audit)
            .await?
        {
            VerifyDomainOutcome::Verified => VerifyResult::Verified(AccountDomain {
                verified_at: Some(now),
                ..domain
            }),
            VerifyDomainOutcome::HeldByAnotherAccount => VerifyResult::HeldByAnotherAccount,
            VerifyDomainOutcome::NotFound => VerifyResult::NotFound,
        },
    )
}

/// Deletes a domain: connections stop serving it at once. False when there was none.
pub async fn delete(state: &AppState, owner: &OwnerOf, id: &str) -> Result<bool, FlowError> {
    let Some(domain) = state.store.domain(&owner.account_id, id).await? else {
        return Ok(false);
    };
    let audit = owner.audit("domain.deleted", domain.domain, state.clock.now());
    Ok(state
        .store
        .delete_domain(&owner.account_id, id, audit)
        .await?)
}
