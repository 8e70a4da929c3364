//! The authorized actors: a signed-in person, a member of an account with their role, an
//! admin or owner of it, and an API key of it. Only this module and `resolve` make them.
use crate::domain::api_keys::{allows, Scope};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ApiKeyId, UserId};
use crate::domain::reauth;
use crate::domain::refusal::Refusal;
use crate::domain::roles::Role;
use crate::domain::roles::{can_administer, can_assign, can_own, can_remove};
use crate::session::AuthState;
use crate::AppState;

/// Proof that an actor came from the auth rules: private, so no other module can build one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seal;

/// A signed-in person: their session was checked against the store this request (user still
/// there, same session epoch, within the absolute lifetime).
#[derive(Debug, Clone)]
pub struct Signed {
    pub(super) auth: AuthState,
    pub(super) email: String,
    pub(super) _seal: Seal,
}

impl Signed {
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Refused with [`reauth::required`] unless the person proved who they are within the
    /// re-authentication window.
    pub fn recently_authenticated(&self, state: &AppState) -> Result<(), Refusal> {
        recent(self.auth.authenticated_at(), state)
    }

    /// How and when the session started, and the account it is in.
    pub fn auth(&self) -> &AuthState {
        &self.auth
    }

    pub fn user_id(&self) -> &UserId {
        &self.auth.user_id
    }

    /// The account the session is in, if one is chosen.
    pub fn current_account(&self) -> Option<&AccountId> {
        self.auth.account_id.as_ref()
    }

    /// A person signed in with a password for unit tests of flows and pages, in
    /// `account_id` if one is chosen.
    #[cfg(test)]
    pub fn for_tests(user_id: &UserId, email: &str, account_id: Option<&AccountId>) -> Self {
        Self {
            auth: AuthState {
                user_id: user_id.clone(),
                account_id: account_id.cloned(),
                epoch: 0,
                signed_in_at: 0,
                method: Some("password".into()),
                user_agent: None,
                ip: None,
                // Always recent, as members made for tests are.
                reauthenticated_at: Some(i64::MAX),
            },
            email: email.into(),
            _seal: Seal,
        }
    }
}

/// A person whose password was just checked and who has a second factor: they may try the
/// second step (within its 5 minutes, under the same session epoch), and nothing else. Made
/// only by [`super::second_step_due`] from the session.
#[derive(Debug, Clone)]
pub struct SecondStepDue {
    pub(super) user_id: UserId,
    pub(super) epoch: i64,
    pub(super) _seal: Seal,
}

impl SecondStepDue {
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The user's session epoch when the password was checked.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    #[cfg(test)]
    pub fn for_tests(user_id: &UserId, epoch: i64) -> Self {
        Self {
            user_id: user_id.clone(),
            epoch,
            _seal: Seal,
        }
    }
}

/// A signed-in person acting in an account they belong to, with the role stored now.
#[derive(Debug, Clone)]
pub struct MemberOf {
    pub(super) user_id: UserId,
    pub(super) email: String,
    pub(super) account_id: AccountId,
    pub(super) role: Role,
    /// When the person last proved who they are (sign-in or re-authentication).
    pub(super) authenticated_at: Timestamp,
    pub(super) _seal: Seal,
}

impl MemberOf {
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    /// The role stored when this request read it.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The member as an admin of the account, if the role rules say they may administer it
    /// (members, invitations, API keys, the activity log).
    pub fn as_admin(&self) -> Option<AdminOf> {
        can_administer(self.role).then(|| AdminOf(self.clone()))
    }

    /// The member as an owner of the account (domains, single sign-on).
    pub fn as_owner(&self) -> Option<OwnerOf> {
        can_own(self.role).then(|| OwnerOf(self.clone()))
    }

    /// The member as an admin, or the one refusal for someone who is not.
    pub fn admin(&self) -> Result<AdminOf, Refusal> {
        self.as_admin().ok_or_else(Refusal::admins_only)
    }

    /// The member as an owner, or the one refusal for someone who is not.
    pub fn owner(&self) -> Result<OwnerOf, Refusal> {
        self.as_owner().ok_or_else(Refusal::owners_only)
    }

    /// May this member remove the member `target_user_id`, whose role is `target_role`?
    /// Anyone may leave (remove themselves); removing others follows the admin rules. (The
    /// last owner stays either way: the store refuses that.)
    pub fn may_remove_member(&self, target_user_id: &UserId, target_role: Role) -> bool {
        *target_user_id == self.user_id
            || self
                .as_admin()
                .is_some_and(|admin| admin.may_remove(target_role))
    }

    pub fn is_admin(&self) -> bool {
        can_administer(self.role)
    }

    pub fn is_owner(&self) -> bool {
        can_own(self.role)
    }

    /// An audit event of this member in their account.
    pub fn audit(&self, action: &str, detail: impl Into<String>, at: Timestamp) -> AuditEvent {
        AuditEvent {
            account_id: Some(self.account_id.clone()),
            actor_user_id: Some(self.user_id.clone()),
            action: action.into(),
            detail: Some(detail.into()),
            at,
        }
    }

    /// A member for unit tests of flows and pages.
    #[cfg(test)]
    pub fn for_tests(user_id: &UserId, email: &str, account_id: &AccountId, role: Role) -> Self {
        Self {
            user_id: user_id.clone(),
            email: email.into(),
            account_id: account_id.clone(),
            role,
            // Always recent: tests of the re-authentication rule set it
            // with [`MemberOf::authenticated_at_for_tests`].
            authenticated_at: Timestamp(i64::MAX),
            _seal: Seal,
        }
    }

    /// This member as if they last proved who they are at `at` (unit tests).
    #[cfg(test)]
    pub fn authenticated_at_for_tests(mut self, at: Timestamp) -> Self {
        self.authenticated_at = at;
        self
    }

    /// Refused with [`reauth::required`] unless the person proved who they are within the
    /// re-authentication window: the first line of every flow that makes a sensitive change.
    pub fn recently_authenticated(&self, state: &AppState) -> Result<(), Refusal> {
        recent(self.authenticated_at, state)
    }
}

fn recent(authenticated_at: Timestamp, state: &AppState) -> Result<(), Refusal> {
    if reauth::is_recent(
        authenticated_at,
        state.clock.now(),
        state.config.reauth_window,
    ) {
        Ok(())
    } else {
        Err(reauth::required())
    }
}

/// An owner or admin of `account_id`: made only by [`MemberOf::as_admin`].
#[derive(Debug, Clone)]
pub struct AdminOf(MemberOf);

impl AdminOf {
    /// May this admin give `new` to someone whose role is `current` (`None`: an invitation)?
    pub fn may_assign(&self, current: Option<Role>, new: Role) -> bool {
        can_assign(self.0.role, current, new)
    }

    /// May this admin remove someone with `target`'s role?
    pub fn may_remove(&self, target: Role) -> bool {
        can_remove(self.0.role, target)
    }

    /// The roles this admin may hand out, most common first.
    pub fn assignable_roles(&self, current: Option<Role>) -> Vec<Role> {
        [Role::Member, Role::Admin, Role::Owner]
            .into_iter()
            .filter(|r| self.may_assign(current, *r))
            .collect()
    }
}

impl std::ops::Deref for AdminOf {
    type Target = MemberOf;

    fn deref(&self) -> &MemberOf {
        &self.0
    }
}

/// An owner of `account_id`: made only by [`MemberOf::as_owner`].
#[derive(Debug, Clone)]
pub struct OwnerOf(MemberOf);

impl std::ops::Deref for OwnerOf {
    type Target = MemberOf;

    fn deref(&self) -> &MemberOf {
        &self.0
    }
}

/// Who works with an account's workspaces and records: a script with one of its API keys
/// (within the key's scopes), or a member signed in to the web app (every role may: the data
/// is the account's shared work; managing keys, members and settings is what roles decide).
pub trait DataAccess: Send + Sync {
    fn data_account(&self) -> &AccountId;
    /// Whether this actor may do what `scope` covers.
    fn may_use(&self, scope: Scope) -> bool;
    /// The audit event of a change this actor makes: a member is its actor; a key has no
    /// person, so its id leads the details (the log reads "An API key (key_…)").
    fn data_audit(&self, action: &str, detail: String, at: Timestamp) -> AuditEvent;
}

impl DataAccess for KeyOf {
    fn data_account(&self) -> &AccountId {
        &self.account_id
    }

    fn may_use(&self, scope: Scope) -> bool {
        self.may(scope)
    }

    fn data_audit(&self, action: &str, detail: String, at: Timestamp) -> AuditEvent {
        AuditEvent {
            account_id: Some(self.account_id.clone()),
            actor_user_id: None,
            action: action.into(),
            detail: Some(format!("{}: {detail}", self.key_id)),
            at,
        }
    }
}

impl DataAccess for MemberOf {
    fn data_account(&self) -> &AccountId {
        &self.account_id
    }

    fn may_use(&self, _scope: Scope) -> bool {
        true
    }

    fn data_audit(&self, action: &str, detail: String, at: Timestamp) -> AuditEvent {
        self.audit(action, detail, at)
    }
}

/// A live API key of `account_id` (well formed, known, not expired), with its scopes.
#[derive(Debug, Clone)]
pub struct KeyOf {
    pub(super) key_id: ApiKeyId,
    pub(super) account_id: AccountId,
    /// `None`: the whole account.
    pub(super) scopes: Option<Vec<Scope>>,
    /// The account's plan (its rate limit).
    pub(super) plan: String,
    pub(super) _seal: Seal,
}

impl KeyOf {
    pub fn key_id(&self) -> &ApiKeyId {
        &self.key_id
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    /// The scopes the key was given; `None`: the whole account.
    pub fn scopes(&self) -> Option<&[Scope]> {
        self.scopes.as_deref()
    }

    /// The account's plan (its rate limit).
    pub fn plan(&self) -> &str {
        &self.plan
    }

    /// Whether the key's scopes grant `scope`.
    pub fn may(&self, scope: Scope) -> bool {
        allows(self.scopes.as_deref(), scope)
    }

    /// A key of `account_id` on the "free" plan for unit tests of flows (`None`: the whole
    /// account).
    #[cfg(test)]
    pub fn for_tests(
        key_id: &ApiKeyId,
        account_id: &AccountId,
        scopes: Option<Vec<Scope>>,
    ) -> Self {
        Self {
            key_id: key_id.clone(),
            account_id: account_id.clone(),
            scopes,
            plan: "free".into(),
            _seal: Seal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role) -> MemberOf {
        MemberOf::for_tests(
            &UserId::from_stored("usr_1"),
            "a@example.test",
            &AccountId::from_stored("acct_1"),
            role,
        )
    }

    #[test]
    fn only_the_role_rules_make_admins_and_owners() {
        assert!(member(Role::Member).as_admin().is_none());
        assert!(member(Role::Member).as_owner().is_none());
        assert!(member(Role::Admin).as_admin().is_some());
        assert!(member(Role::Admin).as_owner().is_none());
        assert!(member(Role::Owner).as_owner().is_some());
        assert!(member(Role::Owner).as_admin().is_some());
    }

    #[test]
    fn admins_hand_out_roles_below_owner() {
        let admin = member(Role::Admin).as_admin().unwrap();
        assert_eq!(
            admin.assignable_roles(None),
            vec![Role::Member, Role::Admin]
        );
        assert!(admin.assignable_roles(Some(Role::Owner)).is_empty());
        assert!(!admin.may_remove(Role::Owner));
        let owner = member(Role::Owner).as_admin().unwrap();
        assert_eq!(owner.assignable_roles(None).len(), 3);
    }

    #[test]
    fn scopes_limit_a_key() {
        let key = KeyOf {
            key_id: ApiKeyId::from_stored("key_1"),
            account_id: AccountId::from_stored("acct_1"),
            scopes: Some(vec![Scope::WorkspacesRead]),
            plan: String::new(),
            _seal: Seal,
        };
        assert!(key.may(Scope::WorkspacesRead));
        assert!(!key.may(Scope::RecordsWrite));
    }
}
