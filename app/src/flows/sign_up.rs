//! Sign-up: a user, an account they own and its first workspace "Main", then a confirmation
//! email. An email that already has a user gets the same answer and a notice mail instead.
use crate::domain::email::EmailAddress;
use crate::domain::ids::{self, new_id};
use crate::domain::password::check_new_password;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::{tokens::issue_link, FlowError};
use crate::mails;
use crate::ports::{NewSignUp, SignUpOutcome};
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

pub async fn sign_up(
    state: &AppState,
    email_input: &str,
    password: &Secret,
) -> Result<SignUpResult, FlowError> {
    let email = EmailAddress::parse(email_input);
    let errors = FieldErrors {
        email: email.as_ref().err().map(ToString::to_string),
        password: validate_new_password(password, email.as_ref().ok()).err(),
    };
    let email = match email {
        Ok(email) if errors.is_empty() => email,
        _ => return Ok(SignUpResult::Invalid(errors)),
    };

    // Hash before knowing whether the email is taken: both answers cost the same.
    let password_hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let user_id = new_id(ids::USER);
    let outcome = state
        .store
        .sign_up(NewSignUp {
            user_id: user_id.clone(),
            email: email.clone(),
            password_hash,
            account_id: new_id(ids::ACCOUNT),
            account_name: default_account_name(&email),
            workspace_id: new_id(ids::WORKSPACE),
            workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
            now,
        })
        .await?;

    match outcome {
        SignUpOutcome::Created => {
            state
                .store
                .take_mail_slot(
                    &format!("confirm:{user_id}"),
                    now,
                    state.config.mail_interval,
                )
                .await?;
            let link = issue_link(state, &user_id, TokenPurpose::Confirm).await?;
            state.send_mail_later(mails::confirm_email(&email, &link));
        }
        SignUpOutcome::EmailTaken => {
            let slot = format!("sign-up-notice:{}", email.as_str());
            if state
                .store
                .take_mail_slot(&slot, now, state.config.mail_interval)
                .await?
            {
                state.send_mail_later(mails::sign_up_attempt_notice(
                    &email,
                    &state.config.link("/sign-in"),
                    &state.config.link("/forgot"),
                ));
            }
        }
    }
    Ok(SignUpResult::CheckEmail(email))
}

/// A new account is named after the person until they rename it.
pub fn default_account_name(email: &EmailAddress) -> String {
    format!("{}'s account", email.local_part())
}

/// Sends a new confirmation link if the address has an unconfirmed user, at most once a
/// minute. Says nothing either way: the page answers the same for every address.
pub async fn resend_confirmation(state: &AppState, email: &EmailAddress) -> Result<(), FlowError> {
    let Some(user) = state.store.user_by_email(email).await? else {
        return Ok(());
    };
    if user.email_confirmed_at.is_some() {
        return Ok(());
    }
    let now = state.clock.now();
    if state
        .store
        .take_mail_slot(
            &format!("confirm:{}", user.id),
            now,
            state.config.mail_interval,
        )
        .await?
    {
        let link = issue_link(state, &user.id, TokenPurpose::Confirm).await?;
        state.send_mail_later(mails::confirm_email(email, &link));
    }
    Ok(())
}
