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
    if purpose == TokenPurpose::SignInNotice {
        return crate::flows::notices::not_me_link_is_live(state, token_hash).await;
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

/// Uses an unlock link: the account is unlocked (answered: its email, which the link proved,
/// for the sign-in page), or the link was dead.
pub async fn unlock(state: &AppState, token_hash: &str) -> Outcome<EmailAddress> {
    let dead = || Refusal::conflict("link_dead", DEAD_LINK);
    let Some(user_id) = state
        .store
        .redeem_unlock(token_hash, state.clock.now())
        .await?
    else {
        return Err(dead().into());
    };
    match state.store.user_by_id(&user_id).await? {
        Some(user) => {
            tracing::warn!(
                event = "user.unlocked",
                user_id = %user.id,
                client_ip = crate::web::request::client_ip(),
                "a user unlocked their account with the mailed link"
            );
            crate::flows::sign_in_log::record(state, &user.id, "user.unlocked", String::new());
            Ok(user.email)
        }
        None => Err(dead().into()),
    }
}

/// Sets a new password through a reset link (which also confirms the email, clears the
/// lockout and ends the user's other sessions) and mails a notice. Refused when the password
/// breaks the policy (the link stays good) or the link is dead. Answers the email the link
/// proved, for the sign-in page.
pub async fn reset_password(
    state: &AppState,
    token_hash: &str,
    password: &Secret,
) -> Outcome<EmailAddress> {
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
    let Some(user) = state.store.user_by_id(&user_id).await? else {
        return Err(dead().into());
    };
    tracing::warn!(
        event = "user.password_reset",
        user_id = %user.id,
        client_ip = crate::web::request::client_ip(),
        "a password was reset with a reset link"
    );
    crate::flows::sign_in_log::record(state, &user.id, "password.reset", String::new());
    let reset_link = state.config.link(paths::FORGOT);
    mail::send_throttled(
        state,
        MailKind::PasswordChanged,
        mails::password_changed(&user.email, &reset_link),
    )
    .await?;
    Ok(user.email)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ports::prelude::*;
    use crate::testing::{link_token, refused, refused_code, token_of, Harness, PASSWORD};

    const NEW_PASSWORD: &str = "copper kettle morning rain";

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    /// Asks for a reset of `address` and answers the hash of the link mailed for it.
    async fn reset_link(h: &Harness, address: &str) -> String {
        forgot_password(&h.state, &email(address));
        h.settle().await;
        link_token(h.mails_to(address).last().expect("a reset mail"))
    }

    #[tokio::test]
    async fn a_reset_link_goes_only_to_an_address_with_a_user_once_a_minute() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        forgot_password(&h.state, &email("nobody@example.com"));
        forgot_password(&h.state, &email("ada@example.com"));
        forgot_password(&h.state, &email("ada+again@example.com"));
        h.settle().await;
        assert!(h.mails_to("nobody@example.com").is_empty());
        let mails = h.mails_to("ada@example.com");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "Reset your password");
        assert!(
            h.mails_to("ada+again@example.com").is_empty(),
            "one mailbox"
        );
        h.advance(Duration::from_secs(61));
        forgot_password(&h.state, &email("ada@example.com"));
        h.settle().await;
        assert_eq!(h.mails_to("ada@example.com").len(), 2);
    }

    #[tokio::test]
    async fn a_reset_sets_the_password_confirms_unlocks_and_ends_every_session() {
        let h = Harness::new();
        let (user_id, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let policy = h.state.config.lockout;
        for _ in 0..policy.max_failures {
            h.store
                .reserve_guess(&user_id, h.now(), &policy)
                .await
                .unwrap();
        }
        h.store.add_session(&user_id, Some(&account_id), "password");
        h.store.add_session(&user_id, None, "sso");
        let first = reset_link(&h, "ada@example.com").await;
        h.advance(Duration::from_secs(61));
        let second = reset_link(&h, "ada@example.com").await;
        assert!(link_is_live(&h.state, TokenPurpose::Reset, &first)
            .await
            .unwrap());

        reset_password(&h.state, &second, &Secret::new(NEW_PASSWORD))
            .await
            .unwrap();
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!((user.failed_attempts, user.locked_until), (0, None));
        assert_eq!(user.session_epoch, 1, "sessions loaded before are refused");
        assert!(h.store.sessions().is_empty());
        let verdict = h
            .state
            .passwords
            .verify(&Secret::new(NEW_PASSWORD), user.password_hash.as_deref())
            .await
            .unwrap();
        assert!(matches!(
            verdict,
            crate::hashing::Verification::Match { .. }
        ));
        // Both links are spent: the used one and the other one.
        for link in [&second, &first] {
            let again = reset_password(&h.state, link, &Secret::new(NEW_PASSWORD)).await;
            assert_eq!(refused(again).message(), DEAD_RESET_LINK);
        }
        h.settle().await;
        let notices: Vec<_> = h
            .mails_to("ada@example.com")
            .into_iter()
            .filter(|m| m.subject == "Your password was changed")
            .collect();
        assert_eq!(notices.len(), 1);
    }

    #[tokio::test]
    async fn a_reset_confirms_a_user_whose_email_was_never_confirmed() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", None).await;
        let link = crate::flows::admin::reset_link_for(
            &h.state,
            &crate::flows::admin::Operator::command_line("test"),
            "ada@example.com",
        )
        .await
        .unwrap();
        let hash = token_of(&link);
        reset_password(&h.state, &hash, &Secret::new(NEW_PASSWORD))
            .await
            .unwrap();
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert!(user.email_confirmed_at.is_some());
        assert!(user.password_hash.is_some());
    }

    #[tokio::test]
    async fn a_weak_password_is_refused_and_the_link_stays_good() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let link = reset_link(&h, "ada@example.com").await;
        let weak = refused(reset_password(&h.state, &link, &Secret::new("123456")).await);
        assert_eq!(weak.field(), Some("password"));
        assert!(link_is_live(&h.state, TokenPurpose::Reset, &link)
            .await
            .unwrap());
        let before = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!(before.session_epoch, 0, "nothing changed");
        reset_password(&h.state, &link, &Secret::new(NEW_PASSWORD))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_reset_link_dies_after_an_hour() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let link = reset_link(&h, "ada@example.com").await;
        h.advance(TokenPurpose::Reset.lifetime());
        assert!(!link_is_live(&h.state, TokenPurpose::Reset, &link)
            .await
            .unwrap());
        let late = reset_password(&h.state, &link, &Secret::new(NEW_PASSWORD)).await;
        assert_eq!(refused_code(late), "link_dead");
        let unknown = reset_password(&h.state, &"0".repeat(64), &Secret::new(NEW_PASSWORD)).await;
        assert_eq!(refused_code(unknown), "link_dead");
    }

    #[tokio::test]
    async fn a_link_is_live_only_for_its_own_purpose() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let link = reset_link(&h, "ada@example.com").await;
        assert!(link_is_live(&h.state, TokenPurpose::Reset, &link)
            .await
            .unwrap());
        assert!(!link_is_live(&h.state, TokenPurpose::Unlock, &link)
            .await
            .unwrap());
        assert!(!link_is_live(&h.state, TokenPurpose::Confirm, &link)
            .await
            .unwrap());
        let unlocked = unlock(&h.state, &link).await;
        assert_eq!(refused(unlocked).message(), DEAD_LINK);
    }

    #[tokio::test]
    async fn an_unlock_link_unlocks_once() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let policy = h.state.config.lockout;
        for _ in 0..policy.max_failures {
            h.store
                .reserve_guess(&user_id, h.now(), &policy)
                .await
                .unwrap();
        }
        let link = crate::flows::tokens::issue_link(&h.state, &user_id, TokenPurpose::Unlock)
            .await
            .unwrap();
        let hash = token_of(&link);
        assert!(link_is_live(&h.state, TokenPurpose::Unlock, &hash)
            .await
            .unwrap());
        unlock(&h.state, &hash).await.unwrap();
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!((user.failed_attempts, user.locked_until), (0, None));
        assert_eq!(refused_code(unlock(&h.state, &hash).await), "link_dead");
    }
}
