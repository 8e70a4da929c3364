//! The accounts a person belongs to: where they land after signing in, switching the current
//! one, creating another (with its workspace "Main"), and the current one's workspaces.
use crate::auth::{self, MemberOf, Signed};
use crate::domain::accounts::NewAccount;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{self, new_id};
use crate::domain::members::Membership;
use crate::domain::workspaces::Workspace;
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
pub async fn switch(state: &AppState, signed: &Signed, account_id: &str) -> Outcome<MemberOf> {
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

/// The workspaces of the member's account.
pub async fn workspaces(state: &AppState, member: &MemberOf) -> Outcome<Vec<Workspace>> {
    Ok(state.store.workspaces(member.account_id()).await?)
}

/// Creates an account owned by the signed-in person; returns its id and name.
pub async fn create(state: &AppState, signed: &Signed, name: &str) -> Outcome<(String, String)> {
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

/// Creates an account owned by `user_id`; returns its id.
async fn create_account(state: &AppState, user_id: &str, name: String) -> Outcome<String> {
    let account_id = new_id(ids::ACCOUNT);
    let now = state.clock.now();
    state
        .store
        .create_account(
            NewAccount {
                account_id: account_id.clone(),
                name,
                plan: state.config.plans.default_name().to_owned(),
                owner_user_id: user_id.to_owned(),
                workspace_id: new_id(ids::WORKSPACE),
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
