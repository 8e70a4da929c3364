//! The operator's use cases, run from the command line (`terminus-hub admin …`): create a
//! user without a password, unlock a user, make a password-reset link when mail is broken,
//! put an account on a plan, revoke an API key. Each writes its audit event (no acting user;
//! the detail says it came from the command line) in the transaction of its change.
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{self, new_id};
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{NewSignUp, SignUpOutcome, UserRecord};
use crate::flows::sign_up::{default_account_name, FIRST_WORKSPACE_NAME};
use crate::flows::{FlowError, Outcome, Refusal};
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

/// A user the operator created: their account, and the link that sets their password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    pub user_id: String,
    pub account_id: String,
    pub link: String,
}

/// A key the operator revoked, and whose it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    pub account_id: String,
    pub name: String,
}

fn email(input: &str) -> Result<EmailAddress, Refusal> {
    EmailAddress::parse(input).map_err(|e| Refusal::invalid("email", e.to_string()))
}

async fn user(state: &AppState, email: &EmailAddress) -> Outcome<UserRecord> {
    state
        .store
        .user_by_email(email)
        .await?
        .ok_or_else(|| Refusal::NotFound("user").into())
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
) -> Outcome<CreatedUser> {
    let email = email(email_input)?;
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
        return Err(Refusal::conflict_at(
            "email",
            "email_taken",
            format!("{email} already has a user; `terminus-hub admin user reset-link {email}` makes a link to set its password"),
        )
        .into());
    }
    let issued = operator.audit(
        None,
        "user.reset_link_issued",
        format!("a link to set the password of {}", email.as_str()),
        state,
    );
    let link = reset_link(state, &user_id, issued).await?;
    Ok(CreatedUser {
        user_id,
        account_id,
        link,
    })
}

/// Clears a user's lockout (failure count and lock).
pub async fn unlock_user(state: &AppState, operator: &Operator, email_input: &str) -> Outcome<()> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(
        None,
        "user.unlocked",
        format!("{} unlocked", email.as_str()),
        state,
    );
    if state.store.unlock_user(&user.id, audit).await? {
        Ok(())
    } else {
        Err(Refusal::NotFound("user").into())
    }
}

/// A password-reset link for a user (valid 1 h, single use), printed instead of mailed: for
/// when mail is broken. Using it also confirms the email and clears the lockout.
pub async fn reset_link_for(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<String> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(
        None,
        "user.reset_link_issued",
        format!("a password-reset link for {}", email.as_str()),
        state,
    );
    Ok(reset_link(state, &user.id, audit).await?)
}

/// Puts an account on a plan of the configuration; returns the plan it was on.
pub async fn set_plan(
    state: &AppState,
    operator: &Operator,
    account_id: &str,
    plan: &str,
) -> Outcome<String> {
    let plans = &state.config.plans;
    if !plans.contains(plan) {
        let known: Vec<&str> = plans.iter().map(|(name, _)| name).collect();
        return Err(Refusal::invalid(
            "plan",
            format!(
                "there is no plan {plan:?} in the configuration; the plans are: {}",
                known.join(", ")
            ),
        )
        .into());
    }
    let audit = operator.audit(
        Some(account_id.to_owned()),
        "account.plan_changed",
        format!("plan set to {plan}"),
        state,
    );
    state
        .store
        .set_account_plan(account_id, plan, audit)
        .await?
        .ok_or_else(|| Refusal::NotFound("account").into())
}

/// Revokes (deletes) an API key of any account: it fails on the very next request.
pub async fn revoke_key(
    state: &AppState,
    operator: &Operator,
    key_id: &str,
) -> Outcome<RevokedKey> {
    let Some(key) = state.store.api_key_by_id(key_id).await? else {
        return Err(Refusal::NotFound("API key").into());
    };
    let audit = operator.audit(
        Some(key.account_id.clone()),
        "api_key.deleted",
        format!("{} ({}) revoked", key.id, key.name),
        state,
    );
    if state
        .store
        .delete_api_key(&key.account_id, &key.id, audit)
        .await?
    {
        Ok(RevokedKey {
            account_id: key.account_id,
            name: key.name,
        })
    } else {
        Err(Refusal::NotFound("API key").into())
    }
}
