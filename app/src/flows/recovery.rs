//! Getting back in: email confirmation, unlock links, and password reset.
use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::sign_up::validate_new_password;
use crate::flows::{tokens::issue_link, FlowError};
use crate::mails;
use crate::AppState;

/// Sends a reset link if the address has a user (at most one a minute). The page answers
/// the same for every address.
pub async fn forgot_password(state: &AppState, email: &EmailAddress) -> Result<(), FlowError> {
    let Some(user) = state.store.user_by_email(email).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    if state
        .store
        .take_mail_slot(
            &format!("reset:{}", user.id),
            now,
            state.config.mail_interval,
        )
        .await?
    {
        let link = issue_link(state, &user.id, TokenPurpose::Reset).await?;
        state.send_mail_later(mails::reset_password(email, &link));
    }
    Ok(())
}

pub async fn link_is_live(
    state: &AppState,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<bool, FlowError> {
    Ok(state
        .store
        .token_is_live(purpose, token_hash, state.clock.now())
        .await?)
}

/// Uses a confirm or unlock link; true when it was good and its effect applied.
pub async fn redeem_link(
    state: &AppState,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<bool, FlowError> {
    match purpose {
        TokenPurpose::Confirm => confirm_email(state, token_hash).await,
        TokenPurpose::Unlock => unlock(state, token_hash).await,
        TokenPurpose::Reset | TokenPurpose::Invite => Ok(false),
    }
}

/// True when the link was good and the email is now confirmed.
pub async fn confirm_email(state: &AppState, token_hash: &str) -> Result<bool, FlowError> {
    Ok(state
        .store
        .redeem_confirm(token_hash, state.clock.now())
        .await?
        .is_some())
}

/// True when the link was good and the account is unlocked.
pub async fn unlock(state: &AppState, token_hash: &str) -> Result<bool, FlowError> {
    Ok(state
        .store
        .redeem_unlock(token_hash, state.clock.now())
        .await?
        .is_some())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetResult {
    Done,
    /// The new password breaks the policy; the link is still good.
    InvalidPassword(String),
    /// Unknown, used or expired link.
    LinkDead,
}

pub async fn reset_password(
    state: &AppState,
    token_hash: &str,
    password: &Secret,
) -> Result<ResetResult, FlowError> {
    if let Err(message) = validate_new_password(password, None) {
        return Ok(ResetResult::InvalidPassword(message));
    }
    let now = state.clock.now();
    if !state
        .store
        .token_is_live(TokenPurpose::Reset, token_hash, now)
        .await?
    {
        return Ok(ResetResult::LinkDead);
    }
    let hash = state.passwords.hash(password).await?;
    let Some(user_id) = state.store.redeem_reset(token_hash, &hash, now).await? else {
        return Ok(ResetResult::LinkDead);
    };
    if let Some(user) = state.store.user_by_id(&user_id).await? {
        let reset_link = state.config.link("/forgot");
        state.send_mail_later(mails::password_changed(&user.email, &reset_link));
    }
    Ok(ResetResult::Done)
}
