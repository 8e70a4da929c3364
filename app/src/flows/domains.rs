//! Account domains, for owners: add a domain, publish the TXT record it shows, verify it by a
//! DNS lookup, delete it. Only a verified domain can be served by single sign-on, and one
//! account at a time holds a domain verified.
use crate::auth::OwnerOf;
use crate::domain::domains::{self, challenge, record_matches, ChallengeRecord};
use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use crate::domain::ids::new_id;
use crate::domain::paging::{Page, PageRequest};
use crate::flows::{Outcome, Refusal};
use crate::AppState;

/// Adds a domain to the owner's account; returns it with its challenge token.
pub async fn add(state: &AppState, owner: &OwnerOf, input: &str) -> Outcome<AccountDomain> {
    let domain = domains::check_new(input).map_err(|e| Refusal::Invalid {
        field: "domain",
        code: e.code(),
        message: e.to_string(),
    })?;
    let now = state.clock.now();
    let new = AccountDomain {
        id: new_id("dom"),
        account_id: owner.account_id().to_owned(),
        domain: domain.clone(),
        token: domains::new_token(),
        verified_at: None,
        created_at: now,
    };
    let audit = owner.audit("domain.added", domain, now);
    match state.store.add_domain(new, audit).await? {
        AddDomainOutcome::Added(d) => Ok(d),
        AddDomainOutcome::AlreadyAdded(d) => Err(Refusal::conflict_at(
            "domain",
            "domain_exists",
            format!("{} is already a domain of this account.", d.domain),
        )
        .into()),
    }
}

/// The account's domains, in the order they were added, a page at a time.
pub async fn list(
    state: &AppState,
    owner: &OwnerOf,
    page: &PageRequest,
) -> Outcome<Page<AccountDomain>> {
    let all = state.store.domains(owner.account_id()).await?;
    Ok(Page::of(all, page, |d| d.id.as_str()))
}

/// One domain of the account.
pub async fn get(state: &AppState, owner: &OwnerOf, id: &str) -> Outcome<AccountDomain> {
    state
        .store
        .domain(owner.account_id(), id)
        .await?
        .ok_or_else(|| Refusal::NotFound("domain").into())
}

/// The record an owner publishes for `domain`.
pub fn record_for(domain: &AccountDomain) -> ChallengeRecord {
    challenge(&domain.domain, &domain.token)
}

/// Looks the challenge record up and marks the domain verified when it carries the token.
/// Refused when the record is not there yet (publish it, then try again), when another
/// account holds the domain verified, or when DNS does not answer (nothing changes).
pub async fn verify(state: &AppState, owner: &OwnerOf, id: &str) -> Outcome<AccountDomain> {
    let domain = get(state, owner, id).await?;
    let record = record_for(&domain);
    if domain.verified_at.is_some() {
        return Ok(domain);
    }
    let found = state.dns.txt(&record.name).await.map_err(|err| {
        tracing::warn!(error = %err, "DNS lookup for domain verification failed");
        Refusal::unavailable(
            "dns_unavailable",
            "DNS did not answer. Nothing was changed; please try again in a moment.",
        )
    })?;
    if !record_matches(&found, &domain.token) {
        return Err(Refusal::unmet(
            "dns_record_not_found",
            format!(
                "No TXT record {} with the value {} was found yet. Publish it, then verify again (DNS changes can take a few minutes to appear).",
                record.name, record.value
            ),
        )
        .into());
    }
    let now = state.clock.now();
    let audit = owner.audit("domain.verified", domain.domain.clone(), now);
    match state
        .store
        .verify_domain(owner.account_id(), id, now, audit)
        .await?
    {
        VerifyDomainOutcome::Verified => Ok(AccountDomain {
            verified_at: Some(now),
            ..domain
        }),
        VerifyDomainOutcome::HeldByAnotherAccount => Err(Refusal::conflict(
            "domain_verified_elsewhere",
            "Another account has verified this domain. It must delete it before this account can verify it.",
        )
        .into()),
        VerifyDomainOutcome::NotFound => Err(Refusal::NotFound("domain").into()),
    }
}

/// Deletes a domain: connections stop serving it at once. Returns what was deleted.
pub async fn delete(state: &AppState, owner: &OwnerOf, id: &str) -> Outcome<AccountDomain> {
    let domain = get(state, owner, id).await?;
    let audit = owner.audit("domain.deleted", domain.domain.clone(), state.clock.now());
    if state
        .store
        .delete_domain(owner.account_id(), id, audit)
        .await?
    {
        Ok(domain)
    } else {
        Err(Refusal::NotFound("domain").into())
    }
}
