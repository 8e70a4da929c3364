//! Accounts a person belongs to: creating another one (with its workspace "Main").
use crate::domain::accounts::NewAccount;
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{self, new_id};
use crate::flows::sign_up::FIRST_WORKSPACE_NAME;
use crate::ports::StoreResult;
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

/// Creates an account owned by `user_id`; returns its id.
pub async fn create_account(state: &AppState, user_id: &str, name: String) -> StoreResult<String> {
    let account_id = new_id(ids::ACCOUNT);
    let now = state.clock.now();
    state
        .store
        .create_account(NewAccount {
            account_id: account_id.clone(),
            name,
            plan: state.config.plans.default_name().to_owned(),
            owner_user_id: user_id.to_owned(),
            workspace_id: new_id(ids::WORKSPACE),
            workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
            now,
        })
        .await?;
    state
        .store
        .record_audit(AuditEvent {
            account_id: Some(account_id.clone()),
            actor_user_id: Some(user_id.to_owned()),
            action: "account.created".into(),
            detail: None,
            at: now,
        })
        .await?;
    Ok(account_id)
}
