//! The operator's use cases, run from the command line (`terminus-hub admin …`): create a
//! user without a password, unlock a user, make a password-reset link when mail is broken,
//! put an account on a plan, revoke an API key. Each writes its audit event (no acting user;
//! the detail says it came from the command line) in the transaction of its change.
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ApiKeyId, UserId, WorkspaceId};
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{NewSignUp, SignUpOutcome, UserRecord};
use crate::flows::sign_up::{default_account_name, FIRST_WORKSPACE_NAME};
use crate::flows::{FlowError, Outcome, Refusal};
use crate::paths;
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
        account_id: Option<AccountId>,
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
    pub user_id: UserId,
    pub account_id: AccountId,
    pub link: String,
}

/// A key the operator revoked, and whose it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    pub account_id: AccountId,
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
    user_id: &UserId,
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
        .link(&paths::with_token(paths::link_page(purpose), raw.expose())))
}

/// Creates a confirmed user with their own account (on the default plan) and its workspace
/// "Main", and no password: the returned link (a password-reset link, valid 1 h) sets one.
pub async fn create_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<CreatedUser> {
    let email = email(email_input)?;
    let user_id = UserId::new();
    let account_id = AccountId::new();
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
                workspace_id: WorkspaceId::new(),
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
    account_id: &AccountId,
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
    key_id: &ApiKeyId,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_keys::NewApiKey;
    use crate::domain::clock::Timestamp;
    use crate::ports::prelude::*;
    use crate::testing::{code, refused, token_of, Harness, PASSWORD};

    fn operator() -> Operator {
        Operator::command_line("terminus-hub admin test")
    }

    #[tokio::test]
    async fn a_created_user_has_no_password_until_the_link_sets_one() {
        let h = Harness::new();
        let created = create_user(&h.state, &operator(), "Ada@Example.com")
            .await
            .unwrap();
        let user = h.store.user_by_id(&created.user_id).await.unwrap().unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert!(user.password_hash.is_none());
        assert!(created.link.starts_with("http://hub.test/reset?token="));
        let hash = token_of(&created.link);
        assert!(h
            .store
            .token_is_live(TokenPurpose::Reset, &hash, h.now())
            .await
            .unwrap());
        let workspaces = h.store.workspaces(&created.account_id).await.unwrap();
        assert_eq!(workspaces[0].name, FIRST_WORKSPACE_NAME);
        let actions = h.store.audit_actions();
        assert!(actions.contains(&"user.created".to_owned()));
        assert!(actions.contains(&"user.reset_link_issued".to_owned()));
        let event = h
            .store
            .audit_log()
            .into_iter()
            .find(|e| e.action == "user.created")
            .unwrap();
        assert_eq!(event.actor_user_id, None);
        assert!(event.detail.unwrap().contains("terminus-hub admin test"));
    }

    #[tokio::test]
    async fn an_email_with_a_user_is_refused_and_nothing_is_written() {
        let h = Harness::new();
        h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let refusal = refused(create_user(&h.state, &operator(), "ada@example.com").await);
        assert_eq!(
            (code(&refusal), refusal.field()),
            ("email_taken", Some("email"))
        );
        assert_eq!(h.store.user_count(), 1);
        let junk = refused(create_user(&h.state, &operator(), "not an email").await);
        assert_eq!(junk.field(), Some("email"));
    }

    #[tokio::test]
    async fn unlocking_clears_the_lock_of_a_known_user_only() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let policy = h.state.config.lockout;
        for _ in 0..policy.max_failures {
            h.store
                .reserve_guess(&user_id, h.now(), &policy)
                .await
                .unwrap();
        }
        unlock_user(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!((user.failed_attempts, user.locked_until), (0, None));
        let unknown = unlock_user(&h.state, &operator(), "nobody@example.com").await;
        assert_eq!(refused(unknown), Refusal::NotFound("user"));
    }

    #[tokio::test]
    async fn a_printed_reset_link_is_a_live_reset_token() {
        let h = Harness::new();
        let (user_id, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let link = reset_link_for(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert!(h
            .store
            .token_is_live(TokenPurpose::Reset, &token_of(&link), h.now())
            .await
            .unwrap());
        assert_eq!(
            h.store.tokens_of(&user_id, TokenPurpose::Reset, h.now()),
            (1, 1)
        );
        let unknown = reset_link_for(&h.state, &operator(), "nobody@example.com").await;
        assert_eq!(refused(unknown), Refusal::NotFound("user"));
        assert!(h.mailer.sent().is_empty(), "printed, never mailed");
    }

    #[tokio::test]
    async fn a_plan_must_be_configured_and_the_account_must_exist() {
        let h = Harness::new();
        let (_, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let unknown_plan = refused(set_plan(&h.state, &operator(), &account_id, "platinum").await);
        assert_eq!(unknown_plan.field(), Some("plan"));
        let plan = "team".to_owned();
        assert_ne!(plan, h.state.config.plans.default_name());
        let nowhere = set_plan(&h.state, &operator(), &"acct_nowhere".into(), &plan).await;
        assert_eq!(refused(nowhere), Refusal::NotFound("account"));
        let previous = set_plan(&h.state, &operator(), &account_id, &plan)
            .await
            .unwrap();
        assert_eq!(previous, h.state.config.plans.default_name());
        let account = h.store.account(&account_id).await.unwrap().unwrap();
        assert_eq!(account.plan, plan);
    }

    #[tokio::test]
    async fn revoking_a_key_deletes_it_in_whichever_account_it_is() {
        let h = Harness::new();
        let (_, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store
            .create_api_key(
                NewApiKey {
                    id: "key_1".into(),
                    account_id: account_id.clone(),
                    name: "deploy".into(),
                    key_hash: "hash".into(),
                    hint: "thub_abcd".into(),
                    scopes: None,
                    expires_at: None,
                    created_by: None,
                    now: Timestamp(0),
                },
                AuditEvent {
                    account_id: Some(account_id.clone()),
                    actor_user_id: None,
                    action: "api_key.created".into(),
                    detail: None,
                    at: Timestamp(0),
                },
            )
            .await
            .unwrap();
        let revoked = revoke_key(&h.state, &operator(), &"key_1".into())
            .await
            .unwrap();
        assert_eq!(
            revoked,
            RevokedKey {
                account_id,
                name: "deploy".into()
            }
        );
        assert!(h.store.key_by_hash("hash").await.unwrap().is_none());
        let again = revoke_key(&h.state, &operator(), &"key_1".into()).await;
        assert_eq!(refused(again), Refusal::NotFound("API key"));
    }
}
