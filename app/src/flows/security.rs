//! A person's own security, as their Security page changes it: their password, their
//! signed-in sessions, and the API keys they created. Each flow takes the signed-in person
//! ([`Signed`]): nobody acts on another person's security here.
use crate::auth::Signed;
use crate::domain::api_keys::ApiKeyRecord;
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::lockout::GuessReservation;
use crate::domain::paging::PageRequest;
use crate::domain::roles;
use crate::domain::secret::Secret;
use crate::domain::sessions::SessionInfo;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{EmailChange, EmailChangeOutcome, UserRecord};
use crate::flows::mail::{self, MailKind};
use crate::flows::second_factors;
use crate::flows::sign_in::mail_unlock_if_locked;
use crate::flows::sign_up::validate_new_password;
use crate::flows::{Outcome, Refusal};
use crate::hashing::Verification;
use crate::mails;
use crate::paths;
use crate::AppState;

pub const WRONG_CURRENT_PASSWORD: &str = "That is not your current password.";
pub const NO_PASSWORD_YET: &str =
    "You sign in through single sign-on and have no password here. To set one, use \"Forgot your password?\" on the sign-in page.";

/// An audit event of the person about themselves (no account: it concerns every account
/// they belong to).
fn own_audit(
    signed: &Signed,
    action: &str,
    detail: Option<String>,
    state: &AppState,
) -> AuditEvent {
    AuditEvent {
        account_id: None,
        actor_user_id: Some(signed.user_id().clone()),
        action: action.into(),
        detail,
        at: state.clock.now(),
    }
}

/// Checks the person's current password before a change to their own security: refused next
/// to the `current_password` field when it is missing or wrong. A wrong one counts in the
/// lockout like a wrong password at sign-in (the fifth locks and mails the unlock link), so a
/// stolen session cannot be used to guess it.
async fn check_current_password(
    state: &AppState,
    signed: &Signed,
    email: &EmailAddress,
    current: &Secret,
) -> Outcome<UserRecord> {
    let user = state
        .store
        .user_by_id(signed.user_id())
        .await?
        .ok_or(Refusal::NotFound("user"))?;
    let Some(stored) = user.password_hash.clone() else {
        return Err(Refusal::invalid("current_password", NO_PASSWORD_YET).into());
    };
    if current.expose().is_empty() {
        return Err(Refusal::invalid("current_password", "Enter your current password.").into());
    }
    let now = state.clock.now();
    let policy = state.config.lockout;
    let attempt = match state.store.reserve_guess(&user.id, now, &policy).await? {
        GuessReservation::Granted { attempt } => attempt,
        GuessReservation::Refused => {
            return Err(Refusal::invalid(
                "current_password",
                "Too many wrong passwords: your account is locked for a few minutes. We emailed you a link to unlock it now.",
            )
            .into())
        }
    };
    match state.passwords.verify(current, Some(&stored)).await? {
        Verification::Match { .. } => Ok(user),
        Verification::Mismatch => {
            mail_unlock_if_locked(state, &user.id, email, attempt).await?;
            Err(Refusal::invalid("current_password", WRONG_CURRENT_PASSWORD).into())
        }
    }
}

/// The person proves who they are again with their password (counted like a sign-in guess),
/// before a sensitive change. The caller records the time in the session.
///
/// A person with two-factor authentication also gives a code from their app or a recovery
/// code (`code`), checked only once the password is right. The failure count clears only when
/// the whole proof is complete, so a known password gives no extra code guesses.
pub async fn reauthenticate(
    state: &AppState,
    signed: &Signed,
    password: &Secret,
    code: &str,
) -> Outcome<()> {
    let email = EmailAddress::parse(signed.email()).map_err(|_| Refusal::NotFound("user"))?;
    let user = check_current_password(state, signed, &email, password)
        .await
        .map_err(|stopped| match stopped {
            // The page asks for "your password", not "your current password".
            crate::flows::Stopped::Refused(Refusal::Invalid { message, .. }) => {
                Refusal::invalid("password", message).into()
            }
            other => other,
        })?;
    if second_factors::status(state, signed).await?.enabled() {
        if code.trim().is_empty() {
            return Err(Refusal::invalid(
                "code",
                "Enter a code from your authenticator app, or a recovery code.",
            )
            .into());
        }
        second_factors::confirm_with_code(state, signed, code).await?;
    }
    state.store.sign_in_succeeded(&user.id, None, None).await?;
    Ok(())
}

/// The single sign-on connection a person can re-authenticate through: the one serving their
/// email's domain, if any.
pub async fn reauthentication_provider(
    state: &AppState,
    signed: &Signed,
) -> Outcome<Option<crate::domain::sso::SsoConnection>> {
    let email = EmailAddress::parse(signed.email()).map_err(|_| Refusal::NotFound("user"))?;
    Ok(state.store.sso_for_domain(email.domain()).await?)
}

/// Changes the person's password: a recent sign-in (with the second factor, if any), the
/// current password right (see [`check_current_password`]) and the new one passing the
/// password policy. Every other
/// session ends, the lockout clears, and a notice is mailed. Answers the new session epoch,
/// which the session that made the change (`this_session`) takes on.
pub async fn change_password(
    state: &AppState,
    signed: &Signed,
    this_session: &str,
    current: &Secret,
    new: &Secret,
) -> Outcome<i64> {
    signed.recently_authenticated(state)?;
    let email = EmailAddress::parse(signed.email()).map_err(|_| Refusal::NotFound("user"))?;
    if state
        .store
        .user_by_id(signed.user_id())
        .await?
        .is_some_and(|u| u.password_hash.is_some())
    {
        validate_new_password(new, Some(&email))
            .map_err(|message| Refusal::invalid("new_password", message))?;
    }
    let user = check_current_password(state, signed, &email, current).await?;
    let hash = state.passwords.hash(new).await?;
    let audit = own_audit(signed, "password.changed", None, state);
    let epoch = state
        .store
        .change_password(&user.id, &hash, this_session, audit)
        .await?
        .ok_or(Refusal::NotFound("user"))?;
    let reset_link = state.config.link(paths::FORGOT);
    mail::send_throttled(
        state,
        MailKind::PasswordChanged,
        mails::password_changed(&email, &reset_link),
    )
    .await?;
    Ok(epoch)
}

/// Asks to change the person's email to `new_email_input`: the current password must be
/// right (counted like a sign-in guess). The new address gets the confirming link — or, if it
/// already has an account, a notice instead, and the answer is the same either way, so this
/// page tells nobody which addresses are registered. Nothing changes until the link is used.
pub async fn request_email_change(
    state: &AppState,
    signed: &Signed,
    current: &Secret,
    new_email_input: &str,
) -> Outcome<EmailAddress> {
    signed.recently_authenticated(state)?;
    let old = EmailAddress::parse(signed.email()).map_err(|_| Refusal::NotFound("user"))?;
    let new = EmailAddress::parse(new_email_input)
        .map_err(|e| Refusal::invalid("new_email", e.to_string()))?;
    if new == old {
        return Err(Refusal::invalid("new_email", "That is already your email address.").into());
    }
    let user = check_current_password(state, signed, &old, current).await?;
    state.store.sign_in_succeeded(&user.id, None, None).await?;
    let now = state.clock.now();
    if state.store.user_by_email(&new).await?.is_some() {
        mail::send_throttled(
            state,
            MailKind::EmailChange,
            mails::email_change_attempt_notice(&new),
        )
        .await?;
        return Ok(new);
    }
    let (raw, hash) = new_link_token();
    state
        .store
        .put_email_change(
            signed.user_id(),
            &new,
            &hash,
            now.plus(TokenPurpose::EmailChange.lifetime()),
            now,
        )
        .await?;
    let link = state
        .config
        .link(&paths::with_token(paths::EMAIL_CHANGE, raw.expose()));
    mail::send_throttled(
        state,
        MailKind::EmailChange,
        mails::confirm_new_email(&new, &old, &link),
    )
    .await?;
    Ok(new)
}

/// The request behind an email change link, while it can still be used.
pub async fn email_change_for_link(state: &AppState, token_hash: &str) -> Outcome<EmailChange> {
    state
        .store
        .email_change(token_hash, state.clock.now())
        .await?
        .ok_or_else(|| Refusal::conflict("link_dead", DEAD_EMAIL_CHANGE_LINK).into())
}

pub const DEAD_EMAIL_CHANGE_LINK: &str =
    "This link is invalid, has expired or was already used. Ask for the change again on your Security page.";

/// Uses an email change link (its holder proved the new mailbox): the account's email becomes
/// the new address, and the old one gets a notice. Answers the change.
pub async fn confirm_email_change(state: &AppState, token_hash: &str) -> Outcome<EmailChange> {
    let change = email_change_for_link(state, token_hash).await?;
    let now = state.clock.now();
    let audit = AuditEvent {
        account_id: None,
        actor_user_id: Some(change.user_id.clone()),
        action: "email.changed".into(),
        detail: None,
        at: now,
    };
    match state
        .store
        .redeem_email_change(token_hash, now, audit)
        .await?
    {
        EmailChangeOutcome::Changed(change) => {
            mail::send_throttled(
                state,
                MailKind::EmailChanged,
                mails::email_changed(&change.old_email, &change.new_email),
            )
            .await?;
            Ok(change)
        }
        EmailChangeOutcome::Dead => {
            Err(Refusal::conflict("link_dead", DEAD_EMAIL_CHANGE_LINK).into())
        }
        EmailChangeOutcome::Taken => Err(Refusal::conflict(
            "email_taken",
            "That address has its own account by now, so your email was not changed.",
        )
        .into()),
    }
}

/// Whether the person has a password here (people provisioned by single sign-on have none).
pub async fn has_password(state: &AppState, signed: &Signed) -> Outcome<bool> {
    Ok(state
        .store
        .user_by_id(signed.user_id())
        .await?
        .is_some_and(|u| u.password_hash.is_some()))
}

/// The person's live sessions, the most recently started first.
pub async fn sessions(state: &AppState, signed: &Signed) -> Outcome<Vec<SessionInfo>> {
    Ok(state
        .store
        .sessions_of(signed.user_id(), state.clock.now())
        .await?)
}

/// Ends one of the person's other sessions (the current one ends with "Sign out").
pub async fn end_session(
    state: &AppState,
    signed: &Signed,
    this_session: &str,
    handle: &str,
) -> Outcome<()> {
    if handle == this_session {
        return Err(Refusal::conflict(
            "this_session",
            "That is the session you are using: use \"Sign out\" to end it.",
        )
        .into());
    }
    let audit = own_audit(signed, "session.ended", None, state);
    if state
        .store
        .end_session_of(signed.user_id(), handle, audit)
        .await?
    {
        Ok(())
    } else {
        Err(Refusal::NotFound("session").into())
    }
}

/// Ends every session of the person but this one: how many ended.
pub async fn end_other_sessions(
    state: &AppState,
    signed: &Signed,
    this_session: &str,
) -> Outcome<u64> {
    let audit = own_audit(
        signed,
        "sessions.ended",
        Some("every other session".into()),
        state,
    );
    Ok(state
        .store
        .end_other_sessions_of(signed.user_id(), this_session, audit)
        .await?)
}

/// A key the person created, and the name of its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnKey {
    pub key: ApiKeyRecord,
    pub account_name: String,
}

/// The live API keys the person created, in the accounts where they still manage keys
/// (owner or admin): after a password change, what an intruder may have left behind.
pub async fn keys_created(state: &AppState, signed: &Signed) -> Outcome<Vec<OwnKey>> {
    let mut found = Vec::new();
    for membership in state.store.memberships(signed.user_id()).await? {
        if !roles::can_administer(membership.role) {
            continue;
        }
        let keys = state
            .store
            .list_api_keys(&membership.account_id, &PageRequest::everything())
            .await?;
        found.extend(
            keys.into_iter()
                .filter(|k| k.created_by.as_ref() == Some(signed.user_id()))
                .map(|key| OwnKey {
                    key,
                    account_name: membership.account_name.clone(),
                }),
        );
    }
    found.sort_by_key(|k| std::cmp::Reverse(k.key.created_at));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{code, link_token, refused, Harness, PASSWORD};

    const NEW_PASSWORD: &str = "copper kettle morning rain";

    async fn ada(h: &Harness) -> Signed {
        let (user_id, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        Signed::for_tests(&user_id, "ada@example.com", Some(&account_id))
    }

    #[tokio::test]
    async fn a_password_change_needs_the_current_password_and_ends_the_other_sessions() {
        let h = Harness::new();
        let signed = ada(&h).await;
        let here = h.store.add_session(signed.user_id(), None, "password");
        let elsewhere = h.store.add_session(signed.user_id(), None, "password");

        let wrong = change_password(
            &h.state,
            &signed,
            &here,
            &Secret::new("nope nope nope"),
            &Secret::new(NEW_PASSWORD),
        )
        .await;
        assert_eq!(refused(wrong).message(), WRONG_CURRENT_PASSWORD);
        assert_eq!(h.store.sessions().len(), 2, "nothing ended");

        let epoch = change_password(
            &h.state,
            &signed,
            &here,
            &Secret::new(PASSWORD),
            &Secret::new(NEW_PASSWORD),
        )
        .await
        .unwrap();
        assert_eq!(
            epoch, 1,
            "the epoch moved on: copies of old sessions are refused"
        );
        let left: Vec<String> = h.store.sessions().into_iter().map(|s| s.id).collect();
        assert_eq!(left, vec![here], "{elsewhere} ended");
        let user = h.store.user_by_id(signed.user_id()).await.unwrap().unwrap();
        assert_eq!(
            user.failed_attempts, 0,
            "the wrong guess before is forgotten"
        );
        assert!(matches!(
            h.state
                .passwords
                .verify(&Secret::new(NEW_PASSWORD), user.password_hash.as_deref())
                .await
                .unwrap(),
            Verification::Match { .. }
        ));
        h.settle().await;
        let mails = h.mails_to("ada@example.com");
        assert_eq!(
            mails.last().map(|m| m.subject.as_str()),
            Some("Your password was changed")
        );
        let events: Vec<String> = h.store.audit_log().into_iter().map(|e| e.action).collect();
        assert!(events.contains(&"password.changed".to_owned()));
    }

    #[tokio::test]
    async fn a_weak_new_password_is_refused_next_to_its_field_before_any_guess_counts() {
        let h = Harness::new();
        let signed = ada(&h).await;
        let refusal = refused(
            change_password(
                &h.state,
                &signed,
                "s",
                &Secret::new("wrong"),
                &Secret::new("password1"),
            )
            .await,
        );
        assert_eq!(refusal.field(), Some("new_password"));
        let user = h.store.user_by_id(signed.user_id()).await.unwrap().unwrap();
        assert_eq!(user.failed_attempts, 0);
    }

    #[tokio::test]
    async fn wrong_current_passwords_lock_like_wrong_sign_ins_and_mail_the_unlock_link() {
        let h = Harness::new();
        let signed = ada(&h).await;
        let policy = h.state.config.lockout;
        for _ in 0..policy.max_failures {
            let r = change_password(
                &h.state,
                &signed,
                "s",
                &Secret::new("not it at all"),
                &Secret::new(NEW_PASSWORD),
            )
            .await;
            assert_eq!(refused(r).message(), WRONG_CURRENT_PASSWORD);
        }
        // Locked: even the right password is refused now.
        let r = change_password(
            &h.state,
            &signed,
            "s",
            &Secret::new(PASSWORD),
            &Secret::new(NEW_PASSWORD),
        )
        .await;
        assert!(refused(r).message().starts_with("Too many wrong passwords"));
        h.settle().await;
        assert!(h
            .mails_to("ada@example.com")
            .iter()
            .any(|m| m.subject == "Your account has been locked"));
    }

    #[tokio::test]
    async fn a_person_without_a_password_is_told_how_to_get_one() {
        let h = Harness::new();
        let (user_id, account_id) = h.signed_up("sso@example.com", None).await;
        let signed = Signed::for_tests(&user_id, "sso@example.com", Some(&account_id));
        let r = change_password(
            &h.state,
            &signed,
            "s",
            &Secret::new("x"),
            &Secret::new(NEW_PASSWORD),
        )
        .await;
        assert_eq!(refused(r).message(), NO_PASSWORD_YET);
    }

    #[tokio::test]
    async fn a_person_ends_their_own_other_sessions_and_nobody_elses() {
        let h = Harness::new();
        let signed = ada(&h).await;
        let (bob, _) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        let here = h.store.add_session(signed.user_id(), None, "password");
        let phone = h.store.add_session(signed.user_id(), None, "sso");
        let laptop = h.store.add_session(signed.user_id(), None, "password");
        let bobs = h.store.add_session(&bob, None, "password");

        let listed: Vec<String> = sessions(&h.state, &signed)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.handle)
            .collect();
        assert_eq!(listed, vec![laptop.clone(), phone.clone(), here.clone()]);

        assert_eq!(
            refused(end_session(&h.state, &signed, &here, &bobs).await),
            Refusal::NotFound("session")
        );
        assert_eq!(
            code(&refused(end_session(&h.state, &signed, &here, &here).await)),
            "this_session"
        );
        end_session(&h.state, &signed, &here, &phone).await.unwrap();
        assert_eq!(
            end_other_sessions(&h.state, &signed, &here).await.unwrap(),
            1
        );
        let left: Vec<String> = h.store.sessions().into_iter().map(|s| s.id).collect();
        assert_eq!(left, vec![here, bobs]);
    }

    #[tokio::test]
    async fn the_keys_a_person_created_are_listed_where_they_still_manage_keys() {
        let h = Harness::new();
        let account = h.account("Acme");
        let admin = h.admin(&account, "ada@example.com");
        let other = h.admin(&account, "bob@example.com");
        let mine = crate::flows::api_keys::create(
            &h.state,
            &admin,
            crate::flows::api_keys::NewKey {
                name: "deploy".into(),
                expires_at: None,
                scopes: None,
            },
        )
        .await
        .unwrap();
        crate::flows::api_keys::create(
            &h.state,
            &other,
            crate::flows::api_keys::NewKey {
                name: "bob's".into(),
                expires_at: None,
                scopes: None,
            },
        )
        .await
        .unwrap();
        let signed = Signed::for_tests(admin.user_id(), "ada@example.com", Some(&account));
        let keys = keys_created(&h.state, &signed).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key.id, mine.0.id);
        assert_eq!(keys[0].account_name, "Acme");

        // Demoted to member: the keys page is no longer theirs to see.
        let member = h.member(&account, "cy@example.com", Role::Member);
        let signed = Signed::for_tests(member.user_id(), "cy@example.com", Some(&account));
        assert!(keys_created(&h.state, &signed).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_email_change_happens_only_when_the_new_mailbox_uses_its_link() {
        let h = Harness::new();
        let signed = ada(&h).await;
        let wrong =
            request_email_change(&h.state, &signed, &Secret::new("nope"), "ada@new.example").await;
        assert_eq!(refused(wrong).message(), WRONG_CURRENT_PASSWORD);
        let same =
            request_email_change(&h.state, &signed, &Secret::new(PASSWORD), "ADA@example.com")
                .await;
        assert_eq!(refused(same).field(), Some("new_email"));

        request_email_change(&h.state, &signed, &Secret::new(PASSWORD), "ada@new.example")
            .await
            .unwrap();
        h.settle().await;
        let mail = h
            .mails_to("ada@new.example")
            .pop()
            .expect("the link goes to the new address");
        assert_eq!(mail.subject, "Confirm your new email address");
        assert!(
            mail.text.contains("ada@example.com"),
            "it says which account asks"
        );
        let user = h.store.user_by_id(signed.user_id()).await.unwrap().unwrap();
        assert_eq!(
            user.email.as_str(),
            "ada@example.com",
            "nothing changes before the link"
        );

        let token = link_token(&mail);
        let change = confirm_email_change(&h.state, &token).await.unwrap();
        assert_eq!(change.new_email.as_str(), "ada@new.example");
        let user = h.store.user_by_id(signed.user_id()).await.unwrap().unwrap();
        assert_eq!(user.email.as_str(), "ada@new.example");
        h.settle().await;
        assert_eq!(
            h.mails_to("ada@example.com")
                .last()
                .map(|m| m.subject.as_str()),
            Some("Your email address was changed"),
            "the old address is told"
        );
        assert_eq!(
            code(&refused(confirm_email_change(&h.state, &token).await)),
            "link_dead",
            "the link works once"
        );
    }

    #[tokio::test]
    async fn an_address_with_an_account_gets_a_notice_and_the_same_answer() {
        let h = Harness::new();
        let signed = ada(&h).await;
        h.signed_up("bob@example.com", Some(PASSWORD)).await;
        let answer =
            request_email_change(&h.state, &signed, &Secret::new(PASSWORD), "bob@example.com")
                .await
                .unwrap();
        assert_eq!(answer.as_str(), "bob@example.com");
        h.settle().await;
        let mails = h.mails_to("bob@example.com");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "Someone tried to use your email address");
        assert!(
            !mails[0].text.contains("token="),
            "no link that could move the address"
        );
    }

    #[tokio::test]
    async fn a_link_for_an_address_taken_in_the_meantime_changes_nothing() {
        let h = Harness::new();
        let signed = ada(&h).await;
        request_email_change(&h.state, &signed, &Secret::new(PASSWORD), "ada@new.example")
            .await
            .unwrap();
        h.settle().await;
        let token = link_token(&h.mails_to("ada@new.example").pop().unwrap());
        h.signed_up("ada@new.example", Some(PASSWORD)).await;
        assert_eq!(
            code(&refused(confirm_email_change(&h.state, &token).await)),
            "email_taken"
        );
        let user = h.store.user_by_id(signed.user_id()).await.unwrap().unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
    }
}
