//! In-memory stores for unit tests, one aggregate at a time: with the store split by
//! aggregate, a rule that needs only memberships (with the accounts they are in, and the
//! audit log) can be tested against [`MemoryMemberships`] instead of a database.
//!
//! It keeps the contract the SQL adapter keeps (see `src/store/body/memberships.rs` and
//! `accounts.rs`): an account never loses its last owner, a new account starts with its
//! owner, a new invitation for an email revokes the pending one, only a live invitation (not
//! accepted, revoked or expired) can be found or accepted, and a membership an invitation
//! would add twice is kept as it was.
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{AccountStore, AuditStore, MembershipStore, StoreError, StoreResult};
use crate::domain::accounts::{Account, NewAccount};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
use crate::domain::roles::{takes_an_owner_away, Role};

/// Accounts, memberships, invitations and audit events, in memory.
#[derive(Default)]
pub struct MemoryMemberships {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    accounts: BTreeMap<String, Account>,
    /// User id → email (the members list shows emails).
    users: BTreeMap<String, String>,
    members: Vec<Member>,
    invitations: Vec<StoredInvitation>,
    audit: Vec<AuditEvent>,
    /// (account, user) whose sessions in that account a removal ended.
    sessions_ended: Vec<(String, String)>,
}

struct Member {
    account_id: String,
    user_id: String,
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

impl MemoryMemberships {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError("the in-memory store's lock is poisoned".into()))
    }

    /// Adds an account (test setup).
    pub fn add_account(&self, id: &str, name: &str) {
        if let Ok(mut state) = self.state() {
            state.accounts.insert(
                id.to_owned(),
                Account {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    plan: "free".into(),
                    created_at: Timestamp(0),
                },
            );
        }
    }

    /// Adds a user with `role` in `account_id` (test setup); joined after those added before.
    pub fn add_member(&self, account_id: &str, user_id: &str, email: &str, role: Role) {
        if let Ok(mut state) = self.state() {
            state.users.insert(user_id.to_owned(), email.to_owned());
            let since = Timestamp(i64::try_from(state.members.len()).unwrap_or(i64::MAX));
            state.members.push(Member {
                account_id: account_id.to_owned(),
                user_id: user_id.to_owned(),
                role,
                since,
            });
        }
    }

    /// Every audit event written so far, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.state().map(|s| s.audit.clone()).unwrap_or_default()
    }

    /// (account, user) whose sessions in that account removals ended, oldest first.
    pub fn sessions_ended(&self) -> Vec<(String, String)> {
        self.state()
            .map(|s| s.sessions_ended.clone())
            .unwrap_or_default()
    }
}

impl State {
    fn member(&self, account_id: &str, user_id: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.account_id == account_id && m.user_id == user_id)
    }

    /// The rule of the SQL adapter's `change_membership`: no change that leaves no owner.
    fn change(
        &mut self,
        account_id: &str,
        user_id: &str,
        new_role: Option<Role>,
    ) -> MembershipChange {
        let owners = self
            .members
            .iter()
            .filter(|m| m.account_id == account_id && m.role == Role::Owner)
            .count();
        let Some(at) = self.member(account_id, user_id) else {
            return MembershipChange::NotAMember;
        };
        let Some(member) = self.members.get_mut(at) else {
            return MembershipChange::NotAMember;
        };
        if takes_an_owner_away(member.role, new_role) && owners <= 1 {
            return MembershipChange::LastOwner;
        }
        match new_role {
            Some(role) => member.role = role,
            None => {
                self.members.remove(at);
            }
        }
        MembershipChange::Done
    }

    /// Live invitations matching `keep`, newest id first (the SQL adapter's order).
    fn live_invitations(
        &self,
        now: Timestamp,
        keep: impl Fn(&StoredInvitation) -> bool,
    ) -> Vec<Invitation> {
        let mut found: Vec<Invitation> = self
            .invitations
            .iter()
            .filter(|i| i.live(now) && keep(i))
            .map(|i| i.invitation.clone())
            .collect();
        found.sort_by(|a, b| b.id.cmp(&a.id));
        found
    }
}

#[async_trait]
impl AccountStore for MemoryMemberships {
    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
        Ok(self.state()?.accounts.get(account_id).cloned())
    }

    async fn create_account(&self, new: NewAccount, audit: AuditEvent) -> StoreResult<()> {
        let mut state = self.state()?;
        if state.accounts.contains_key(&new.account_id) {
            return Err(StoreError(format!("account {} exists", new.account_id)));
        }
        state.accounts.insert(
            new.account_id.clone(),
            Account {
                id: new.account_id.clone(),
                name: new.name,
                plan: new.plan,
                created_at: new.now,
            },
        );
        state.members.push(Member {
            account_id: new.account_id,
            user_id: new.owner_user_id,
            role: Role::Owner,
            since: new.now,
        });
        state.audit.push(audit);
        Ok(())
    }

    async fn set_account_plan(
        &self,
        account_id: &str,
        plan: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<String>> {
        let mut state = self.state()?;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(None);
        };
        let previous = std::mem::replace(&mut account.plan, plan.to_owned());
        state.audit.push(audit);
        Ok(Some(previous))
    }
}

#[async_trait]
impl MembershipStore for MemoryMemberships {
    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let state = self.state()?;
        let mut mine: Vec<&Member> = state
            .members
            .iter()
            .filter(|m| m.user_id == user_id)
            .collect();
        mine.sort_by(|a, b| (a.since, &a.account_id).cmp(&(b.since, &b.account_id)));
        Ok(mine
            .into_iter()
            .filter_map(|m| {
                let account = state.accounts.get(&m.account_id)?;
                Some(Membership {
                    account_id: m.account_id.clone(),
                    account_name: account.name.clone(),
                    role: m.role,
                })
            })
            .collect())
    }

    async fn role_in(&self, user_id: &str, account_id: &str) -> StoreResult<Option<Role>> {
        let state = self.state()?;
        Ok(state
            .member(account_id, user_id)
            .and_then(|at| state.members.get(at))
            .map(|m| m.role))
    }

    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
        let state = self.state()?;
        let mut members: Vec<MemberRecord> = state
            .members
            .iter()
            .filter(|m| m.account_id == account_id)
            .map(|m| MemberRecord {
                user_id: m.user_id.clone(),
                email: state.users.get(&m.user_id).cloned().unwrap_or_default(),
                role: m.role,
                since: m.since,
            })
            .collect();
        members.sort_by(|a, b| (a.since, &a.email).cmp(&(b.since, &b.email)));
        Ok(members)
    }

    async fn change_role(
        &self,
        account_id: &str,
        user_id: &str,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        let mut state = self.state()?;
        let before = state
            .member(account_id, user_id)
            .and_then(|at| state.members.get(at))
            .map(|m| m.role);
        let change = state.change(account_id, user_id, Some(role));
        if change == MembershipChange::Done && before != Some(role) {
            state.audit.push(audit);
        }
        Ok(change)
    }

    async fn remove_member(
        &self,
        account_id: &str,
        user_id: &str,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        let mut state = self.state()?;
        let change = state.change(account_id, user_id, None);
        if change == MembershipChange::Done {
            state.audit.push(audit);
            if end_sessions {
                state
                    .sessions_ended
                    .push((account_id.to_owned(), user_id.to_owned()));
            }
        }
        Ok(change)
    }

    async fn create_invitation(&self, new: NewInvitation, audit: AuditEvent) -> StoreResult<()> {
        let mut state = self.state()?;
        let account_name = state
            .accounts
            .get(&new.account_id)
            .map(|a| a.name.clone())
            .ok_or_else(|| StoreError(format!("no account {}", new.account_id)))?;
        for old in &mut state.invitations {
            if old.invitation.account_id == new.account_id
                && old.invitation.email == new.email
                && old.pending()
            {
                old.revoked_at = Some(new.now);
            }
        }
        state.invitations.push(StoredInvitation {
            invitation: Invitation {
                id: new.id,
                account_id: new.account_id,
                account_name,
                email: new.email,
                role: new.role,
                invited_by: new.invited_by,
                created_at: new.now,
                expires_at: new.expires_at,
            },
            token_hash: new.token_hash,
            accepted_at: None,
            revoked_at: None,
        });
        state.audit.push(audit);
        Ok(())
    }

    async fn invitations(&self, account_id: &str, now: Timestamp) -> StoreResult<Vec<Invitation>> {
        Ok(self
            .state()?
            .live_invitations(now, |i| i.invitation.account_id == account_id))
    }

    async fn invitation(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self
            .state()?
            .live_invitations(now, |i| {
                i.invitation.account_id == account_id && i.invitation.id == id
            })
            .pop())
    }

    async fn invitation_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self
            .state()?
            .live_invitations(now, |i| i.token_hash == token_hash)
            .pop())
    }

    async fn pending_invitation(
        &self,
        account_id: &str,
        email: &EmailAddress,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self
            .state()?
            .live_invitations(now, |i| {
                i.invitation.account_id == account_id && &i.invitation.email == email
            })
            .into_iter()
            .next())
    }

    async fn revoke_invitation(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.state()?;
        let pending = state.invitations.iter_mut().find(|i| {
            i.invitation.account_id == account_id && i.invitation.id == id && i.pending()
        });
        let Some(invitation) = pending else {
            return Ok(false);
        };
        invitation.revoked_at = Some(now);
        state.audit.push(audit);
        Ok(true)
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: Acceptor,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Invitation>> {
        let mut state = self.state()?;
        let Some(stored) = state
            .invitations
            .iter_mut()
            .find(|i| i.token_hash == token_hash && i.live(now))
        else {
            return Ok(None);
        };
        stored.accepted_at = Some(now);
        let invitation = stored.invitation.clone();
        let user_id = match acceptor {
            Acceptor::Existing { user_id } => user_id,
            Acceptor::New { user_id, .. } => {
                let email = invitation.email.as_str();
                if state.users.values().any(|e| e == email) {
                    return Err(StoreError(format!("a user with {email} exists")));
                }
                state.users.insert(user_id.clone(), email.to_owned());
                user_id
            }
        };
        if state.member(&invitation.account_id, &user_id).is_none() {
            state.members.push(Member {
                account_id: invitation.account_id.clone(),
                user_id,
                role: invitation.role,
                since: now,
            });
        }
        state.audit.push(audit);
        Ok(Some(invitation))
    }
}

#[async_trait]
impl AuditStore for MemoryMemberships {
    async fn record_audit(&self, event: AuditEvent) -> StoreResult<()> {
        self.state()?.audit.push(event);
        Ok(())
    }

    async fn audit_events(&self, account_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let state = self.state()?;
        let mut events: Vec<AuditEvent> = state
            .audit
            .iter()
            .filter(|e| e.account_id.as_deref() == Some(account_id))
            .cloned()
            .collect();
        events.reverse();
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::email::EmailAddress;

    /// What lets a flow's rule be tested against this fake alone: a function that takes one
    /// aggregate is handed the `dyn Store` the app holds as is (trait upcasting).
    fn _one_aggregate_of(store: &dyn crate::ports::Store) -> &dyn MembershipStore {
        store
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
        let store = MemoryMemberships::new();
        store.add_account("acc", "Acme");
        store.add_member("acc", "owner", "owner@example.com", Role::Owner);
        store.add_member("acc", "admin", "admin@example.com", Role::Admin);
        // Through the trait object the flows hold.
        let members: &dyn MembershipStore = &store;

        assert_eq!(
            members
                .change_role("acc", "owner", Role::Admin, event())
                .await
                .unwrap(),
            MembershipChange::LastOwner
        );
        assert_eq!(
            members
                .remove_member("acc", "owner", true, event())
                .await
                .unwrap(),
            MembershipChange::LastOwner
        );
        assert_eq!(
            members
                .remove_member("acc", "nobody", true, event())
                .await
                .unwrap(),
            MembershipChange::NotAMember
        );
        assert_eq!(
            members
                .change_role("acc", "admin", Role::Owner, event())
                .await
                .unwrap(),
            MembershipChange::Done
        );
        assert_eq!(
            members
                .remove_member("acc", "owner", true, event())
                .await
                .unwrap(),
            MembershipChange::Done
        );
        assert_eq!(
            members.role_in("admin", "acc").await.unwrap(),
            Some(Role::Owner)
        );
        assert_eq!(members.role_in("owner", "acc").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_new_invitation_replaces_the_pending_one_and_is_used_once() {
        let store = MemoryMemberships::new();
        store.add_account("acc", "Acme");
        store.add_member("acc", "owner", "owner@example.com", Role::Owner);
        store
            .create_invitation(invitation("inv_1", "new@example.com", "t1", 10), event())
            .await
            .unwrap();
        store
            .create_invitation(invitation("inv_2", "new@example.com", "t2", 20), event())
            .await
            .unwrap();
        let now = Timestamp(30);
        let pending = store.invitations("acc", now).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, "inv_2");
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
            store.role_in("new", "acc").await.unwrap(),
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
            .revoke_invitation("acc", "inv_2", now, event())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn expired_invitations_are_not_live() {
        let store = MemoryMemberships::new();
        store.add_account("acc", "Acme");
        store
            .create_invitation(invitation("inv_1", "late@example.com", "t1", 0), event())
            .await
            .unwrap();
        assert!(store
            .invitation("acc", "inv_1", Timestamp(999))
            .await
            .unwrap()
            .is_some());
        assert!(store
            .invitation("acc", "inv_1", Timestamp(1_000))
            .await
            .unwrap()
            .is_none());
    }
}
