//! Getting back in: unlock links and password reset.
use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::mail::{self, MailKind};
use crate::flows::sign_up::validate_new_password;
use crate::flows::{tokens::issue_link, FlowError, Outcome, Refusal};
use crate::mails;
use crate::paths;
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

/// What a dead unlock or reset link says.
pub const DEAD_LINK: &str = "This link is invalid, has expired or was already used.";
pub const DEAD_RESET_LINK: &str =
    "This reset link is invalid, has expired or was already used. Ask for a new one below.";

/// Uses an unlock link: the account is unlocked, or the link was dead.
pub async fn unlock(state: &AppState, token_hash: &str) -> Outcome<()> {
    state
        .store
        .redeem_unlock(token_hash, state.clock.now())
        .await?
        .map(|_| ())
        .ok_or_else(|| Refusal::conflict("link_dead", DEAD_LINK).into())
}

/// Sets a new password through a reset link (which also confirms the email, clears the
/// lockout and ends the user's other sessions) and mails a notice. Refused when the password
/// breaks the policy (the link stays good) or the link is dead.
pub async fn reset_password(state: &AppState, token_hash: &str, password: &Secret) -> Outcome<()> {
    validate_new_password(password, None)
        .map_err(|message| Refusal::invalid("password", message))?;
    let now = state.clock.now();
    let dead = || Refusal::conflict("link_dead", DEAD_RESET_LINK);
    if !state
        .store
        .token_is_live(TokenPurpose::Reset, token_hash, now)
        .await?
    {
        return Err(dead().into());
    }
    let hash = state.passwords.hash(password).await?;
    let Some(user_id) = state.store.redeem_reset(token_hash, &hash, now).await? else {
        return Err(dead().into());
    };
    if let Some(user) = state.store.user_by_id(&user_id).await? {
        let reset_link = state.config.link(paths::FORGOT);
        mail::send_throttled(
            state,
            MailKind::PasswordChanged,
            mails::password_changed(&user.email, &reset_link),
        )
        .await?;
    }
    Ok(())
}
