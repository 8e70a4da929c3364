//! The accounts a person belongs to: where they land after signing in, switching the current
//! one, creating another (with its workspace "Main"), and the current one's workspaces.
use crate::auth::{self, AdminOf, MemberOf, OwnerOf, Signed};
use crate::domain::accounts::NewAccount;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{AccountId, UserId, WorkspaceId};
use crate::domain::members::Membership;
use crate::flows::sign_up::FIRST_WORKSPACE_NAME;
use crate::flows::{Outcome, Refusal};
use crate::AppState;

pub const MAX_ACCOUNT_NAME_CHARS: usize = 100;

/// Validates an account name: 1 to 100 characters after trimming, none of them control,
/// invisible or direction-changing characters.
pub fn account_name(input: &str) -> Result<String, String> {
    crate::domain::text::clean_name(input, MAX_ACCOUNT_NAME_CHARS).map_err(|e| match e {
        crate::domain::text::NameError::Empty => "Give the account a name.".to_owned(),
        other => other.to_string(),
    })
}

/// Makes `account_id` the current account, if the person belongs to it.
pub async fn switch(
    state: &AppState,
    signed: &Signed,
    account_id: &AccountId,
) -> Outcome<MemberOf> {
    auth::member_of(state, signed, account_id)
        .await?
        .ok_or_else(|| {
            Refusal::not_allowed("not_a_member", "You are not a member of that account.").into()
        })
}

/// Every account the signed-in person belongs to, with their role in it (the picker).
pub async fn memberships(state: &AppState, signed: &Signed) -> Outcome<Vec<Membership>> {
    Ok(state.store.memberships(signed.user_id()).await?)
}

/// Creates an account owned by the signed-in person; returns its id and name.
pub async fn create(state: &AppState, signed: &Signed, name: &str) -> Outcome<(AccountId, String)> {
    let name = account_name(name).map_err(|message| Refusal::invalid("name", message))?;
    // Counted per person, not per account: each new account would otherwise bring a fresh
    // daily allowance of invitations.
    let limit = state.config.floods.accounts_per_person_per_day;
    let key = crate::domain::floods::accounts_by_key(signed.user_id());
    if let Some(wait) = crate::flows::floods::per_day(state, &key, limit).await? {
        return Err(Refusal::TooSoon {
            code: "account_limit_reached",
            message: "You have created as many accounts as you may today. Try again tomorrow."
                .into(),
            retry_after_secs: wait.as_secs(),
            field: Some("name"),
        }
        .into());
    }
    let id = create_account(state, signed.user_id(), name.clone()).await?;
    Ok((id, name))
}

/// Renames the admin's account (the audit event says from what to what); answers the clean
/// name.
pub async fn rename(state: &AppState, admin: &AdminOf, name: &str) -> Outcome<String> {
    let name = account_name(name).map_err(|message| Refusal::invalid("name", message))?;
    let Some(account) = state.store.account(admin.account_id()).await? else {
        return Err(Refusal::NotFound("account").into());
    };
    let audit = admin.audit(
        "account.renamed",
        format!("{} → {}", account.name, name),
        state.clock.now(),
    );
    if !state
        .store
        .rename_account(admin.account_id(), &name, audit)
        .await?
    {
        return Err(Refusal::NotFound("account").into());
    }
    Ok(name)
}

/// What deleting an account asks to be typed, and says when it was not.
pub const DELETE_CONFIRMATION: &str =
    "Type the account's name exactly as it is shown to delete it.";

/// Deletes the owner's account with everything under it (workspaces, records, keys, domains,
/// single sign-on, invitations, memberships, its activity log): a recent sign-in and the
/// account's name typed back first. Everyone's sessions in it end; the event of the deletion
/// is kept outside the account (which no longer exists).
pub async fn delete(state: &AppState, owner: &OwnerOf, typed_name: &str) -> Outcome<String> {
    owner.recently_authenticated(state)?;
    let Some(account) = state.store.account(owner.account_id()).await? else {
        return Err(Refusal::NotFound("account").into());
    };
    if typed_name.trim() != account.name {
        return Err(Refusal::invalid("confirm", DELETE_CONFIRMATION).into());
    }
    let audit = AuditEvent {
        account_id: None,
        actor_user_id: Some(owner.user_id().clone()),
        action: "account.deleted".into(),
        detail: Some(format!(
            "{} (\"{}\") deleted with everything under it",
            account.id, account.name
        )),
        at: state.clock.now(),
    };
    if !state.store.delete_account(&account.id, audit).await? {
        return Err(Refusal::NotFound("account").into());
    }
    Ok(account.name)
}

/// What the account settings page shows every member: the account, their role, its plan and
/// what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    pub account: crate::domain::accounts::Account,
    pub workspaces: usize,
    pub members: usize,
    pub owners: usize,
    /// API requests in the last 30 days, by the keys the account has now.
    pub requests_30_days: u64,
}

/// The member's account at a glance.
pub async fn overview(state: &AppState, member: &MemberOf) -> Outcome<Overview> {
    let Some(account) = state.store.account(member.account_id()).await? else {
        return Err(Refusal::NotFound("account").into());
    };
    let workspaces = state.store.workspaces(member.account_id()).await?.len();
    let people = state.store.members(member.account_id()).await?;
    let owners = people
        .iter()
        .filter(|m| m.role == crate::domain::roles::Role::Owner)
        .count();
    let first_day = crate::domain::api_keys::first_usage_day(state.clock.now());
    let requests_30_days = state
        .store
        .list_api_keys(
            member.account_id(),
            &crate::domain::paging::PageRequest::everything(),
        )
        .await?
        .iter()
        .flat_map(|k| k.usage.iter())
        .filter(|u| u.day >= first_day)
        .map(|u| u.requests)
        .sum();
    Ok(Overview {
        account,
        workspaces,
        members: people.len(),
        owners,
        requests_30_days,
    })
}

/// Creates an account owned by `user_id`; returns its id.
async fn create_account(state: &AppState, user_id: &UserId, name: String) -> Outcome<AccountId> {
    let account_id = AccountId::new();
    let now = state.clock.now();
    state
        .store
        .create_account(
            NewAccount {
                account_id: account_id.clone(),
                name,
                plan: state.config.plans.default_name().to_owned(),
                owner_user_id: user_id.to_owned(),
                workspace_id: WorkspaceId::new(),
                workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
                now,
            },
            AuditEvent {
                account_id: Some(account_id.clone()),
                actor_user_id: Some(user_id.to_owned()),
                action: "account.created".into(),
                detail: None,
                at: now,
            },
        )
        .await?;
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{code, refused, Harness, PASSWORD};

    #[tokio::test]
    async fn switching_needs_a_membership_and_reads_the_role_now() {
        let h = Harness::new();
        let (user_id, home) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let other = h.account("Other");
        let ada = Signed::for_tests(&user_id, "ada@example.com", Some(&home));
        let refusal = refused(switch(&h.state, &ada, &other).await);
        assert_eq!(code(&refusal), "not_a_member");
        h.store
            .add_member(&other, &user_id, "ada@example.com", Role::Admin);
        let there = switch(&h.state, &ada, &other).await.unwrap();
        assert_eq!((there.account_id(), there.role()), (&other, Role::Admin));
    }

    #[tokio::test]
    async fn a_new_account_is_owned_by_its_creator_with_a_main_workspace() {
        let h = Harness::new();
        let (user_id, home) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let ada = Signed::for_tests(&user_id, "ada@example.com", Some(&home));
        let (id, name) = create(&h.state, &ada, "  Side project ").await.unwrap();
        assert_eq!(name, "Side project");
        assert_eq!(
            h.store.role_in(&user_id, &id).await.unwrap(),
            Some(Role::Owner)
        );
        let mine = memberships(&h.state, &ada).await.unwrap();
        let names: Vec<&str> = mine.iter().map(|m| m.account_name.as_str()).collect();
        assert_eq!(names, vec!["ada's account", "Side project"]);
        let spaces = h.store.workspaces(&id).await.unwrap();
        assert_eq!(spaces.len(), 1);
        assert_eq!(spaces[0].name, FIRST_WORKSPACE_NAME);
        let log = h.store.audit_events(&id, 10).await.unwrap();
        assert_eq!(log[0].action, "account.created");
    }

    #[tokio::test]
    async fn an_account_name_must_be_clean_and_not_empty() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let ada = Signed::for_tests(&user_id, "ada@example.com", None);
        for bad in [
            "   ",
            "evil\u{202e}name",
            &"x".repeat(MAX_ACCOUNT_NAME_CHARS + 1),
        ] {
            let refusal = refused(create(&h.state, &ada, bad).await);
            assert_eq!(refusal.field(), Some("name"), "{bad:?}");
        }
        assert_eq!(memberships(&h.state, &ada).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_person_creates_so_many_accounts_a_day() {
        let h = Harness::with_config(|c| c.floods.accounts_per_person_per_day = 2);
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let (bob_id, _) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        let ada = Signed::for_tests(&user_id, "ada@example.com", None);
        create(&h.state, &ada, "One").await.unwrap();
        create(&h.state, &ada, "Two").await.unwrap();
        let third = refused(create(&h.state, &ada, "Three").await);
        let Refusal::TooSoon {
            code,
            retry_after_secs,
            field,
            ..
        } = third
        else {
            panic!("expected to wait, got {third:?}");
        };
        assert_eq!((code, field), ("account_limit_reached", Some("name")));
        assert_eq!(retry_after_secs, 24 * 3600);
        assert_eq!(memberships(&h.state, &ada).await.unwrap().len(), 3);
        // Counted per person.
        let bob = Signed::for_tests(&bob_id, "bob@example.com", None);
        create(&h.state, &bob, "Bob's").await.unwrap();
        h.advance(Duration::from_secs(24 * 3600));
        create(&h.state, &ada, "Three").await.unwrap();
    }

    #[tokio::test]
    async fn an_owner_deletes_the_account_after_typing_its_name() {
        let h = Harness::new();
        let (user_id, home) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let owner = MemberOf::for_tests(&user_id, "ada@example.com", &home, Role::Owner)
            .owner()
            .unwrap();
        let refused = crate::testing::refused(delete(&h.state, &owner, "nope").await);
        assert_eq!(refused.field(), Some("confirm"));
        assert!(h.store.account(&home).await.unwrap().is_some());
        delete(&h.state, &owner, " ada's account ").await.unwrap();
        assert!(h.store.account(&home).await.unwrap().is_none());
        let log = h.store.audit_log();
        let last = log.last().unwrap();
        assert_eq!(
            (last.action.as_str(), last.account_id.as_ref()),
            ("account.deleted", None)
        );
    }
}
