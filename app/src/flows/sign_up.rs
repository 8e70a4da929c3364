//! Sign-up: nothing durable is created before the email is confirmed. A sign-up keeps a
//! pending sign-up (email, password hash, link) and mails the link; the link creates the
//! user, an account they own and its first workspace "Main" in one transaction. An email that
//! already has a user gets the same answer, and a notice mail instead.
use crate::domain::email::EmailAddress;
use crate::domain::ids::{self, new_id};
use crate::domain::password::check_new_password;
use crate::domain::secret::Secret;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{ConfirmOutcome, NewPendingSignUp, NewSignUp};
use crate::flows::mail::{self, MailKind};
use crate::flows::FlowError;
use crate::mails;
use crate::AppState;
pub const FIRST_WORKSPACE_NAME: &str = "Main";

/// Messages to show next to the form fields.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    pub email: Option<String>,
    pub password: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.password.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpResult {
    /// Show "check your email" for this address (whether or not it was new).
    CheckEmail(EmailAddress),
    Invalid(FieldErrors),
    /// Sign-up is invite-only (`signup = "invite_only"`): nothing was checked or stored.
    Closed,
}

/// What a refused sign-up says (the sign-up page says it too).
pub const CLOSED_MESSAGE: &str = "Sign-up is by invitation only on this server. Ask an owner or admin of your organisation's account to invite you.";

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

/// Validates and hashes in the request (the same work for every address), answers "check
/// your email", and does the rest after the answer, so neither the page nor its timing says
/// whether the address has an account.
pub async fn sign_up(
    state: &AppState,
    email_input: &str,
    password: &Secret,
) -> Result<SignUpResult, FlowError> {
    if !sign_up_open(state) {
        return Ok(SignUpResult::Closed);
    }
    let email = EmailAddress::parse(email_input);
    let errors = FieldErrors {
        email: email.as_ref().err().map(ToString::to_string),
        password: validate_new_password(password, email.as_ref().ok()).err(),
    };
    let email = match email {
        Ok(email) if errors.is_empty() => email,
        _ => return Ok(SignUpResult::Invalid(errors)),
    };
    let password_hash = state.passwords.hash(password).await?;
    let background = state.clone();
    let address = email.clone();
    state.after_answer("sign-up", async move {
        finish_sign_up(&background, &address, password_hash).await
    });
    Ok(SignUpResult::CheckEmail(email))
}

async fn finish_sign_up(
    state: &AppState,
    email: &EmailAddress,
    password_hash: String,
) -> Result<(), FlowError> {
    // The slot first: while one is taken, an earlier link (and its password) stays as it was
    // rather than being replaced by a link we may not send.
    let kind_free = |kind| mail::take_slot(state, kind, email);
    if state.store.user_by_email(email).await?.is_some() {
        if kind_free(MailKind::SignUpNotice).await? {
            state.send_mail_later(mails::sign_up_attempt_notice(
                email,
                &state.config.link("/sign-in"),
                &state.config.link("/forgot"),
            ));
        }
        return Ok(());
    }
    if !kind_free(MailKind::Confirm).await? {
        return Ok(());
    }
    let (raw, hash) = new_link_token();
    let now = state.clock.now();
    state
        .store
        .put_pending_sign_up(NewPendingSignUp {
            email: email.clone(),
            password_hash,
            token_hash: hash,
            expires_at: now.plus(TokenPurpose::Confirm.lifetime()),
            now,
        })
        .await?;
    state.send_mail_later(mails::confirm_email(email, &confirm_link(state, &raw)));
    Ok(())
}

fn confirm_link(state: &AppState, raw: &Secret) -> String {
    state
        .config
        .link(&format!("/confirm?token={}", raw.expose()))
}

/// A new account is named after the person until they rename it.
pub fn default_account_name(email: &EmailAddress) -> String {
    format!("{}'s account", email.local_part())
}

/// Sends a new confirmation link (the old one dies) if the address has a pending sign-up,
/// at most once a minute. The answer is the same for every address and comes first.
pub fn resend_confirmation(state: &AppState, email: &EmailAddress) {
    if !sign_up_open(state) {
        // Nothing a sign-up left behind becomes a user while sign-up is closed.
        return;
    }
    let background = state.clone();
    let email = email.clone();
    state.after_answer("resending a confirmation", async move {
        if !mail::take_slot(&background, MailKind::Confirm, &email).await? {
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
}

/// Whether a confirmation link can still be used (to show the right page).
pub async fn confirmation_is_live(state: &AppState, token_hash: &str) -> Result<bool, FlowError> {
    Ok(sign_up_open(state)
        && state
            .store
            .pending_sign_up(token_hash, state.clock.now())
            .await?
            .is_some())
}

/// Uses a confirmation link: creates the user, their account and its workspace "Main".
pub async fn confirm(state: &AppState, token_hash: &str) -> Result<ConfirmOutcome, FlowError> {
    let now = state.clock.now();
    if !sign_up_open(state) {
        // A sign-up from before the switch to invite-only creates nothing now.
        return Ok(ConfirmOutcome::Dead);
    }
    let Some(pending) = state.store.pending_sign_up(token_hash, now).await? else {
        return Ok(ConfirmOutcome::Dead);
    };
    let account_name = default_account_name(&pending.email);
    let outcome = state
        .store
        .confirm_sign_up(
            token_hash,
            NewSignUp {
                user_id: new_id(ids::USER),
                email: pending.email,
                password_hash: Some(pending.password_hash),
                account_id: new_id(ids::ACCOUNT),
                account_name,
                plan: state.config.plans.default_name().to_owned(),
                workspace_id: new_id(ids::WORKSPACE),
                workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
                now,
            },
        )
        .await?;
    Ok(outcome)
}
