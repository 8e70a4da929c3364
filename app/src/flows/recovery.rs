//! Getting back in: unlock links and password reset.
use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::mail::{self, MailKind};
use crate::flows::sign_up::validate_new_password;
use crate::flows::{tokens::issue_link, FlowError};
use crate::mails;
use crate::AppState;

/// Sends a reset link if the address has a user (at most one a minute). The answer is the
/// same for every address and comes first: the work happens after it.
pub fn forgot_password(state: &AppState, email: &EmailAddress) {
    let background = state.clone();
    let email = email.clone();
    state.after_answer("a password reset request", async move {
        if !mail::take_slot(&background, MailKind::Reset, &email).await? {
            return Ok::<(), FlowError>(());
        }
        let Some(user) = background.store.user_by_email(&email).await? else {
            return Ok(());
        };
        let link = issue_link(&background, &user.id, TokenPurpose::Reset).await?;
        background.send_mail_later(mails::reset_password(&email, &link));
        Ok(())
    });
}

/// Whether a link can still be used, without using it (to show the right page).
pub async fn link_is_live(
    state: &AppState,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<bool, FlowError> {
    if purpose == TokenPurpose::Confirm {
        return crate::flows::sign_up::confirmation_is_live(state, token_hash).await;
    }
    Ok(state
        .store
        .token_is_live(purpose, token_hash, state.clock.now())
        .await?)
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
        mail::send_throttled(
            state,
            MailKind::PasswordChanged,
            mails::password_changed(&user.email, &reset_link),
        )
        .await?;
    }
    Ok(ResetResult::Done)
}
