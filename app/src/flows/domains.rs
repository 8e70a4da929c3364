//! Account domains, for owners: add a domain, publish the TXT record it shows, verify it by a
//! DNS lookup, delete it. Only a verified domain can be served by single sign-on, and one
//! account at a time holds a domain verified.
use crate::auth::OwnerOf;
use crate::domain::domains::{self, challenge, record_matches, ChallengeRecord};
use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use crate::domain::ids::DomainId;
use crate::domain::paging::{Page, PageRequest};
use crate::flows::{Outcome, Refusal};
use crate::AppState;

/// Adds a domain to the owner's account; returns it with its challenge token.
pub async fn add(state: &AppState, owner: &OwnerOf, input: &str) -> Outcome<AccountDomain> {
    owner.recently_authenticated(state)?;
    let domain = domains::check_new(input).map_err(|e| Refusal::Invalid {
        field: "domain",
        code: e.code(),
        message: e.to_string(),
    })?;
    let now = state.clock.now();
    let new = AccountDomain {
        id: DomainId::new(),
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
    Page::of_known(all, page, |d| d.id.as_str()).ok_or_else(|| Refusal::NotFound("domain").into())
}

/// One domain of the account.
pub async fn get(state: &AppState, owner: &OwnerOf, id: &DomainId) -> Outcome<AccountDomain> {
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
pub async fn verify(state: &AppState, owner: &OwnerOf, id: &DomainId) -> Outcome<AccountDomain> {
    owner.recently_authenticated(state)?;
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
pub async fn delete(state: &AppState, owner: &OwnerOf, id: &DomainId) -> Outcome<AccountDomain> {
    owner.recently_authenticated(state)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{code, refused, refused_code, Harness};

    fn page(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
            ending_before: None,
        }
    }

    /// An owner of a new account, and `name` added to it (not verified).
    async fn added(h: &Harness, name: &str) -> (OwnerOf, AccountDomain) {
        let account = h.account("Acme");
        let owner = h.owner(&account, "owner@acme.test");
        let domain = add(&h.state, &owner, name).await.unwrap();
        (owner, domain)
    }

    fn publish(h: &Harness, domain: &AccountDomain) {
        let record = record_for(domain);
        h.dns.publish(&record.name, &record.value);
    }

    #[tokio::test]
    async fn an_admin_is_refused_where_an_owner_is_needed() {
        let h = Harness::new();
        let account = h.account("Acme");
        let admin = h.member(&account, "admin@acme.test", Role::Admin);
        assert_eq!(admin.owner().unwrap_err(), Refusal::owners_only());
    }

    #[tokio::test]
    async fn a_domain_is_added_once_in_its_normal_spelling() {
        let h = Harness::new();
        let (owner, domain) = added(&h, " ACME.test. ").await;
        assert_eq!(domain.domain, "acme.test");
        assert_eq!(domain.verified_at, None);
        assert_eq!(domain.token.len(), 32);
        assert_eq!(h.store.audit_actions(), vec!["domain.added"]);
        let again = refused(add(&h.state, &owner, "acme.test").await);
        assert_eq!(
            (code(&again), again.field()),
            ("domain_exists", Some("domain"))
        );
        let malformed = refused(add(&h.state, &owner, "not a domain").await);
        assert_eq!(
            (code(&malformed), malformed.field()),
            ("parameter_invalid", Some("domain"))
        );
        let public = refused(add(&h.state, &owner, "gmail.com").await);
        assert_eq!(code(&public), "public_mail_domain");
        assert_eq!(h.store.domains(owner.account_id()).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_published_record_verifies_the_domain() {
        let h = Harness::new();
        let (owner, domain) = added(&h, "acme.test").await;
        publish(&h, &domain);
        let verified = verify(&h.state, &owner, &domain.id).await.unwrap();
        assert_eq!(verified.verified_at, Some(h.now()));
        let stored = get(&h.state, &owner, &domain.id).await.unwrap();
        assert_eq!(stored.verified_at, Some(h.now()));
        assert_eq!(h.dns.lookups(), vec!["_terminus-hub-challenge.acme.test"]);
        assert!(h
            .store
            .audit_actions()
            .contains(&"domain.verified".to_owned()));
    }

    #[tokio::test]
    async fn no_record_yet_is_unmet_and_changes_nothing() {
        let h = Harness::new();
        let (owner, domain) = added(&h, "acme.test").await;
        // Another account's record (another token) proves nothing for this one.
        h.dns.publish(
            &record_for(&domain).name,
            "terminus-hub-verification=someone-else",
        );
        let refusal = refused(verify(&h.state, &owner, &domain.id).await);
        assert_eq!(code(&refusal), "dns_record_not_found");
        assert!(refusal.message().contains(&record_for(&domain).value));
        let stored = get(&h.state, &owner, &domain.id).await.unwrap();
        assert_eq!(stored.verified_at, None);
    }

    #[tokio::test]
    async fn dns_down_is_unavailable_and_changes_nothing() {
        let h = Harness::new();
        let (owner, domain) = added(&h, "acme.test").await;
        publish(&h, &domain);
        h.dns.set_down(true);
        let refusal = refused(verify(&h.state, &owner, &domain.id).await);
        assert!(matches!(
            refusal,
            Refusal::Unavailable {
                code: "dns_unavailable",
                ..
            }
        ));
        assert_eq!(
            get(&h.state, &owner, &domain.id).await.unwrap().verified_at,
            None
        );
        h.dns.set_down(false);
        assert!(verify(&h.state, &owner, &domain.id).await.is_ok());
    }

    #[tokio::test]
    async fn a_domain_another_account_verified_is_refused() {
        let h = Harness::new();
        let first = h.account("First");
        h.verified_domain(&first, "acme.test").await;
        let (owner, domain) = added(&h, "acme.test").await;
        publish(&h, &domain);
        let refused_here = verify(&h.state, &owner, &domain.id).await;
        assert_eq!(refused_code(refused_here), "domain_verified_elsewhere");
        assert_eq!(
            get(&h.state, &owner, &domain.id).await.unwrap().verified_at,
            None
        );
    }

    #[tokio::test]
    async fn a_verified_domain_is_not_looked_up_again() {
        let h = Harness::new();
        let (owner, domain) = added(&h, "acme.test").await;
        publish(&h, &domain);
        let first = verify(&h.state, &owner, &domain.id).await.unwrap();
        h.dns.set_down(true);
        h.advance(std::time::Duration::from_secs(60));
        let again = verify(&h.state, &owner, &domain.id).await.unwrap();
        assert_eq!(again.verified_at, first.verified_at);
        assert_eq!(h.dns.lookups().len(), 1);
    }

    #[tokio::test]
    async fn another_account_s_domain_is_not_found_and_stays() {
        let h = Harness::new();
        let (_, theirs) = added(&h, "theirs.test").await;
        publish(&h, &theirs);
        let ours = h.account("Ours");
        let owner = h.owner(&ours, "owner@ours.test");
        let not_found = Refusal::NotFound("domain");
        assert_eq!(refused(get(&h.state, &owner, &theirs.id).await), not_found);
        assert_eq!(
            refused(verify(&h.state, &owner, &theirs.id).await),
            not_found
        );
        assert_eq!(
            refused(delete(&h.state, &owner, &theirs.id).await),
            not_found
        );
        assert!(h.dns.lookups().is_empty());
        let kept = h
            .store
            .domain(&theirs.account_id, &theirs.id)
            .await
            .unwrap();
        assert_eq!(kept, Some(theirs));
    }

    #[tokio::test]
    async fn domains_come_a_page_at_a_time_newest_first() {
        let h = Harness::new();
        let (owner, a) = added(&h, "a.test").await;
        let b = add(&h.state, &owner, "b.test").await.unwrap();
        let c = add(&h.state, &owner, "c.test").await.unwrap();
        let first = list(&h.state, &owner, &page(2, None)).await.unwrap();
        assert_eq!(first.items, vec![c, b.clone()]);
        assert!(first.has_more);
        let rest = list(&h.state, &owner, &page(2, Some(b.id.as_str())))
            .await
            .unwrap();
        assert_eq!(rest.items, vec![a.clone()]);
        assert!(!rest.has_more);
        let back = PageRequest {
            limit: 2,
            starting_after: None,
            ending_before: Some(a.id.to_string()),
        };
        let back = list(&h.state, &owner, &back).await.unwrap();
        assert_eq!(back.items, first.items);
        assert!(!back.has_more);
    }

    #[tokio::test]
    async fn deleting_a_domain_stops_single_sign_on_for_it_at_once() {
        let h = Harness::new();
        let account = h.account("Acme");
        let owner = h.owner(&account, "owner@acme.test");
        let connection = h.sso(&account, &["acme.test"], true).await;
        let domain = list(&h.state, &owner, &page(10, None))
            .await
            .unwrap()
            .items
            .remove(0);
        assert!(h.store.sso_for_domain("acme.test").await.unwrap().is_some());
        let deleted = delete(&h.state, &owner, &domain.id).await.unwrap();
        assert_eq!(deleted.domain, "acme.test");
        assert!(h.store.sso_for_domain("acme.test").await.unwrap().is_none());
        let kept = h.store.sso_connections(&account).await.unwrap();
        assert_eq!(kept.len(), 1, "the connection stays");
        assert!(kept[0].domains.is_empty());
        assert_eq!(kept[0].id, connection.id);
        assert!(h
            .store
            .audit_actions()
            .contains(&"domain.deleted".to_owned()));
    }
}
