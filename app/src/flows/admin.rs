//! The operator's use cases, run from the command line (`terminus-hub admin …`): create a
//! user without a password, unlock a user, make a password-reset link when mail is broken,
//! put an account on a plan, revoke an API key. Each writes its audit event (no acting user;
//! the detail says it came from the command line) in the transaction of its change.
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{self, new_id};
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{NewSignUp, SignUpOutcome};
use crate::flows::sign_up::{default_account_name, FIRST_WORKSPACE_NAME};
use crate::flows::FlowError;
use crate::AppState;

/// Whoever runs `terminus-hub admin …` on a host with the server's configuration: they hold
/// the database's credentials already, so the command line is their authority. Only
/// [`Operator::command_line`] makes one, and only the CLI calls it.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The command, for the audit event ("terminus-hub admin user unlock").
    command: &'static str,
}

impl Operator {
    /// The operator running `command` from the command line.
    pub fn command_line(command: &'static str) -> Self {
        Self { command }
    }

    fn audit(
        &self,
        account_id: Option<String>,
        action: &str,
        what: String,
        state: &AppState,
    ) -> AuditEvent {
        AuditEvent {
            account_id,
            actor_user_id: None,
            action: action.to_owned(),
            detail: Some(format!("{what} (from the command line: {})", self.command)),
            at: state.clock.now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateUserOutcome {
    /// The user, their account and its workspace "Main" exist; `link` sets a password.
    Created {
        user_id: String,
        account_id: String,
        link: String,
    },
    /// The address already has a user; nothing was written.
    EmailTaken,
    InvalidEmail(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserOutcome<T> {
    Done(T),
    NoSuchUser,
    InvalidEmail(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetPlanOutcome {
    Done {
        previous: String,
    },
    NoSuchAccount,
    /// Not a plan of the configuration; the known ones are listed.
    UnknownPlan {
        known: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeKeyOutcome {
    Revoked { account_id: String, name: String },
    NoSuchKey,
}

/// A reset token for `user_id` with its audit event; returns the link that carries it.
async fn reset_link(
    state: &AppState,
    user_id: &str,
    audit: AuditEvent,
) -> Result<String, FlowError> {
    let (raw, hash) = new_link_token();
    let purpose = TokenPurpose::Reset;
    let now = state.clock.now();
    state
        .store
        .insert_token_audited(
            user_id,
            purpose,
            &hash,
            now.plus(purpose.lifetime()),
            now,
            audit,
        )
        .await?;
    Ok(state
        .config
        .link(&format!("/{}?token={}", purpose.as_str(), raw.expose())))
}

/// Creates a confirmed user with their own account (on the default plan) and its workspace
/// "Main", and no password: the returned link (a password-reset link, valid 1 h) sets one.
pub async fn create_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Result<CreateUserOutcome, FlowError> {
    let email = match EmailAddress::parse(email_input) {
        Ok(email) => email,
        Err(err) => return Ok(CreateUserOutcome::InvalidEmail(err.to_string())),
    };
    let user_id = new_id(ids::USER);
    let account_id = new_id(ids::ACCOUNT);
    let created = operator.audit(
        Some(account_id.clone()),
        "user.created",
        format!("{} created with no password", email.as_str()),
        state,
    );
    let outcome = state
        .store
        .create_user_with_account(
            NewSignUp {
                user_id: user_id.clone(),
                email: email.clone(),
                password_hash: None,
                account_id: account_id.clone(),
                account_name: default_account_name(&email),
                plan: state.config.plans.default_name().to_owned(),
                workspace_id: new_id(ids::WORKSPACE),
                workspace_name: FIRST_WORKSPACE_NAME.to_owned(),
                now: state.clock.now(),
            },
            created,
        )
        .await?;
    if outcome == SignUpOutcome::EmailTaken {
        return Ok(CreateUserOutcome::EmailTaken);
    }
    let issued = operator.audit(
        None,
        "user.reset_link_issued",
        format!("a link to set the password of {}", email.as_str()),
        state,
    );
    let link = reset_link(state, &user_id, issued).await?;
    Ok(CreateUserOutcome::Created {
        user_id,
        account_id,
        link,
    })
}

/// Clears a user's lockout (failure count and lock).
pub async fn unlock_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Result<UserOutcome<()>, FlowError> {
    let email = match EmailAddress::parse(email_input) {
        Ok(email) => email,
        Err(err) => return Ok(UserOutcome::InvalidEmail(err.to_string())),
    };
    let Some(user) = state.store.user_by_email(&email).await? else {
        return Ok(UserOutcome::NoSuchUser);
    };
    let audit = operator.audit(
        None,
        "user.unlocked",
        format!("{} unlocked", email.as_str()),
        state,
    );
    Ok(match state.store.unlock_user(&user.id, audit).await? {
        true => UserOutcome::Done(()),
        false => UserOutcome::NoSuchUser,
    })
}

/// A password-reset link for a user (valid 1 h, single use), printed instead of mailed: for
/// when mail is broken. Using it also confirms the email and clears the lockout.
pub async fn reset_link_for(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Result<UserOutcome<String>, FlowError> {
    let email = match EmailAddress::parse(email_input) {
        Ok(email) => email,
        Err(err) => return Ok(UserOutcome::InvalidEmail(err.to_string())),
    };
    let Some(user) = state.store.user_by_email(&email).await? else {
        return Ok(UserOutcome::NoSuchUser);
    };
    let audit = operator.audit(
        None,
        "user.reset_link_issued",
        format!("a password-reset link for {}", email.as_str()),
        state,
    );
    Ok(UserOutcome::Done(reset_link(state, &user.id, audit).await?))
}

/// Puts an account on a plan of the configuration.
pub async fn set_plan(
    state: &AppState,
    operator: &Operator,
    account_id: &str,
    plan: &str,
) -> Result<SetPlanOutcome, FlowError> {
    let plans = &state.config.plans;
    if !plans.contains(plan) {
        return Ok(SetPlanOutcome::UnknownPlan {
            known: plans.iter().map(|(name, _)| name.to_owned()).collect(),
        });
    }
    let audit = operator.audit(
        Some(account_id.to_owned()),
        "account.plan_changed",
        format!("plan set to {plan}"),
        state,
    );
    Ok(
        match state
            .store
            .set_account_plan(account_id, plan, audit)
            .await?
        {
            Some(previous) => SetPlanOutcome::Done { previous },
            None => SetPlanOutcome::NoSuchAccount,
        },
    )
}

/// Revokes (deletes) an API key of any account: it fails on the very next request.
pub async fn revoke_key(
    state: &AppState,
    operator: &Operator,
    key_id: &str,
) -> Result<RevokeKeyOutcome, FlowError> {
    let Some(key) = state.store.api_key_by_id(key_id).await? else {
        return Ok(RevokeKeyOutcome::NoSuchKey);
    };
    let audit = operator.audit(
        Some(key.account_id.clone()),
        "api_key.deleted",
        format!("{} ({}) revoked", key.id, key.name),
        state,
    );
    Ok(
        match state
            .store
            .delete_api_key(&key.account_id, &key.id, audit)
            .await?
        {
            true => RevokeKeyOutcome::Revoked {
                account_id: key.account_id,
                name: key.name,
            },
            false => RevokeKeyOutcome::NoSuchKey,
        },
    )
}
