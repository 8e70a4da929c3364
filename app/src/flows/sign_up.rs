//! Sign-up: nothing durable is created before the email is confirmed, and no password is
//! taken before then. A sign-up keeps a pending sign-up (the address and the hash of a link)
//! and mails the link; the page behind the link asks whoever opened it for a password, and
//! submitting it creates the user, an account they own and its first workspace "Main" in one
//! transaction. So the password is always chosen by someone who holds the mailbox: nothing
//! typed by anyone else can become it. An email that already has a user gets the same answer,
//! and a notice mail instead.
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, UserId, WorkspaceId};
use crate::domain::password::check_new_password;
use crate::domain::secret::Secret;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{ConfirmOutcome, NewPendingSignUp, NewSignUp};
use crate::flows::mail::{self, MailKind};
use crate::flows::{floods, FlowError, Outcome, Refusal};
use crate::mails;
use crate::paths;
use crate::AppState;
pub const FIRST_WORKSPACE_NAME: &str = "Main";

/// What a refused sign-up says (the sign-up page says it too).
pub const CLOSED_MESSAGE: &str = "Sign-up is by invitation only on this server. Ask an owner or admin of your organisation's account to invite you.";

/// What a dead confirmation link says.
pub const DEAD_CONFIRMATION: &str =
    "This link is invalid, has expired or was already used. Sign up again to get a new one.";

/// Whether anyone may sign up (otherwise only invitations and the operator create users).
pub fn sign_up_open(state: &AppState) -> bool {
    state.config.signup == crate::SignUpPolicy::Open
}

/// Words a guesser tries first for this person: checked against the new password.
pub fn password_context(email: Option<&EmailAddress>) -> Vec<String> {
    let mut words = vec![
        "terminus".to_owned(),
        "hub".to_owned(),
        "terminushub".to_owned(),
    ];
    if let Some(e) = email {
        words.push(e.local_part().to_owned());
        words.extend(e.domain().split('.').map(str::to_owned));
        words.push(e.as_str().to_owned());
    }
    words
}

pub fn validate_new_password(
    password: &Secret,
    email: Option<&EmailAddress>,
) -> Result<(), String> {
    let context = password_context(email);
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    check_new_password(password, &context).map_err(|e| e.to_string())
}

/// Checks the address, answers "check your email" for every address, and does the rest after
/// the answer (look-up, pending sign-up or notice, mail), so neither the page nor its timing
/// says whether the address has an account. The client was counted at the door before this.
pub async fn sign_up(state: &AppState, email_input: &str) -> Outcome<EmailAddress> {
    if !sign_up_open(state) {
        return Err(Refusal::not_allowed("sign_up_closed", CLOSED_MESSAGE).into());
    }
    let email =
        EmailAddress::parse(email_input).map_err(|e| Refusal::invalid("email", e.to_string()))?;
    let background = state.clone();
    let address = email.clone();
    state.after_answer("sign-up", async move {
        finish_sign_up(&background, &address).await
    });
    Ok(email)
}

async fn finish_sign_up(state: &AppState, email: &EmailAddress) -> Result<(), FlowError> {
    if state.store.user_by_email(email).await?.is_some() {
        if mail::take_slot(state, MailKind::SignUpNotice, email).await? {
            state.send_mail_later(mails::sign_up_attempt_notice(
                email,
                &state.config.link(paths::SIGN_IN),
                &state.config.link(paths::FORGOT),
            ));
        }
        return Ok(());
    }
    // The limits first: while a confirmation was mailed within the minute, the earlier link
    // stays the live one rather than being replaced by a link we would not send.
    if !confirmation_may_be_sent(state, email).await? {
        return Ok(());
    }
    let (raw, hash) = new_link_token();
    let now = state.clock.now();
    state
        .store
        .put_pending_sign_up(NewPendingSignUp {
            email: email.clone(),
            token_hash: hash,
            expires_at: now.plus(TokenPurpose::Confirm.lifetime()),
            now,
        })
        .await?;
    state.send_mail_later(mails::confirm_email(email, &confirm_link(state, &raw)));
    Ok(())
}

/// The mailbox's slot for a confirmation, then one of its domain's confirmations this hour.
async fn confirmation_may_be_sent(
    state: &AppState,
    email: &EmailAddress,
) -> Result<bool, FlowError> {
    Ok(mail::take_slot(state, MailKind::Confirm, email).await?
        && floods::confirm_mail_to_domain(state, email).await?)
}

fn confirm_link(state: &AppState, raw: &Secret) -> String {
    state
        .config
        .link(&paths::with_token(paths::CONFIRM, raw.expose()))
}

/// A new account is named after the person until they rename it.
pub fn default_account_name(email: &EmailAddress) -> String {
    format!("{}'s account", email.local_part())
}

/// Sends a new confirmation link (the old one dies) if the address has a pending sign-up,
/// at most once a minute per mailbox. The answer is the same for every address and comes
/// first. `last_asked` is when this browser last asked (its own once-a-minute note): asking
/// again within the interval is refused with a message, whatever the address.
pub fn resend_confirmation(
    state: &AppState,
    email: &EmailAddress,
    last_asked: Option<Timestamp>,
) -> Outcome<()> {
    let now = state.clock.now();
    if let Some(last) = last_asked {
        let waited = last.until(now);
        if waited < state.config.mail_interval && last <= now {
            return Err(Refusal::TooSoon {
                code: "recently_sent",
                message: "We sent an email less than a minute ago. Please wait a minute before asking for another one.".into(),
                retry_after_secs: state.config.mail_interval.saturating_sub(waited).as_secs().max(1),
                field: None,
            }
            .into());
        }
    }
    if !sign_up_open(state) {
        // Nothing a sign-up left behind becomes a user while sign-up is closed.
        return Ok(());
    }
    let background = state.clone();
    let email = email.clone();
    state.after_answer("resending a confirmation", async move {
        if !confirmation_may_be_sent(&background, &email).await? {
            return Ok::<(), FlowError>(());
        }
        let (raw, hash) = new_link_token();
        let now = background.clock.now();
        let renewed = background
            .store
            .renew_pending_sign_up(
                &email,
                &hash,
                now.plus(TokenPurpose::Confirm.lifetime()),
                now,
            )
            .await?;
        if renewed {
            background.send_mail_later(mails::confirm_email(
                &email,
                &confirm_link(&background, &raw),
            ));
        }
        Ok(())
    });
    Ok(())
}

/// The address a live confirmation link is for (the page behind it shows it), or `None`.
pub async fn confirmation_email(
    state: &AppState,
    token_hash: &str,
) -> Result<Option<EmailAddress>, FlowError> {
    if !sign_up_open(state) {
        return Ok(None);
    }
    Ok(state
        .store
        .pending_sign_up(token_hash, state.clock.now())
        .await?
        .map(|pending| pending.email))
}

/// Whether a confirmation link can still be used (to show the right page).
pub async fn confirmation_is_live(state: &AppState, token_hash: &str) -> Result<bool, FlowError> {
    Ok(confirmation_email(state, token_hash).await?.is_some())
}

/// What using a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The user, their account and "Main" exist, and they may start a password session.
    SignedIn { user_id: UserId, session_epoch: i64 },
    /// Created, but the address's domain enforces single sign-on: they sign in through it
    /// (with this email, which the link proved).
    CreatedUseSso { email: String },
    /// The address got a user meanwhile (an invitation, single sign-on): nothing was written.
    AlreadyUser { email: String },
}

/// Uses a confirmation link with the password its opener chose: in one transaction, takes the
/// pending sign-up and creates the user, their account and its workspace "Main". Refused when
/// the link is dead (or sign-up closed) or the password breaks the policy (the link stays
/// good then).
pub async fn confirm(state: &AppState, token_hash: &str, password: &Secret) -> Outcome<Confirmed> {
    let Some(email) = confirmation_email(state, token_hash).await? else {
        // Also after a switch to invite-only: a sign-up from before it creates nothing now.
        return Err(dead_link());
    };
    validate_new_password(password, Some(&email))
        .map_err(|message| Refusal::invalid("password", message))?;
    let password_hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let created = state
        .store
        .confirm_sign_up(
            token_hash,
            NewSignUp {
                user_id: UserId::new(),
                account_name: default_account_name(&email),
                email: email.clone(),
                password_hash: Some(password_hash),
                account_id: AccountId::new(),
                plan: state.config.plans.default_name().to_owned(),
                workspace_id: WorkspaceId::new(),
                workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
                now,
            },
        )
        .await?;
    match created {
        ConfirmOutcome::Dead => Err(dead_link()),
        ConfirmOutcome::AlreadyUser => Ok(Confirmed::AlreadyUser {
            email: email.as_str().to_owned(),
        }),
        ConfirmOutcome::Created {
            user_id,
            session_epoch,
        } => {
            if crate::flows::sign_in::password_allowed(state, &user_id, &email).await? {
                Ok(Confirmed::SignedIn {
                    user_id,
                    session_epoch,
                })
            } else {
                Ok(Confirmed::CreatedUseSso {
                    email: email.as_str().to_owned(),
                })
            }
        }
    }
}

fn dead_link() -> crate::flows::Stopped {
    Refusal::Conflict {
        code: "link_dead",
        message: DEAD_CONFIRMATION.into(),
        field: None,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{link_token, refused, refused_code, Harness, PASSWORD};

    const MINUTE: Duration = Duration::from_secs(61);

    async fn signed_up(h: &Harness, email: &str) {
        sign_up(&h.state, email).await.unwrap();
        h.settle().await;
    }

    /// The hash of the newest confirmation link mailed to `email`.
    fn newest_link(h: &Harness, email: &str) -> String {
        let mails = h.mails_to(email);
        link_token(mails.last().expect("a mail"))
    }

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[tokio::test]
    async fn nothing_holds_a_password_until_the_link_s_page_is_submitted() {
        let h = Harness::new();
        let answered = sign_up(&h.state, "New@Example.com").await.unwrap();
        assert_eq!(answered.as_str(), "new@example.com");
        h.settle().await;
        // A pending sign-up (an address and a link's hash) and a mail; no user, no password.
        assert_eq!(h.store.pending_sign_ups(), 1);
        assert_eq!(h.store.user_count(), 0);
        let link = newest_link(&h, "new@example.com");
        assert!(confirmation_is_live(&h.state, &link).await.unwrap());
        assert_eq!(
            confirmation_email(&h.state, &link).await.unwrap(),
            Some(email("new@example.com"))
        );

        let confirmed = confirm(&h.state, &link, &Secret::new(PASSWORD))
            .await
            .unwrap();
        let Confirmed::SignedIn { user_id, .. } = confirmed else {
            panic!("expected a signed-in user, got {confirmed:?}");
        };
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!(user.email.as_str(), "new@example.com");
        let verdict = h
            .state
            .passwords
            .verify(&Secret::new(PASSWORD), user.password_hash.as_deref())
            .await
            .unwrap();
        assert!(matches!(
            verdict,
            crate::hashing::Verification::Match { .. }
        ));
        // Their own account, owned by them, with its workspace "Main".
        let memberships = h.store.memberships(&user_id).await.unwrap();
        assert_eq!(memberships.len(), 1);
        assert_eq!(memberships[0].role, Role::Owner);
        assert_eq!(memberships[0].account_name, "new's account");
        let workspaces = h
            .store
            .workspaces(&memberships[0].account_id)
            .await
            .unwrap();
        assert_eq!(workspaces.len(), 1);
        assert_eq!(workspaces[0].name, FIRST_WORKSPACE_NAME);
        assert_eq!(h.store.pending_sign_ups(), 0);
    }

    #[tokio::test]
    async fn a_confirmation_link_works_once() {
        let h = Harness::new();
        signed_up(&h, "new@example.com").await;
        let link = newest_link(&h, "new@example.com");
        confirm(&h.state, &link, &Secret::new(PASSWORD))
            .await
            .unwrap();
        let again = confirm(&h.state, &link, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(again), "link_dead");
        assert_eq!(h.store.user_count(), 1);
    }

    #[tokio::test]
    async fn dead_links_are_refused_unknown_or_after_a_day() {
        let h = Harness::new();
        let unknown = confirm(&h.state, "0".repeat(64).as_str(), &Secret::new(PASSWORD)).await;
        assert_eq!(refused(unknown).message(), DEAD_CONFIRMATION);
        signed_up(&h, "late@example.com").await;
        let link = newest_link(&h, "late@example.com");
        h.advance(TokenPurpose::Confirm.lifetime());
        assert!(!confirmation_is_live(&h.state, &link).await.unwrap());
        let late = confirm(&h.state, &link, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(late), "link_dead");
        assert_eq!(h.store.user_count(), 0);
    }

    #[tokio::test]
    async fn a_weak_password_is_refused_and_the_link_stays_good() {
        let h = Harness::new();
        signed_up(&h, "new@example.com").await;
        let link = newest_link(&h, "new@example.com");
        for weak in ["short", "password123", "new@example.com"] {
            let refusal = refused(confirm(&h.state, &link, &Secret::new(weak)).await);
            assert_eq!(refusal.field(), Some("password"), "{weak}");
        }
        assert_eq!(h.store.user_count(), 0);
        assert!(confirm(&h.state, &link, &Secret::new(PASSWORD))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn an_address_with_a_user_gets_the_same_answer_and_a_notice() {
        let h = Harness::new();
        h.signed_up("known@example.com", Some(PASSWORD)).await;
        let answered = sign_up(&h.state, "known@example.com").await.unwrap();
        assert_eq!(answered.as_str(), "known@example.com");
        h.settle().await;
        let mails = h.mails_to("known@example.com");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "You already have a Terminus Hub account");
        assert!(!mails[0].text.contains("token="));
        assert_eq!(h.store.pending_sign_ups(), 0);
    }

    #[tokio::test]
    async fn an_invalid_address_is_refused_at_its_field() {
        let h = Harness::new();
        let refusal = refused(sign_up(&h.state, "not an address").await);
        assert_eq!(refusal.field(), Some("email"));
        h.settle().await;
        assert!(h.mailer.sent().is_empty());
    }

    #[tokio::test]
    async fn invite_only_refuses_sign_ups_and_kills_earlier_links() {
        let h = Harness::with_config(|c| c.signup = crate::SignUpPolicy::InviteOnly);
        // A sign-up from before the switch to invite-only.
        let (_, link) = new_link_token();
        h.store
            .put_pending_sign_up(NewPendingSignUp {
                email: email("early@example.com"),
                token_hash: link.clone(),
                expires_at: h.now().plus(TokenPurpose::Confirm.lifetime()),
                now: h.now(),
            })
            .await
            .unwrap();
        let refusal = refused(sign_up(&h.state, "new@example.com").await);
        assert_eq!(refusal.message(), CLOSED_MESSAGE);
        assert!(!confirmation_is_live(&h.state, &link).await.unwrap());
        let late = confirm(&h.state, &link, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(late), "link_dead");
        resend_confirmation(&h.state, &email("early@example.com"), None).unwrap();
        h.settle().await;
        assert!(h.mailer.sent().is_empty());
        assert_eq!(h.store.user_count(), 0);
    }

    #[tokio::test]
    async fn one_confirmation_a_minute_and_the_earlier_link_stays_live() {
        let h = Harness::new();
        signed_up(&h, "new@example.com").await;
        // Sub-addressing spells the same mailbox: its slot is taken too.
        signed_up(&h, "new@example.com").await;
        signed_up(&h, "new+again@example.com").await;
        assert_eq!(h.mailer.sent().len(), 1);
        let first = newest_link(&h, "new@example.com");
        assert!(confirmation_is_live(&h.state, &first).await.unwrap());
        h.advance(MINUTE);
        signed_up(&h, "new@example.com").await;
        let second = newest_link(&h, "new@example.com");
        assert_ne!(first, second);
        assert!(
            !confirmation_is_live(&h.state, &first).await.unwrap(),
            "replaced"
        );
        assert!(confirmation_is_live(&h.state, &second).await.unwrap());
    }

    #[tokio::test]
    async fn a_domain_gets_so_many_confirmations_an_hour() {
        let h = Harness::with_config(|c| c.floods.confirm_mails_per_domain_per_hour = 2);
        for who in ["a", "b", "c"] {
            signed_up(&h, &format!("{who}@example.com")).await;
        }
        assert_eq!(h.mailer.sent().len(), 2);
        assert!(h.mails_to("c@example.com").is_empty());
        h.advance(Duration::from_secs(3600));
        signed_up(&h, "c@example.com").await;
        assert_eq!(h.mails_to("c@example.com").len(), 1);
    }

    #[tokio::test]
    async fn resending_renews_only_a_pending_sign_up_and_only_once_a_minute() {
        let h = Harness::new();
        resend_confirmation(&h.state, &email("nobody@example.com"), None).unwrap();
        h.settle().await;
        assert!(h.mailer.sent().is_empty(), "nothing pending, nothing sent");
        signed_up(&h, "new@example.com").await;
        let first = newest_link(&h, "new@example.com");
        resend_confirmation(&h.state, &email("new@example.com"), None).unwrap();
        h.settle().await;
        assert_eq!(h.mailer.sent().len(), 1, "within the minute");
        h.advance(MINUTE);
        resend_confirmation(&h.state, &email("new@example.com"), None).unwrap();
        h.settle().await;
        let second = newest_link(&h, "new@example.com");
        assert_ne!(first, second);
        assert!(!confirmation_is_live(&h.state, &first).await.unwrap());
        assert!(confirm(&h.state, &second, &Secret::new(PASSWORD))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_browser_asking_again_within_the_minute_is_told_to_wait() {
        let h = Harness::new();
        let asked = h.state.clock.now();
        let again = resend_confirmation(&h.state, &email("new@example.com"), Some(asked));
        assert_eq!(refused_code(again), "recently_sent");
        h.advance(MINUTE);
        assert!(resend_confirmation(&h.state, &email("new@example.com"), Some(asked)).is_ok());
    }

    #[tokio::test]
    async fn an_address_that_got_a_user_meanwhile_creates_nothing() {
        let h = Harness::new();
        signed_up(&h, "new@example.com").await;
        let link = newest_link(&h, "new@example.com");
        // A user for the address committed meanwhile (every way of making one deletes the
        // pending sign-up too, so only a race gets here).
        h.store
            .add_user(&"usr_meanwhile".into(), "new@example.com", None);
        let outcome = confirm(&h.state, &link, &Secret::new(PASSWORD))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Confirmed::AlreadyUser {
                email: "new@example.com".into()
            }
        );
        let user = h
            .store
            .user_by_email(&email("new@example.com"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            user.password_hash.is_none(),
            "the link's password went nowhere"
        );
        assert_eq!(h.store.user_count(), 1);
    }

    #[tokio::test]
    async fn where_sso_is_enforced_a_confirmed_user_signs_in_through_it() {
        let h = Harness::new();
        let corp = h.account("Corp");
        h.member(&corp, "owner@corp.test", Role::Owner);
        h.sso(&corp, &["corp.test"], true).await;
        signed_up(&h, "dev@corp.test").await;
        let link = newest_link(&h, "dev@corp.test");
        let outcome = confirm(&h.state, &link, &Secret::new(PASSWORD))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Confirmed::CreatedUseSso {
                email: "dev@corp.test".into()
            }
        );
        assert!(h
            .store
            .user_by_email(&email("dev@corp.test"))
            .await
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_password_made_of_the_person_s_address_is_refused() {
        let ada = email("ada.lovelace@analytical.example");
        let words = password_context(Some(&ada));
        for word in ["ada.lovelace", "analytical", "example", "terminus"] {
            assert!(words.iter().any(|w| w == word), "{word}");
        }
        assert!(
            validate_new_password(&Secret::new("ada.lovelace@analytical.example"), Some(&ada))
                .is_err()
        );
        assert!(validate_new_password(&Secret::new(PASSWORD), Some(&ada)).is_ok());
        assert_eq!(default_account_name(&ada), "ada.lovelace's account");
    }
}
