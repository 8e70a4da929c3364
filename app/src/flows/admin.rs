//! The operator's use cases, run from the command line (`terminus-hub admin …`): create a
//! user without a password, unlock a user, make a password-reset link when mail is broken,
//! put an account on a plan, revoke an API key; look users, accounts and keys up; disable and
//! enable a user, sign them out everywhere. Each writes its audit event (no acting user;
//! the detail says it came from the command line) in the transaction of its change.
use crate::domain::accounts::Account;
use crate::domain::api_keys::ApiKeyRecord;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::domains::AccountDomain;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ApiKeyId, ConnectionId, UserId, WorkspaceId};
use crate::domain::members::{MemberRecord, Membership};
use crate::domain::operator::{
    AuditEntry, AuditQuery, EmailSet, Erased, Erasure, OwnerAdded, UserFilter, UserListing,
};
use crate::domain::paging::PageRequest;
use crate::domain::roles::Role;
use crate::domain::sessions::SessionInfo;
use crate::domain::tokens::{new_link_token, TokenPurpose};
use crate::domain::users::{NewSignUp, SignUpOutcome, UserRecord};
use crate::flows::sign_up::{default_account_name, FIRST_WORKSPACE_NAME};
use crate::flows::{FlowError, Outcome, Refusal};
use crate::paths;
use crate::sealing::SealingKey;
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
        // The security line of the command (what it does and to which account, never the
        // detail, which can name a person by their email).
        tracing::warn!(
            event = "admin.command",
            command = self.command,
            action,
            account_id = account_id.as_ref().map(AccountId::as_str),
            "an operator's command"
        );
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

/// What unlocking found: a lock it lifted, failed attempts it cleared (no lock yet), or
/// nothing to do (nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlocked {
    Lifted,
    Cleared(u32),
    WasNotLocked,
}

/// Clears a user's lockout (failure count and lock); a user with neither is left alone.
pub async fn unlock_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<Unlocked> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let now = state.clock.now();
    let done = match (user.locked_until, user.failed_attempts) {
        (Some(until), _) if until > now => Unlocked::Lifted,
        (_, 0) => return Ok(Unlocked::WasNotLocked),
        (_, failures) => Unlocked::Cleared(failures),
    };
    let audit = operator.audit(
        None,
        "user.unlocked",
        format!("{} unlocked", user.id),
        state,
    );
    if state.store.unlock_user(&user.id, audit).await? {
        Ok(done)
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

/// Puts an account on a plan of the configuration; returns the plan it was on (the same plan:
/// nothing was written).
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
    match state.store.account(account_id).await? {
        None => return Err(Refusal::NotFound("account").into()),
        // Nothing to change, nothing written.
        Some(account) if account.plan == plan => return Ok(account.plan),
        Some(_) => {}
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

/// Which users `admin user list` asks for, as typed.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub email_contains: Option<String>,
    pub locked: bool,
    pub disabled: bool,
}

/// Every user the query admits, oldest first.
pub async fn list_users(
    state: &AppState,
    _operator: &Operator,
    query: UserQuery,
) -> Outcome<Vec<UserListing>> {
    let filter = UserFilter {
        email_contains: query
            .email_contains
            .map(|text| text.trim().to_lowercase())
            .filter(|text| !text.is_empty()),
        locked: query.locked,
        disabled: query.disabled,
    };
    Ok(state.store.find_users(&filter, state.clock.now()).await?)
}

/// One user as `admin user show` prints them: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOverview {
    pub id: UserId,
    pub email: EmailAddress,
    pub created_at: Timestamp,
    pub email_confirmed: bool,
    pub has_password: bool,
    pub last_sign_in_at: Option<Timestamp>,
    /// Locked out until then (only while it is in the future).
    pub locked_until: Option<Timestamp>,
    pub failed_attempts: u32,
    pub disabled_at: Option<Timestamp>,
    pub memberships: Vec<Membership>,
    pub authenticator_app: bool,
    pub passkeys: usize,
    pub recovery_codes_left: u32,
    pub sessions: usize,
}

/// A user's accounts and roles, sign-in state, second factors and sessions.
pub async fn show_user(
    state: &AppState,
    _operator: &Operator,
    email_input: &str,
) -> Outcome<UserOverview> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let now = state.clock.now();
    let store = &state.store;
    Ok(UserOverview {
        email_confirmed: user.email_confirmed_at.is_some(),
        has_password: user.password_hash.is_some(),
        last_sign_in_at: store.last_sign_in_at(&user.id).await?,
        locked_until: user.locked_until.filter(|until| *until > now),
        failed_attempts: user.failed_attempts,
        disabled_at: store.user_disabled_at(&user.id).await?,
        memberships: store.memberships(&user.id).await?,
        authenticator_app: store.totp_factor(&user.id).await?.is_some(),
        passkeys: store.passkeys(&user.id).await?.len(),
        recovery_codes_left: store.recovery_codes_left(&user.id).await?,
        sessions: store.sessions_of(&user.id, now).await?.len(),
        id: user.id,
        email: user.email,
        created_at: user.created_at,
    })
}

/// An account as `admin account list` shows it: its owners and how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountListing {
    pub account: Account,
    pub owners: Vec<String>,
    pub members: usize,
}

/// Every account, oldest first, with its owners.
pub async fn list_accounts(state: &AppState, _operator: &Operator) -> Outcome<Vec<AccountListing>> {
    let mut listed = Vec::new();
    for account in state.store.all_accounts().await? {
        let members = state.store.members(&account.id).await?;
        listed.push(AccountListing {
            owners: members
                .iter()
                .filter(|m| m.role == Role::Owner)
                .map(|m| m.email.clone())
                .collect(),
            members: members.len(),
            account,
        });
    }
    Ok(listed)
}

/// The account `input` names: an account id (`acct_…`), or the email of a person who owns
/// exactly one account. Owning none or several is refused with the choices.
pub async fn find_account(state: &AppState, input: &str) -> Outcome<Account> {
    let input = input.trim();
    if !input.contains('@') {
        let id = AccountId::from_input(input);
        return state
            .store
            .account(&id)
            .await?
            .ok_or_else(|| Refusal::NotFound("account").into());
    }
    let email = email(input)?;
    let user = user(state, &email).await?;
    let owned: Vec<Membership> = state
        .store
        .memberships(&user.id)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Owner)
        .collect();
    match owned.as_slice() {
        [one] => state
            .store
            .account(&one.account_id)
            .await?
            .ok_or_else(|| Refusal::NotFound("account").into()),
        [] => Err(Refusal::invalid(
            "account",
            format!("{email} owns no account; name the account by its id (acct_…): `terminus-hub admin account list` shows them"),
        )
        .into()),
        several => {
            let choices: Vec<String> = several
                .iter()
                .map(|m| format!("{} ({})", m.account_id, m.account_name))
                .collect();
            Err(Refusal::invalid(
                "account",
                format!(
                    "{email} owns {} accounts; name one by its id: {}",
                    several.len(),
                    choices.join(", ")
                ),
            )
            .into())
        }
    }
}

/// An account as `admin account show` prints it: plan, members, keys, domains and single
/// sign-on connections (never a sealed secret or a key's hash).
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub account: Account,
    pub members: Vec<MemberRecord>,
    pub keys: Vec<ApiKeyRecord>,
    pub domains: Vec<AccountDomain>,
    pub connections: Vec<SsoConnectionSummary>,
}

/// A single sign-on connection without its sealed client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConnectionSummary {
    pub id: ConnectionId,
    pub issuer: String,
    pub client_id: String,
    pub enforced: bool,
    pub domains: Vec<String>,
}

/// Everything under the account `input` names (see [`find_account`]).
pub async fn show_account(
    state: &AppState,
    _operator: &Operator,
    input: &str,
) -> Outcome<AccountOverview> {
    let account = find_account(state, input).await?;
    let store = &state.store;
    Ok(AccountOverview {
        members: store.members(&account.id).await?,
        keys: all_keys(state, &account.id).await?,
        domains: store.domains(&account.id).await?,
        connections: store
            .sso_connections(&account.id)
            .await?
            .into_iter()
            .map(|c| SsoConnectionSummary {
                id: c.id,
                issuer: c.issuer,
                client_id: c.client_id,
                enforced: c.enforced,
                domains: c.domains.into_iter().map(|d| d.domain).collect(),
            })
            .collect(),
        account,
    })
}

/// Every API key of an account, newest first.
async fn all_keys(state: &AppState, account_id: &AccountId) -> Outcome<Vec<ApiKeyRecord>> {
    let mut keys: Vec<ApiKeyRecord> = Vec::new();
    loop {
        let page = PageRequest {
            limit: 100,
            starting_after: keys.last().map(|k| k.id.to_string()),
            ending_before: None,
        };
        let mut got = state.store.list_api_keys(account_id, &page).await?;
        let more = got.len() > 100;
        got.truncate(100);
        keys.extend(got);
        if !more {
            return Ok(keys);
        }
    }
}

/// The API keys of the account `input` names.
pub async fn list_keys(
    state: &AppState,
    _operator: &Operator,
    input: &str,
) -> Outcome<(Account, Vec<ApiKeyRecord>)> {
    let account = find_account(state, input).await?;
    let keys = all_keys(state, &account.id).await?;
    Ok((account, keys))
}

/// Whether a command changed something, or found it as asked already (nothing written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    AlreadySo,
}

/// Disables a user: no sign-in by any path (password, passkey, single sign-on, a link)
/// until enabled; every session of theirs ends. API keys of their accounts keep working:
/// the number of keys they created is returned with the change.
pub async fn disable_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<(Change, usize)> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let mut keys = 0;
    for membership in state.store.memberships(&user.id).await? {
        keys += all_keys(state, &membership.account_id)
            .await?
            .iter()
            .filter(|k| k.created_by.as_ref() == Some(&user.id))
            .count();
    }
    let audit = operator.audit(
        None,
        "user.disabled",
        format!("{} disabled", user.id),
        state,
    );
    let now = state.clock.now();
    let changed = state
        .store
        .set_user_disabled(&user.id, Some(now), audit)
        .await?;
    Ok((
        if changed {
            Change::Done
        } else {
            Change::AlreadySo
        },
        keys,
    ))
}

/// Enables a disabled user again (they sign in as before).
pub async fn enable_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<Change> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(None, "user.enabled", format!("{} enabled", user.id), state);
    let changed = state.store.set_user_disabled(&user.id, None, audit).await?;
    Ok(if changed {
        Change::Done
    } else {
        Change::AlreadySo
    })
}

/// Ends every session of a user, wherever it is; how many there were.
pub async fn sign_out_everywhere(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<u64> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(
        None,
        "user.signed_out_everywhere",
        format!("every session of {} ended", user.id),
        state,
    );
    state
        .store
        .sign_out_everywhere(&user.id, audit)
        .await?
        .ok_or_else(|| Refusal::NotFound("user").into())
}

/// Gives a user a new email address (normalised and validated as everywhere), confirmed:
/// the operator vouches for it. Refused when another user has it.
pub async fn set_email(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
    new_input: &str,
) -> Outcome<Change> {
    let current = email(email_input)?;
    let new =
        EmailAddress::parse(new_input).map_err(|e| Refusal::invalid("new_email", e.to_string()))?;
    let user = user(state, &current).await?;
    let audit = operator.audit(
        None,
        "user.email_changed",
        format!("the email of {} changed", user.id),
        state,
    );
    match state
        .store
        .set_user_email(&user.id, &new, state.clock.now(), audit)
        .await?
    {
        EmailSet::Set => Ok(Change::Done),
        EmailSet::Unchanged => Ok(Change::AlreadySo),
        EmailSet::Taken => Err(Refusal::conflict_at(
            "new_email",
            "email_taken",
            format!("{new} already has a user"),
        )
        .into()),
        EmailSet::NoUser => Err(Refusal::NotFound("user").into()),
    }
}

/// Makes a person an owner of an account (a member already, or not yet).
pub async fn add_owner(
    state: &AppState,
    operator: &Operator,
    account_input: &str,
    email_input: &str,
) -> Outcome<(Account, OwnerAdded)> {
    let account = find_account(state, account_input).await?;
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(
        Some(account.id.clone()),
        "member.owner_added",
        format!("{} made an owner", user.id),
        state,
    );
    match state
        .store
        .add_owner(&account.id, &user.id, state.clock.now(), audit)
        .await?
    {
        OwnerAdded::NoAccount => Err(Refusal::NotFound("account").into()),
        added => Ok((account, added)),
    }
}

/// Hands an account over: the person becomes its owner, every previous owner an admin. How
/// many owners became admins.
pub async fn transfer_account(
    state: &AppState,
    operator: &Operator,
    account_input: &str,
    email_input: &str,
) -> Outcome<(Account, u64)> {
    let account = find_account(state, account_input).await?;
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let audit = operator.audit(
        Some(account.id.clone()),
        "account.transferred",
        format!("handed over to {}; previous owners are admins", user.id),
        state,
    );
    let demoted = state
        .store
        .transfer_account(&account.id, &user.id, state.clock.now(), audit)
        .await?
        .ok_or(Refusal::NotFound("account"))?;
    Ok((account, demoted))
}

/// Deletes an account with everything under it (workspaces, records, keys, domains, single
/// sign-on, invitations, memberships, its audit trail). The event of the deletion is kept
/// outside the account (which no longer exists).
pub async fn delete_account(
    state: &AppState,
    operator: &Operator,
    account_input: &str,
) -> Outcome<Account> {
    let account = find_account(state, account_input).await?;
    let audit = operator.audit(
        None,
        "account.deleted",
        format!("{} deleted with everything under it", account.id),
        state,
    );
    if state.store.delete_account(&account.id, audit).await? {
        Ok(account)
    } else {
        Err(Refusal::NotFound("account").into())
    }
}

/// A person's data as `admin user export` prints it (GDPR articles 15 and 20): what they
/// gave and what the hub recorded about them, never a secret or a hash.
#[derive(Debug, Clone)]
pub struct UserExport {
    pub user: UserOverview,
    pub sessions: Vec<SessionInfo>,
    pub authenticator_app_since: Option<Timestamp>,
    /// (name, created, last used).
    pub passkeys: Vec<(String, Timestamp, Option<Timestamp>)>,
    pub keys_created: Vec<ApiKeyRecord>,
    pub activity: Vec<AuditEvent>,
}

/// Everything the hub holds about a person.
pub async fn export_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
) -> Outcome<UserExport> {
    let overview = show_user(state, operator, email_input).await?;
    let store = &state.store;
    let id = &overview.id;
    let mut keys_created = Vec::new();
    for membership in &overview.memberships {
        keys_created.extend(
            all_keys(state, &membership.account_id)
                .await?
                .into_iter()
                .filter(|k| k.created_by.as_ref() == Some(id)),
        );
    }
    let audit = operator.audit(
        None,
        "user.exported",
        format!("the data of {id} exported"),
        state,
    );
    store.record_audit(audit).await?;
    Ok(UserExport {
        sessions: store.sessions_of(id, state.clock.now()).await?,
        authenticator_app_since: store.totp_factor(id).await?.map(|f| f.confirmed_at),
        passkeys: store
            .passkeys(id)
            .await?
            .into_iter()
            .map(|p| (p.name, p.created_at, p.last_used_at))
            .collect(),
        keys_created,
        activity: store.audit_events_by(id).await?,
        user: overview,
    })
}

/// What erasing a person did: the pseudonym the audit trail now shows, and the accounts that
/// went with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedUser {
    pub pseudonym: String,
    pub deleted_accounts: Vec<AccountId>,
}

/// Erases a person (GDPR article 17): the user and everything hanging off it (memberships,
/// sessions, factors, tokens, devices, invitations to their address) go; the audit trail
/// keeps a pseudonym where it named them. Refused when an account would be left without an
/// owner, unless `delete_sole_accounts`: then the accounts they alone own go too.
pub async fn erase_user(
    state: &AppState,
    operator: &Operator,
    email_input: &str,
    delete_sole_accounts: bool,
) -> Outcome<ErasedUser> {
    let email = email(email_input)?;
    let user = user(state, &email).await?;
    let mut sole = Vec::new();
    for membership in state.store.memberships(&user.id).await? {
        if membership.role != Role::Owner {
            continue;
        }
        let members = state.store.members(&membership.account_id).await?;
        if members.iter().filter(|m| m.role == Role::Owner).count() <= 1 {
            sole.push(membership);
        }
    }
    if !sole.is_empty() && !delete_sole_accounts {
        let names: Vec<String> = sole
            .iter()
            .map(|m| format!("{} ({})", m.account_id, m.account_name))
            .collect();
        return Err(Refusal::unmet(
            "sole_owner",
            format!(
                "{email} is the only owner of {}: make someone else an owner (`terminus-hub admin account add-owner`), or add --delete-sole-accounts to delete those accounts too",
                names.join(", ")
            ),
        )
        .into());
    }
    // A random name, not derived from anything of theirs.
    let random: String = new_link_token().1.chars().take(16).collect();
    let pseudonym = format!("erased_{random}");
    let deleted_accounts: Vec<AccountId> = sole.into_iter().map(|m| m.account_id).collect();
    let audit = operator.audit(
        None,
        "user.erased",
        format!(
            "a user erased as {pseudonym}; accounts deleted with them: {}",
            deleted_accounts.len()
        ),
        state,
    );
    let erasure = Erasure {
        user_id: user.id,
        email,
        pseudonym: pseudonym.clone(),
        delete_accounts: deleted_accounts.clone(),
    };
    match state.store.erase_user(&erasure, audit).await? {
        Erased::Erased => Ok(ErasedUser {
            pseudonym,
            deleted_accounts,
        }),
        Erased::WouldOrphan => Err(Refusal::unmet(
            "sole_owner",
            "an account of theirs lost its other owners meanwhile: run the command again",
        )
        .into()),
        Erased::NoUser => Err(Refusal::NotFound("user").into()),
    }
}

/// How many events an export reads at a time.
pub const AUDIT_PAGE: u32 = 500;

/// Starts an export of the audit trail (`admin audit export`): of the account `account`
/// names (see [`find_account`]) or of the whole hub, from `since` on. The export itself is an
/// audit event. Read it with [`next_audit_page`] until a page comes back empty.
pub async fn start_audit_export(
    state: &AppState,
    operator: &Operator,
    account: Option<&str>,
    since: Option<Timestamp>,
) -> Outcome<AuditQuery> {
    let account_id = match account {
        Some(input) => Some(find_account(state, input).await?.id),
        None => None,
    };
    let what = match &account_id {
        Some(id) => format!("the audit trail of {id} exported"),
        None => "the whole audit trail exported".to_owned(),
    };
    let audit = operator.audit(None, "audit.exported", what, state);
    state.store.record_audit(audit).await?;
    Ok(AuditQuery {
        account_id,
        since,
        after: None,
        limit: AUDIT_PAGE,
    })
}

/// The next page of an export, oldest first; empty at the end.
pub async fn next_audit_page(state: &AppState, query: &mut AuditQuery) -> Outcome<Vec<AuditEntry>> {
    let page = state.store.audit_page(query).await?;
    if let Some(last) = page.last() {
        query.after = Some((last.event.at, last.id.clone()));
    }
    Ok(page)
}

/// Applies the retention setting: deletes the audit events older than `days` days. Safe to
/// run on several instances at once (the delete is idempotent). How many went.
pub async fn apply_audit_retention(state: &AppState, days: u32) -> Outcome<u64> {
    let age = i64::from(days).saturating_mul(24 * 3600 * 1000);
    let before = Timestamp(state.clock.now().millis().saturating_sub(age));
    Ok(state.store.prune_audit(before).await?)
}

/// What re-sealing under a new key did: how many single sign-on client secrets and
/// authenticator-app secrets it re-sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub connections: u64,
    pub authenticator_apps: u64,
}

/// Re-seals every sealed secret, now under the server's key, under `new_key`, in one
/// transaction: afterwards only `new_key` opens them (every instance must be given it).
/// Refused, with nothing changed, when a value does not open under the current key.
pub async fn rotate_secret_key(
    state: &AppState,
    operator: &Operator,
    new_key: &SealingKey,
) -> Outcome<Resealed> {
    let old = state.sealing.clone();
    let reseal = move |sealed: &str| -> Option<String> {
        let secret = old.open(sealed).ok()?;
        new_key.seal(&secret).ok()
    };
    let audit = operator.audit(
        None,
        "secret_key.rotated",
        "every sealed secret re-sealed under a new key".to_owned(),
        state,
    );
    match state.store.reseal_secrets(&reseal, audit).await? {
        Some((connections, authenticator_apps)) => Ok(Resealed {
            connections,
            authenticator_apps,
        }),
        None => Err(Refusal::unmet(
            "unreadable_secret",
            "a sealed secret does not open under the current key (TERMINUS_SECRET_KEY or the key file): nothing was changed",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_keys::NewApiKey;
    use crate::domain::clock::Timestamp;
    use crate::domain::operator::OwnerAdded;
    use crate::domain::second_factors::NewTotpFactor;
    use crate::domain::secret::Secret;
    use crate::ports::prelude::*;
    use crate::testing::{code, refused, refused_code, token_of, Harness, PASSWORD};

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
        let unlocked = unlock_user(&h.state, &operator(), "ada@example.com").await;
        assert_eq!(unlocked.unwrap(), Unlocked::Lifted);
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        assert_eq!((user.failed_attempts, user.locked_until), (0, None));
        let events = h.store.audit_log().len();
        let again = unlock_user(&h.state, &operator(), "ada@example.com").await;
        assert_eq!(again.unwrap(), Unlocked::WasNotLocked);
        assert_eq!(
            h.store.audit_log().len(),
            events,
            "nothing to unlock, nothing written"
        );
        h.store
            .reserve_guess(&user_id, h.now(), &policy)
            .await
            .unwrap();
        let cleared = unlock_user(&h.state, &operator(), "ada@example.com").await;
        assert_eq!(cleared.unwrap(), Unlocked::Cleared(1));
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
        let events = h.store.audit_log().len();
        let same = set_plan(&h.state, &operator(), &account_id, &plan).await;
        assert_eq!(same.unwrap(), plan);
        assert_eq!(h.store.audit_log().len(), events, "no change, no event");
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
    #[tokio::test]
    async fn users_are_listed_by_text_lock_and_disabled() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.signed_up("bob@example.org", Some(PASSWORD)).await;
        let all = list_users(&h.state, &operator(), UserQuery::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        let query = |text: &str| UserQuery {
            email_contains: Some(text.into()),
            ..UserQuery::default()
        };
        let found = list_users(&h.state, &operator(), query(" EXAMPLE.ORG "))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].email.as_str(), "bob@example.org");
        let policy = h.state.config.lockout;
        for _ in 0..policy.max_failures {
            h.store.reserve_guess(&ada, h.now(), &policy).await.unwrap();
        }
        let locked = UserQuery {
            locked: true,
            ..UserQuery::default()
        };
        let found = list_users(&h.state, &operator(), locked).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, ada);
        let disabled = UserQuery {
            disabled: true,
            ..UserQuery::default()
        };
        assert!(list_users(&h.state, &operator(), disabled.clone())
            .await
            .unwrap()
            .is_empty());
        disable_user(&h.state, &operator(), "bob@example.org")
            .await
            .unwrap();
        let found = list_users(&h.state, &operator(), disabled).await.unwrap();
        assert_eq!(found[0].email.as_str(), "bob@example.org");
    }

    #[tokio::test]
    async fn a_user_is_shown_with_accounts_factors_and_sessions() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, Some(&account_id), "password");
        let shown = show_user(&h.state, &operator(), "Ada@Example.com")
            .await
            .unwrap();
        assert_eq!(shown.id, ada);
        assert_eq!(shown.memberships.len(), 1);
        assert_eq!(shown.memberships[0].role, Role::Owner);
        assert_eq!(shown.sessions, 1);
        assert!(shown.has_password);
        assert!(!shown.authenticator_app);
        assert_eq!((shown.passkeys, shown.recovery_codes_left), (0, 0));
        assert_eq!(shown.disabled_at, None);
        let nobody = show_user(&h.state, &operator(), "nobody@example.com").await;
        assert_eq!(refused(nobody), Refusal::NotFound("user"));
    }

    #[tokio::test]
    async fn an_account_is_found_by_id_or_by_its_only_owner() {
        let h = Harness::new();
        let (_, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let by_id = find_account(&h.state, account_id.as_str()).await.unwrap();
        assert_eq!(by_id.id, account_id);
        let by_owner = find_account(&h.state, "ada@example.com").await.unwrap();
        assert_eq!(by_owner.id, account_id);
        let nowhere = find_account(&h.state, "acct_nowhere").await;
        assert_eq!(refused(nowhere), Refusal::NotFound("account"));
        let second = h.account("Second");
        h.store.add_member(
            &second,
            &h.store
                .user_by_email(&EmailAddress::parse("ada@example.com").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
            "ada@example.com",
            Role::Owner,
        );
        let several = refused(find_account(&h.state, "ada@example.com").await);
        assert_eq!(several.field(), Some("account"));
        assert!(several.message().contains(account_id.as_str()));
        assert!(several.message().contains(second.as_str()));
        let member = h.user_in(&second, "bob@example.com", Role::Member).await;
        assert!(!member.as_str().is_empty());
        let owns_none = refused(find_account(&h.state, "bob@example.com").await);
        assert!(owns_none.message().contains("owns no account"));
        let shown = show_account(&h.state, &operator(), second.as_str())
            .await
            .unwrap();
        assert_eq!(shown.members.len(), 2);
        let listed = list_accounts(&h.state, &operator()).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .any(|a| a.account.id == second && a.owners == ["ada@example.com"] && a.members == 2));
    }

    #[tokio::test]
    async fn disabling_ends_sessions_and_enabling_undoes_it_once() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, Some(&account_id), "password");
        let epoch = h
            .store
            .user_by_id(&ada)
            .await
            .unwrap()
            .unwrap()
            .session_epoch;
        let (change, keys) = disable_user(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert_eq!((change, keys), (Change::Done, 0));
        assert!(h.store.sessions().is_empty());
        let user = h.store.user_by_id(&ada).await.unwrap().unwrap();
        assert_eq!(user.session_epoch, epoch + 1);
        assert_eq!(h.store.user_disabled_at(&ada).await.unwrap(), Some(h.now()));
        let events = h.store.audit_log().len();
        let (again, _) = disable_user(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert_eq!(again, Change::AlreadySo);
        assert_eq!(h.store.audit_log().len(), events);
        let enabled = enable_user(&h.state, &operator(), "ada@example.com").await;
        assert_eq!(enabled.unwrap(), Change::Done);
        assert_eq!(h.store.user_disabled_at(&ada).await.unwrap(), None);
        let enabled = enable_user(&h.state, &operator(), "ada@example.com").await;
        assert_eq!(enabled.unwrap(), Change::AlreadySo);
        let actions = h.store.audit_actions();
        assert!(actions.contains(&"user.disabled".to_owned()));
        assert!(actions.contains(&"user.enabled".to_owned()));
    }

    #[tokio::test]
    async fn signing_out_everywhere_ends_every_session_of_the_user_only() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let (bob, bobs) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, Some(&account_id), "password");
        h.store.add_session(&ada, None, "sso");
        h.store.add_session(&bob, Some(&bobs), "password");
        let ended = sign_out_everywhere(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert_eq!(ended, 2);
        let left = h.store.sessions();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].user_id, bob);
        assert!(h
            .store
            .audit_actions()
            .contains(&"user.signed_out_everywhere".to_owned()));
        let nobody = sign_out_everywhere(&h.state, &operator(), "nobody@example.com").await;
        assert_eq!(refused(nobody), Refusal::NotFound("user"));
    }
    #[tokio::test]
    async fn an_email_is_set_normalised_and_never_to_a_taken_one() {
        let h = Harness::new();
        let (ada, _) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.signed_up("bob@example.com", Some(PASSWORD)).await;
        let taken =
            refused(set_email(&h.state, &operator(), "ada@example.com", "BOB@example.com").await);
        assert_eq!(
            (code(&taken), taken.field()),
            ("email_taken", Some("new_email"))
        );
        let junk =
            refused(set_email(&h.state, &operator(), "ada@example.com", "not an email").await);
        assert_eq!(junk.field(), Some("new_email"));
        let set = set_email(
            &h.state,
            &operator(),
            "ada@example.com",
            " Ada.Lovelace@Example.com ",
        )
        .await;
        assert_eq!(set.unwrap(), Change::Done);
        let user = h.store.user_by_id(&ada).await.unwrap().unwrap();
        assert_eq!(user.email.as_str(), "ada.lovelace@example.com");
        let same = set_email(
            &h.state,
            &operator(),
            "ada.lovelace@example.com",
            "ada.lovelace@example.com",
        )
        .await;
        assert_eq!(same.unwrap(), Change::AlreadySo);
        assert_eq!(
            h.store
                .audit_actions()
                .iter()
                .filter(|a| *a == "user.email_changed")
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn owners_are_added_and_an_account_handed_over() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let bob = h
            .user_in(&account_id, "bob@example.com", Role::Member)
            .await;
        let (carol, _) = h.signed_up("carol@example.com", Some(PASSWORD)).await;
        let (_, added) = add_owner(&h.state, &operator(), "ada@example.com", "bob@example.com")
            .await
            .unwrap();
        assert_eq!(added, OwnerAdded::Promoted);
        assert_eq!(
            h.store.role_in(&bob, &account_id).await.unwrap(),
            Some(Role::Owner)
        );
        let (_, again) = add_owner(
            &h.state,
            &operator(),
            account_id.as_str(),
            "bob@example.com",
        )
        .await
        .unwrap();
        assert_eq!(again, OwnerAdded::AlreadyOwner);
        let (_, demoted) = transfer_account(
            &h.state,
            &operator(),
            account_id.as_str(),
            "carol@example.com",
        )
        .await
        .unwrap();
        assert_eq!(demoted, 2);
        assert_eq!(
            h.store.role_in(&carol, &account_id).await.unwrap(),
            Some(Role::Owner)
        );
        assert_eq!(
            h.store.role_in(&ada, &account_id).await.unwrap(),
            Some(Role::Admin)
        );
        assert_eq!(
            h.store.role_in(&bob, &account_id).await.unwrap(),
            Some(Role::Admin)
        );
        let actions = h.store.audit_actions();
        assert!(actions.contains(&"member.owner_added".to_owned()));
        assert!(actions.contains(&"account.transferred".to_owned()));
    }

    #[tokio::test]
    async fn a_deleted_account_takes_everything_under_it() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, Some(&account_id), "password");
        let deleted = delete_account(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert_eq!(deleted.id, account_id);
        assert!(h.store.account(&account_id).await.unwrap().is_none());
        assert!(h.store.workspaces(&account_id).await.unwrap().is_empty());
        assert!(h.store.memberships(&ada).await.unwrap().is_empty());
        assert!(h.store.sessions().is_empty());
        let event = h.store.audit_log().pop().unwrap();
        assert_eq!(
            (event.action.as_str(), event.account_id),
            ("account.deleted", None)
        );
        let again = delete_account(&h.state, &operator(), account_id.as_str()).await;
        assert_eq!(refused(again), Refusal::NotFound("account"));
    }

    #[tokio::test]
    async fn an_export_holds_the_persons_data_and_no_secret() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.store.add_session(&ada, Some(&account_id), "password");
        h.store
            .record_audit(AuditEvent {
                account_id: Some(account_id.clone()),
                actor_user_id: Some(ada.clone()),
                action: "workspace.created".into(),
                detail: None,
                at: h.now(),
            })
            .await
            .unwrap();
        let export = export_user(&h.state, &operator(), "ada@example.com")
            .await
            .unwrap();
        assert_eq!(export.user.id, ada);
        assert_eq!(export.sessions.len(), 1);
        assert!(export
            .activity
            .iter()
            .any(|e| e.action == "workspace.created" && e.actor_user_id.as_ref() == Some(&ada)));
        assert!(!format!("{export:?}").contains("argon2"), "no hash");
    }

    #[tokio::test]
    async fn erasing_is_refused_for_a_sole_owner_unless_their_accounts_go_too() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let shared = h.account("Shared");
        h.store
            .add_member(&shared, &ada, "ada@example.com", Role::Owner);
        h.user_in(&shared, "bob@example.com", Role::Owner).await;
        h.store
            .record_audit(AuditEvent {
                account_id: Some(shared.clone()),
                actor_user_id: Some(ada.clone()),
                action: "member.invited".into(),
                detail: Some(format!("ada@example.com ({ada}) invited someone")),
                at: h.now(),
            })
            .await
            .unwrap();
        let refusal = refused(erase_user(&h.state, &operator(), "ada@example.com", false).await);
        assert_eq!(code(&refusal), "sole_owner");
        assert!(refusal.message().contains(account_id.as_str()));
        assert!(
            !refusal.message().contains(shared.as_str()),
            "bob owns it too"
        );
        assert!(
            h.store.user_by_id(&ada).await.unwrap().is_some(),
            "nothing written"
        );
        let erased = erase_user(&h.state, &operator(), "ada@example.com", true)
            .await
            .unwrap();
        assert_eq!(erased.deleted_accounts, std::slice::from_ref(&account_id));
        assert!(h.store.user_by_id(&ada).await.unwrap().is_none());
        assert!(h.store.account(&account_id).await.unwrap().is_none());
        assert!(h.store.account(&shared).await.unwrap().is_some());
        let log = h.store.audit_log();
        let invited = log.iter().find(|e| e.action == "member.invited").unwrap();
        assert_eq!(
            invited.actor_user_id.as_ref().map(|u| u.as_str()),
            Some(erased.pseudonym.as_str())
        );
        let detail = invited.detail.clone().unwrap();
        assert!(
            !detail.contains("ada@example.com") && !detail.contains(ada.as_str()),
            "{detail}"
        );
        assert!(log.iter().any(|e| e.action == "user.erased"));
    }
    #[tokio::test]
    async fn the_audit_trail_is_exported_page_by_page_and_pruned_by_age() {
        let h = Harness::new();
        let (_, ada) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        h.advance(std::time::Duration::from_secs(3 * 24 * 3600));
        let (_, bob) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        for n in 0..(AUDIT_PAGE + 2) {
            h.store
                .record_audit(AuditEvent {
                    account_id: Some(bob.clone()),
                    actor_user_id: None,
                    action: format!("test.{n}"),
                    detail: None,
                    at: h.now(),
                })
                .await
                .unwrap();
        }
        let mut query = start_audit_export(&h.state, &operator(), Some("bob@example.com"), None)
            .await
            .unwrap();
        let mut read = Vec::new();
        loop {
            let page = next_audit_page(&h.state, &mut query).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= AUDIT_PAGE as usize);
            read.extend(page);
        }
        let tests = read
            .iter()
            .filter(|e| e.event.action.starts_with("test."))
            .count();
        assert_eq!(tests, AUDIT_PAGE as usize + 2, "each once, across pages");
        let mut ids: Vec<&str> = read.iter().map(|e| e.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), read.len());
        assert!(read
            .iter()
            .all(|e| e.event.account_id.as_ref() == Some(&bob)));
        let mut since = start_audit_export(&h.state, &operator(), None, Some(h.now()))
            .await
            .unwrap();
        let recent = next_audit_page(&h.state, &mut since).await.unwrap();
        assert!(recent
            .iter()
            .all(|e| e.event.account_id.as_ref() != Some(&ada)));
        assert!(h
            .store
            .audit_actions()
            .contains(&"audit.exported".to_owned()));
        let cutoff = Timestamp(h.now().millis() - 2 * 24 * 3600 * 1000);
        let old = h.store.audit_log().iter().filter(|e| e.at < cutoff).count();
        assert!(old > 0, "ada's sign-up is three days old");
        let pruned = apply_audit_retention(&h.state, 2).await.unwrap();
        assert_eq!(pruned, old as u64);
        assert!(h.store.audit_log().iter().all(|e| e.at >= cutoff));
        assert_eq!(
            apply_audit_retention(&h.state, 2).await.unwrap(),
            0,
            "idempotent"
        );
    }
    #[tokio::test]
    async fn rotating_the_key_reseals_every_secret_or_none() {
        let h = Harness::new();
        let (ada, account_id) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let connection = h.sso(&account_id, &["example.com"], false).await;
        let totp = h
            .state
            .sealing
            .seal(&Secret::new("JBSWY3DPEHPK3PXP"))
            .unwrap();
        let added = h
            .store
            .add_totp_factor(
                NewTotpFactor {
                    user_id: ada.clone(),
                    secret_sealed: totp,
                    step: 0,
                    recovery_hashes: Vec::new(),
                    now: h.now(),
                },
                AuditEvent {
                    account_id: None,
                    actor_user_id: Some(ada.clone()),
                    action: "second_factor.added".into(),
                    detail: None,
                    at: h.now(),
                },
            )
            .await
            .unwrap();
        assert!(added);
        let new_key = SealingKey::from_base64(&SealingKey::generate_base64()).unwrap();
        let resealed = rotate_secret_key(&h.state, &operator(), &new_key)
            .await
            .unwrap();
        assert_eq!(
            resealed,
            Resealed {
                connections: 1,
                authenticator_apps: 1
            }
        );
        let stored = h.store.sso_connections(&account_id).await.unwrap();
        assert_eq!(stored[0].id, connection.id);
        let sealed = &stored[0].client_secret_sealed;
        assert_eq!(new_key.open(sealed).unwrap().expose(), "secret");
        assert!(
            h.state.sealing.open(sealed).is_err(),
            "the old key no longer opens it"
        );
        let factor = h.store.totp_factor(&ada).await.unwrap().unwrap();
        assert_eq!(
            new_key.open(&factor.secret_sealed).unwrap().expose(),
            "JBSWY3DPEHPK3PXP"
        );
        // Under the old key again: what the new key sealed does not open, nothing changes.
        let refused_code = refused_code(rotate_secret_key(&h.state, &operator(), &new_key).await);
        assert_eq!(refused_code, "unreadable_secret");
        let again = h.store.totp_factor(&ada).await.unwrap().unwrap();
        assert_eq!(again.secret_sealed, factor.secret_sealed, "nothing written");
        assert!(h
            .store
            .audit_actions()
            .contains(&"secret_key.rotated".to_owned()));
    }
}
