//! An in-memory [`Store`](super::Store) for unit tests (test builds only): every aggregate's
//! trait, over plain collections behind one `std::sync::Mutex` (never held across an
//! `.await`: each method locks, reads or writes, and returns).
//!
//! It keeps the contract the SQL adapter keeps, file for file (`src/store/body/<aggregate>.rs`):
//! a method that writes several things writes all of them or none (its checks come before its
//! first change, as a rolled-back transaction leaves nothing), and its audit event goes with
//! it. So: one-time tokens and confirmation links work once and only while live; the lockout's
//! guess counter and the fixed-window rate counters count as their single statements do; a mail
//! slot is taken once per interval; an account never loses its last owner; a new invitation for
//! an email revokes the pending one; one account at a time holds a domain verified; one
//! connection serves a domain; a TOTP step is accepted once and a recovery code used once; enforcing single sign-on needs a test sign-in and ends the
//! password sessions of the people it affects; lists come newest id first after the cursor.
//!
//! Sessions live in the process crate's session store; here they are plain rows a test adds
//! ([`MemoryStore::add_session`]) so that what the store's methods end can be checked.
//! [`MemoryStore::set_broken`] makes every method fail, for a flow's `Stopped::Broken` path.
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{StoreError, StoreResult};
use crate::domain::accounts::Account;
use crate::domain::api_keys::ApiKeyRecord;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::domains::AccountDomain;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ConnectionId, DomainId, UserId, WorkspaceId};
use crate::domain::members::Invitation;
use crate::domain::paging::PageRequest;
use crate::domain::roles::{can_administer, Role};
use crate::domain::sso::{ServedDomain, SsoConnection};
use crate::domain::tokens::TokenPurpose;
use crate::domain::users::UserRecord;
use crate::domain::workspaces::{DataRecord, Workspace};

mod accounts;
mod api_keys;
mod audit;
mod devices;
mod domains;
mod idempotency;
mod memberships;
mod operations;
mod operator;
mod second_factors;
mod sessions;
mod sso;
mod throttles;
mod tokens;
mod users;
mod workspaces;

/// Every aggregate, in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

/// A signed-in session as the session store keeps it: whose, in which account, and how it
/// started (`"password"` or `"sso"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSession {
    pub id: String,
    pub user_id: UserId,
    pub account_id: Option<AccountId>,
    pub method: String,
}

#[derive(Default)]
struct State {
    broken: bool,
    /// By id.
    users: BTreeMap<UserId, UserRecord>,
    pending_sign_ups: Vec<PendingRow>,
    counters: BTreeMap<String, Counter>,
    /// Slot → when its last mail was sent.
    mail_slots: BTreeMap<String, Timestamp>,
    tokens: Vec<TokenRow>,
    accounts: BTreeMap<AccountId, Account>,
    members: Vec<Member>,
    invitations: Vec<StoredInvitation>,
    domains: Vec<AccountDomain>,
    /// Connections as stored (their `domains` are read from `connection_domains`).
    connections: Vec<SsoConnection>,
    /// (connection id, account domain id).
    connection_domains: Vec<(ConnectionId, DomainId)>,
    identities: Vec<Identity>,
    api_keys: Vec<StoredKey>,
    workspaces: Vec<Workspace>,
    records: Vec<DataRecord>,
    audit: Vec<AuditEvent>,
    sessions: Vec<FakeSession>,
    /// Requests to change a user's email: (token hash, user, new address, expires at).
    email_changes: Vec<(String, UserId, EmailAddress, Timestamp)>,
    pings: u64,
    /// Confirmed authenticator apps, by user.
    totp: BTreeMap<UserId, crate::domain::second_factors::TotpFactor>,
    recovery: Vec<RecoveryRow>,
    passkeys: Vec<crate::domain::passkeys::StoredPasskey>,
    /// Passkey ceremonies by handle hash, with whether they were used.
    ceremonies: BTreeMap<String, (crate::domain::passkeys::Ceremony, bool)>,
    /// Known devices: (user, device hash, network) → last seen.
    devices: BTreeMap<(UserId, String, String), Timestamp>,
    /// "This wasn't me" links: (token hash, user, expires at, used at).
    sign_in_notices: Vec<(String, UserId, Timestamp, Option<Timestamp>)>,
    /// Users whose password sign-in is blocked until a reset.
    password_blocks: std::collections::BTreeSet<UserId>,
    /// Users the operator disabled, and since when.
    disabled: BTreeMap<UserId, Timestamp>,
    /// Idempotency keys: (account, key) → (request hash, expires at, kept answer).
    idempotency: BTreeMap<
        (AccountId, String),
        (
            String,
            Timestamp,
            Option<crate::domain::idempotency::KeptAnswer>,
        ),
    >,
}

struct RecoveryRow {
    user_id: UserId,
    code_hash: String,
    used_at: Option<Timestamp>,
}

struct PendingRow {
    email: EmailAddress,
    token_hash: String,
    expires_at: Timestamp,
}

struct Counter {
    window_start: Timestamp,
    hits: u32,
}

struct TokenRow {
    token_hash: String,
    purpose: TokenPurpose,
    user_id: UserId,
    expires_at: Timestamp,
    used_at: Option<Timestamp>,
}

impl TokenRow {
    fn live(&self, purpose: TokenPurpose, now: Timestamp) -> bool {
        self.purpose == purpose && self.used_at.is_none() && self.expires_at > now
    }
}

struct Member {
    account_id: AccountId,
    user_id: UserId,
    role: Role,
    since: Timestamp,
}

struct StoredInvitation {
    invitation: Invitation,
    token_hash: String,
    accepted_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl StoredInvitation {
    fn pending(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }

    fn live(&self, now: Timestamp) -> bool {
        self.pending() && self.invitation.expires_at > now
    }
}

struct Identity {
    connection_id: ConnectionId,
    subject: String,
    user_id: UserId,
    last_sign_in_at: Timestamp,
}

struct StoredKey {
    record: ApiKeyRecord,
    key_hash: String,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, for one method's work; refused while the store is "broken".
    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.broken {
            return Err(StoreError("the in-memory store is broken (test)".into()));
        }
        Ok(state)
    }

    /// The state for test setup and inspection, broken or not.
    fn raw(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes every store method fail (`true`) or work again (`false`).
    pub fn set_broken(&self, broken: bool) {
        self.raw().broken = broken;
    }

    /// Adds an account on the "free" plan, with nobody in it (test setup).
    pub fn add_account(&self, id: &AccountId, name: &str) {
        self.raw().accounts.insert(
            id.to_owned(),
            Account {
                id: id.to_owned(),
                name: name.to_owned(),
                plan: "free".into(),
                created_at: Timestamp(0),
                require_second_factor: false,
            },
        );
    }

    /// Adds a confirmed user (test setup); replaces one with the same id.
    pub fn add_user(&self, id: &UserId, email: &str, password_hash: Option<String>) {
        let Ok(email) = EmailAddress::parse(email) else {
            return;
        };
        self.raw().users.insert(
            id.to_owned(),
            UserRecord {
                id: id.to_owned(),
                email,
                password_hash,
                email_confirmed_at: Some(Timestamp(0)),
                failed_attempts: 0,
                locked_until: None,
                session_epoch: 0,
                created_at: Timestamp(0),
            },
        );
    }

    /// Adds `user_id` (created without a password when new) with `role` in `account_id`
    /// (test setup); they joined after everyone added before them.
    pub fn add_member(&self, account_id: &AccountId, user_id: &UserId, email: &str, role: Role) {
        if !self.raw().users.contains_key(user_id) {
            self.add_user(user_id, email, None);
        }
        let mut state = self.raw();
        let since = Timestamp(i64::try_from(state.members.len()).unwrap_or(i64::MAX));
        state.members.push(Member {
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            since,
        });
    }

    /// Adds a signed-in session (test setup): `method` is `"password"` or `"sso"`.
    pub fn add_session(
        &self,
        user_id: &UserId,
        account_id: Option<&AccountId>,
        method: &str,
    ) -> String {
        let mut state = self.raw();
        let id = format!("ses_{}", state.sessions.len());
        state.sessions.push(FakeSession {
            id: id.clone(),
            user_id: user_id.to_owned(),
            account_id: account_id.cloned(),
            method: method.to_owned(),
        });
        id
    }

    /// The sessions still alive.
    pub fn sessions(&self) -> Vec<FakeSession> {
        self.raw().sessions.clone()
    }

    /// Every audit event written so far, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.raw().audit.clone()
    }

    /// The actions of the audit events written so far, oldest first.
    pub fn audit_actions(&self) -> Vec<String> {
        self.raw().audit.iter().map(|e| e.action.clone()).collect()
    }

    /// How many pending sign-ups are stored (live or not).
    pub fn pending_sign_ups(&self) -> usize {
        self.raw().pending_sign_ups.len()
    }

    /// How many users exist.
    pub fn user_count(&self) -> usize {
        self.raw().users.len()
    }

    /// How many one-time tokens of `purpose` are stored for `user_id`, and how many of them
    /// are live at `now`.
    pub fn tokens_of(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> (usize, usize) {
        let state = self.raw();
        let mine: Vec<&TokenRow> = state
            .tokens
            .iter()
            .filter(|t| t.user_id == user_id && t.purpose == purpose)
            .collect();
        let live = mine.iter().filter(|t| t.live(purpose, now)).count();
        (mine.len(), live)
    }

    /// The hits counted under `key` in its current window (0 when there is no counter).
    pub fn hits(&self, key: &str) -> u32 {
        self.raw().counters.get(key).map_or(0, |c| c.hits)
    }

    /// The users (connection id, subject) identities are linked to.
    pub fn identity_user(&self, connection_id: &ConnectionId, subject: &str) -> Option<UserId> {
        self.raw()
            .identities
            .iter()
            .find(|i| i.connection_id == connection_id && i.subject == subject)
            .map(|i| i.user_id.clone())
    }
}

/// Whether `email` is an address on `domain` (the SQL's `email LIKE '%@' || domain`).
fn on_domain(email: &str, domain: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, at)| at.eq_ignore_ascii_case(domain))
}

/// Up to `page.limit + 1` of `rows` by the one cursor rule, as the SQL stores fetch them:
/// newest (greatest) id first after `starting_after`, or oldest first from just above
/// `ending_before` (see `domain::paging`).
fn page_of<T>(mut rows: Vec<T>, page: &PageRequest, id: impl Fn(&T) -> &str) -> Vec<T> {
    rows.retain(|row| page.admits(id(row)));
    if page.backwards() {
        rows.sort_by(|a, b| id(a).cmp(id(b)));
    } else {
        rows.sort_by(|a, b| id(b).cmp(id(a)));
    }
    rows.truncate(usize::try_from(page.limit).map_or(usize::MAX, |l| l.saturating_add(1)));
    rows
}

impl State {
    fn user_by_email(&self, email: &str) -> Option<&UserRecord> {
        self.users.values().find(|u| u.email.as_str() == email)
    }

    fn member_at(&self, account_id: &AccountId, user_id: &UserId) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.account_id == account_id && m.user_id == user_id)
    }

    fn role_of(&self, user_id: &UserId, account_id: &AccountId) -> Option<Role> {
        self.member_at(account_id, user_id)
            .and_then(|at| self.members.get(at))
            .map(|m| m.role)
    }

    /// `INSERT … ON CONFLICT DO NOTHING` into memberships.
    fn add_membership_if_new(
        &mut self,
        account_id: &AccountId,
        user_id: &UserId,
        role: Role,
        now: Timestamp,
    ) {
        if self.member_at(account_id, user_id).is_none() {
            self.members.push(Member {
                account_id: account_id.to_owned(),
                user_id: user_id.to_owned(),
                role,
                since: now,
            });
        }
    }

    /// A confirmed user; `false` (nothing written) when the email has one (the unique index).
    fn insert_user(
        &mut self,
        id: &UserId,
        email: &EmailAddress,
        password_hash: Option<String>,
        now: Timestamp,
    ) -> bool {
        if self.user_by_email(email.as_str()).is_some() || self.users.contains_key(id) {
            return false;
        }
        self.users.insert(
            id.to_owned(),
            UserRecord {
                id: id.to_owned(),
                email: email.clone(),
                password_hash,
                email_confirmed_at: Some(now),
                failed_attempts: 0,
                locked_until: None,
                session_epoch: 0,
                created_at: now,
            },
        );
        true
    }

    /// A new account with its owner's membership and its first workspace.
    #[allow(clippy::too_many_arguments)]
    fn insert_account_with_owner(
        &mut self,
        account_id: &AccountId,
        name: &str,
        plan: &str,
        owner_user_id: &UserId,
        workspace_id: &WorkspaceId,
        workspace_name: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        if self.accounts.contains_key(account_id) {
            return Err(StoreError(format!("account {account_id} exists")));
        }
        if self.workspaces.iter().any(|w| w.id == workspace_id) {
            return Err(StoreError(format!("workspace {workspace_id} exists")));
        }
        if !self.users.contains_key(owner_user_id) {
            return Err(StoreError(format!("no user {owner_user_id}")));
        }
        self.accounts.insert(
            account_id.to_owned(),
            Account {
                id: account_id.to_owned(),
                name: name.to_owned(),
                plan: plan.to_owned(),
                created_at: now,
                require_second_factor: false,
            },
        );
        self.members.push(Member {
            account_id: account_id.to_owned(),
            user_id: owner_user_id.to_owned(),
            role: Role::Owner,
            since: now,
        });
        self.workspaces.push(Workspace {
            id: workspace_id.to_owned(),
            account_id: account_id.to_owned(),
            name: workspace_name.to_owned(),
            created_at: now,
        });
        Ok(())
    }

    fn delete_pending_for(&mut self, email: &EmailAddress) {
        self.pending_sign_ups.retain(|p| &p.email != email);
    }

    /// The verified account domains connection `connection_id` serves.
    fn verified_domains_of(&self, connection_id: &ConnectionId) -> Vec<&AccountDomain> {
        self.connection_domains
            .iter()
            .filter(|(c, _)| c == connection_id)
            .filter_map(|(_, d)| self.domains.iter().find(|ad| ad.id == d))
            .filter(|d| d.verified_at.is_some())
            .collect()
    }

    /// A stored connection with the domains it serves (by name).
    fn with_domains(&self, connection: &SsoConnection) -> SsoConnection {
        let mut domains: Vec<ServedDomain> = self
            .connection_domains
            .iter()
            .filter(|(c, _)| c == &connection.id)
            .filter_map(|(_, d)| self.domains.iter().find(|ad| ad.id == d))
            .map(|d| ServedDomain {
                domain: d.domain.clone(),
                verified: d.verified_at.is_some(),
            })
            .collect();
        domains.sort_by(|a, b| a.domain.cmp(&b.domain));
        SsoConnection {
            domains,
            ..connection.clone()
        }
    }

    /// Users a password sign-in would be refused by enforcing `connection_id` of
    /// `account_id`: an email on a verified domain it serves, and not an owner or admin of the
    /// account (`SSO_AFFECTED_USERS`).
    fn affected_by(&self, account_id: &AccountId, connection_id: &ConnectionId) -> Vec<UserId> {
        let domains = self.verified_domains_of(connection_id);
        self.users
            .values()
            .filter(|u| {
                domains
                    .iter()
                    .any(|d| on_domain(u.email.as_str(), &d.domain))
            })
            .filter(|u| !self.role_of(&u.id, account_id).is_some_and(can_administer))
            .map(|u| u.id.clone())
            .collect()
    }

    /// `END_PASSWORD_SESSIONS_IF_ENFORCED`: `user_id`'s password sessions end when an enforced
    /// connection of `account_id` serves their email's domain and they are not (any more) an
    /// owner or admin of it.
    fn end_password_sessions_if_enforced(&mut self, user_id: &UserId, account_id: &AccountId) {
        let refused = self
            .connections
            .iter()
            .filter(|c| c.account_id == account_id && c.enforced)
            .any(|c| {
                self.affected_by(account_id, &c.id)
                    .iter()
                    .any(|u| u == user_id)
            });
        if refused {
            self.end_sessions(|s| s.user_id == user_id && s.method == "password");
        }
    }

    /// Ends the sessions `which` picks; how many ended.
    fn end_sessions(&mut self, which: impl Fn(&FakeSession) -> bool) -> u64 {
        let before = self.sessions.len();
        self.sessions.retain(|s| !which(s));
        (before - self.sessions.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::audit::AuditFilter;
    use crate::domain::ids::InvitationId;
    use crate::domain::lockout::{GuessReservation, Hit, LockoutPolicy};
    use crate::domain::members::{Acceptor, MembershipChange, NewInvitation};
    use crate::ports::prelude::*;

    /// What lets a flow's rule be tested against one aggregate of this fake: a function that
    /// takes one aggregate is handed the `dyn Store` the app holds as is (trait upcasting).
    fn _one_aggregate_of(store: &dyn Store) -> &dyn MembershipStore {
        store
    }

    fn paging(limit: u32, after: Option<&str>, before: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
            ending_before: before.map(str::to_owned),
        }
    }

    #[test]
    fn pages_are_fetched_walking_away_from_the_cursor_as_the_sql_stores_do() {
        let ids = || vec!["b", "e", "a", "d", "c"];
        let of = |page: &PageRequest| page_of(ids(), page, |s| s);
        assert_eq!(of(&paging(2, None, None)), vec!["e", "d", "c"]);
        assert_eq!(of(&paging(2, Some("d"), None)), vec!["c", "b", "a"]);
        // Backwards: oldest first from just above the cursor, up to limit + 1.
        assert_eq!(of(&paging(1, None, Some("b"))), vec!["c", "d"]);
        assert_eq!(of(&paging(5, None, Some("c"))), vec!["d", "e"]);
        assert!(of(&paging(5, None, Some("e"))).is_empty());
    }

    async fn log_actions(store: &MemoryStore, page: PageRequest) -> Vec<String> {
        let entries = store
            .account_log(&"acc".into(), &AuditFilter::default(), &page)
            .await
            .unwrap();
        entries.into_iter().map(|e| e.event.action).collect()
    }

    #[tokio::test]
    async fn the_log_is_fetched_both_ways_from_its_cursor() {
        let store = MemoryStore::new();
        let acc: AccountId = "acc".into();
        for action in ["one.x", "two.x", "three.x", "four.x"] {
            store
                .record_audit(AuditEvent {
                    action: action.into(),
                    ..event()
                })
                .await
                .unwrap();
        }
        let all = store
            .account_log(&acc, &AuditFilter::default(), &paging(10, None, None))
            .await
            .unwrap();
        let ids: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            log_actions(&store, paging(1, Some(&ids[1]), None)).await,
            vec!["two.x", "one.x"]
        );
        assert_eq!(
            log_actions(&store, paging(1, None, Some(&ids[3]))).await,
            vec!["two.x", "three.x"]
        );
        assert_eq!(
            log_actions(&store, paging(5, None, Some(&ids[1]))).await,
            vec!["four.x"]
        );
    }

    #[tokio::test]
    async fn the_tally_counts_what_is_held() {
        let store = MemoryStore::new();
        assert_eq!(store.tally().await.unwrap(), Default::default());
        let (account, ada) = (AccountId::new(), UserId::new());
        store.add_account(&account, "Acme");
        store.add_user(&ada, "ada@example.com", None);
        store.add_user(&UserId::new(), "bob@example.com", None);
        store.add_member(&account, &ada, "ada@example.com", Role::Owner);
        let tally = store.tally().await.unwrap();
        assert_eq!(
            (
                tally.accounts,
                tally.users,
                tally.memberships,
                tally.workspaces
            ),
            (1, 2, 1, 0)
        );
    }

    fn event() -> AuditEvent {
        AuditEvent {
            account_id: Some("acc".into()),
            actor_user_id: Some("owner".into()),
            action: "test".into(),
            detail: None,
            at: Timestamp(0),
        }
    }

    fn invitation(id: &str, email: &str, token: &str, now: i64) -> NewInvitation {
        NewInvitation {
            id: id.into(),
            account_id: "acc".into(),
            email: EmailAddress::parse(email).unwrap(),
            role: Role::Member,
            token_hash: token.into(),
            invited_by: Some("owner".into()),
            now: Timestamp(now),
            expires_at: Timestamp(now + 1_000),
        }
    }

    #[tokio::test]
    async fn the_last_owner_stays_until_there_is_another() {
        let store = MemoryStore::new();
        store.add_account(&"acc".into(), "Acme");
        store.add_member(
            &"acc".into(),
            &"owner".into(),
            "owner@example.com",
            Role::Owner,
        );
        store.add_member(
            &"acc".into(),
            &"admin".into(),
            "admin@example.com",
            Role::Admin,
        );
        let members: &dyn MembershipStore = &store;
        let acc: AccountId = "acc".into();
        let user = |id: &str| -> &'static UserId { Box::leak(Box::new(id.into())) };
        let change = |id: &'static str, role| members.change_role(&acc, user(id), role, event());
        assert_eq!(
            change("owner", Role::Admin).await.unwrap(),
            MembershipChange::LastOwner
        );
        let remove = |id: &'static str| members.remove_member(&acc, user(id), true, event());
        assert_eq!(remove("owner").await.unwrap(), MembershipChange::LastOwner);
        assert_eq!(
            remove("nobody").await.unwrap(),
            MembershipChange::NotAMember
        );
        assert_eq!(
            change("admin", Role::Owner).await.unwrap(),
            MembershipChange::Done
        );
        assert_eq!(remove("owner").await.unwrap(), MembershipChange::Done);
        assert_eq!(
            members
                .role_in(&"admin".into(), &"acc".into())
                .await
                .unwrap(),
            Some(Role::Owner)
        );
        assert_eq!(
            members
                .role_in(&"owner".into(), &"acc".into())
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_new_invitation_replaces_the_pending_one_and_is_used_once() {
        let store = MemoryStore::new();
        store.add_account(&"acc".into(), "Acme");
        store.add_member(
            &"acc".into(),
            &"owner".into(),
            "owner@example.com",
            Role::Owner,
        );
        for (id, token, at) in [("inv_1", "t1", 10), ("inv_2", "t2", 20)] {
            store
                .create_invitation(invitation(id, "new@example.com", token, at), event())
                .await
                .unwrap();
        }
        let now = Timestamp(30);
        let pending = store.invitations(&"acc".into(), now).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id.as_str(), "inv_2");
        assert!(store
            .invitation_by_token("t1", now)
            .await
            .unwrap()
            .is_none());

        let joiner = Acceptor::New {
            user_id: "new".into(),
            password_hash: "$argon2id$…".into(),
        };
        let accepted = store
            .accept_invitation("t2", joiner, now, event())
            .await
            .unwrap();
        assert_eq!(accepted.map(|i| i.account_name), Some("Acme".into()));
        assert_eq!(
            store.role_in(&"new".into(), &"acc".into()).await.unwrap(),
            Some(Role::Member)
        );
        let again = Acceptor::Existing {
            user_id: "new".into(),
        };
        assert!(store
            .accept_invitation("t2", again, now, event())
            .await
            .unwrap()
            .is_none());
        assert!(!store
            .revoke_invitation(&"acc".into(), &"inv_2".into(), now, event())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn expired_invitations_are_not_live() {
        let store = MemoryStore::new();
        store.add_account(&"acc".into(), "Acme");
        store
            .create_invitation(invitation("inv_1", "late@example.com", "t1", 0), event())
            .await
            .unwrap();
        let (acc, inv): (AccountId, InvitationId) = ("acc".into(), "inv_1".into());
        let at = |ms| store.invitation(&acc, &inv, Timestamp(ms));
        assert!(at(999).await.unwrap().is_some());
        assert!(at(1_000).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_guess_counter_locks_at_the_maximum_and_an_expired_lock_starts_over() {
        let store = MemoryStore::new();
        store.add_user(&"usr_1".into(), "a@example.com", None);
        let policy = LockoutPolicy::default();
        let now = Timestamp(1_000_000);
        for n in 1..=5 {
            assert_eq!(
                store
                    .reserve_guess(&"usr_1".into(), now, &policy)
                    .await
                    .unwrap(),
                GuessReservation::Granted { attempt: n }
            );
        }
        assert_eq!(
            store
                .reserve_guess(&"usr_1".into(), now, &policy)
                .await
                .unwrap(),
            GuessReservation::Refused
        );
        let user = store.user_by_id(&"usr_1".into()).await.unwrap().unwrap();
        assert_eq!(user.locked_until, Some(policy.lock_until(now)));
        let later = policy.lock_until(now);
        assert_eq!(
            store
                .reserve_guess(&"usr_1".into(), later, &policy)
                .await
                .unwrap(),
            GuessReservation::Granted { attempt: 1 }
        );
        assert_eq!(
            store
                .reserve_guess(&"nobody".into(), now, &policy)
                .await
                .unwrap(),
            GuessReservation::Refused
        );
    }

    #[tokio::test]
    async fn rate_counters_use_fixed_windows_and_give_hits_back() {
        let store = MemoryStore::new();
        let window = Duration::from_secs(60);
        let t0 = Timestamp(1_000_000);
        let counted = Hit::Counted { window_start: t0 };
        assert_eq!(store.count_hit("k", t0, window, 2).await.unwrap(), counted);
        let t1 = t0.plus(Duration::from_secs(30));
        assert_eq!(store.count_hit("k", t1, window, 2).await.unwrap(), counted);
        assert_eq!(
            store.count_hit("k", t1, window, 2).await.unwrap(),
            Hit::Over { window_start: t0 }
        );
        store.refund_hit("k", t0).await.unwrap();
        assert_eq!(store.count_hit("k", t1, window, 2).await.unwrap(), counted);
        // A refund for another window changes nothing.
        store.refund_hit("k", t1).await.unwrap();
        assert_eq!(store.hits("k"), 2);
        let t2 = t0.plus(window);
        assert_eq!(
            store.count_hit("k", t2, window, 2).await.unwrap(),
            Hit::Counted { window_start: t2 }
        );
        assert_eq!(store.hits("k"), 1);
    }

    #[tokio::test]
    async fn a_mail_slot_is_taken_once_per_interval() {
        let store = MemoryStore::new();
        let minute = Duration::from_secs(60);
        let t0 = Timestamp(1_000_000);
        assert!(store.take_mail_slot("s", t0, minute).await.unwrap());
        assert!(!store
            .take_mail_slot("s", t0.plus(Duration::from_secs(59)), minute)
            .await
            .unwrap());
        assert!(store.take_mail_slot("other", t0, minute).await.unwrap());
        assert!(store
            .take_mail_slot("s", t0.plus(minute), minute)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_broken_store_answers_errors() {
        let store = MemoryStore::new();
        store.set_broken(true);
        assert!(store.ping().await.is_err());
        store.set_broken(false);
        assert!(store.ping().await.is_ok());
    }

    #[tokio::test]
    async fn pruning_drops_old_counters_and_expired_tokens_and_sign_ups() {
        let store = MemoryStore::new();
        store.add_user(&"usr_1".into(), "a@example.com", None);
        let t0 = Timestamp(1_000_000);
        let hour = Duration::from_secs(3600);
        store.count_hit("old", t0, hour, 10).await.unwrap();
        // Pruned when its window started at least `counter_age` ago.
        let recent = t0.plus(Duration::from_secs(90 * 60));
        store.count_hit("new", recent, hour, 10).await.unwrap();
        let purpose = TokenPurpose::Reset;
        store
            .insert_token(&"usr_1".into(), purpose, "gone", t0.plus(hour), t0)
            .await
            .unwrap();
        store
            .insert_token(&"usr_1".into(), purpose, "kept", t0.plus(hour * 3), t0)
            .await
            .unwrap();
        store
            .put_pending_sign_up(crate::domain::users::NewPendingSignUp {
                email: EmailAddress::parse("b@example.com").unwrap(),
                token_hash: "p".into(),
                expires_at: t0.plus(hour),
                now: t0,
            })
            .await
            .unwrap();
        store.prune(t0.plus(hour * 2), hour).await.unwrap();
        assert_eq!((store.hits("old"), store.hits("new")), (0, 1));
        assert_eq!(store.tokens_of(&"usr_1".into(), purpose, t0), (1, 1));
        assert_eq!(store.pending_sign_ups(), 0);
    }
}
