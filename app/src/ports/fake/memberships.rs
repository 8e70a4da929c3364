//! [`MembershipStore`] in memory (`src/store/body/memberships.rs`).
use async_trait::async_trait;

use super::{MemoryStore, State, StoredInvitation};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, InvitationId, UserId};
use crate::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
use crate::domain::roles::{takes_an_owner_away, Role};
use crate::ports::{MembershipStore, StoreError, StoreResult};

impl State {
    /// `change_membership`: a role change (or, with `None`, a removal) unless it leaves the
    /// account without an owner; then the password sessions enforcement refuses end, with
    /// `end_sessions` the person's sessions in the account end, and the audit event is
    /// written when something changed.
    fn change_membership(
        &mut self,
        account_id: &AccountId,
        user_id: &UserId,
        new_role: Option<Role>,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> MembershipChange {
        let Some(at) = self.member_at(account_id, user_id) else {
            return MembershipChange::NotAMember;
        };
        let Some(current) = self.members.get(at).map(|m| m.role) else {
            return MembershipChange::NotAMember;
        };
        if takes_an_owner_away(current, new_role) {
            let owners = self
                .members
                .iter()
                .filter(|m| m.account_id == account_id && m.role == Role::Owner)
                .count();
            if owners <= 1 {
                return MembershipChange::LastOwner;
            }
        }
        match new_role {
            Some(role) => {
                if let Some(member) = self.members.get_mut(at) {
                    member.role = role;
                }
            }
            None => {
                self.members.remove(at);
            }
        }
        self.end_password_sessions_if_enforced(user_id, account_id);
        if end_sessions {
            self.end_sessions(|s| {
                s.user_id == user_id && s.account_id.as_ref() == Some(account_id)
            });
        }
        if new_role != Some(current) {
            self.audit.push(audit);
        }
        MembershipChange::Done
    }

    /// Live invitations matching `keep`, newest id first, with their account's name now.
    fn live_invitations(
        &self,
        now: Timestamp,
        keep: impl Fn(&StoredInvitation) -> bool,
    ) -> Vec<Invitation> {
        let mut found: Vec<Invitation> = self
            .invitations
            .iter()
            .filter(|i| i.live(now) && keep(i))
            .filter_map(|i| {
                let account = self.accounts.get(&i.invitation.account_id)?;
                Some(Invitation {
                    account_name: account.name.clone(),
                    ..i.invitation.clone()
                })
            })
            .collect();
        found.sort_by(|a, b| b.id.cmp(&a.id));
        found
    }
}

#[async_trait]
impl MembershipStore for MemoryStore {
    async fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>> {
        let state = self.lock()?;
        let mut mine: Vec<_> = state
            .members
            .iter()
            .filter(|m| m.user_id == user_id)
            .filter_map(|m| {
                let account = state.accounts.get(&m.account_id)?;
                Some((
                    m.since,
                    account.id.clone(),
                    account.name.clone(),
                    m.role,
                    account.require_second_factor,
                ))
            })
            .collect();
        mine.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(mine
            .into_iter()
            .map(
                |(_, account_id, account_name, role, require_second_factor)| Membership {
                    account_id,
                    account_name,
                    role,
                    require_second_factor,
                },
            )
            .collect())
    }

    async fn role_in(&self, user_id: &UserId, account_id: &AccountId) -> StoreResult<Option<Role>> {
        Ok(self.lock()?.role_of(user_id, account_id))
    }

    async fn members(&self, account_id: &AccountId) -> StoreResult<Vec<MemberRecord>> {
        let state = self.lock()?;
        let mut members: Vec<MemberRecord> = state
            .members
            .iter()
            .filter(|m| m.account_id == account_id)
            .filter_map(|m| {
                Some(MemberRecord {
                    user_id: m.user_id.clone(),
                    email: state.users.get(&m.user_id)?.email.to_string(),
                    role: m.role,
                    since: m.since,
                })
            })
            .collect();
        members.sort_by(|a, b| (a.since, &a.email).cmp(&(b.since, &b.email)));
        Ok(members)
    }

    async fn change_role(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        Ok(self
            .lock()?
            .change_membership(account_id, user_id, Some(role), false, audit))
    }

    async fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        Ok(self
            .lock()?
            .change_membership(account_id, user_id, None, end_sessions, audit))
    }

    async fn create_invitation(&self, new: NewInvitation, audit: AuditEvent) -> StoreResult<()> {
        let mut state = self.lock()?;
        let Some(account) = state.accounts.get(&new.account_id) else {
            return Err(StoreError(format!("no account {}", new.account_id)));
        };
        let account_name = account.name.clone();
        if state
            .invitations
            .iter()
            .any(|i| i.token_hash == new.token_hash)
        {
            return Err(StoreError("invitation token hash exists".into()));
        }
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

    async fn invitations(
        &self,
        account_id: &AccountId,
        now: Timestamp,
    ) -> StoreResult<Vec<Invitation>> {
        Ok(self
            .lock()?
            .live_invitations(now, |i| i.invitation.account_id == account_id))
    }

    async fn invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self
            .lock()?
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
            .lock()?
            .live_invitations(now, |i| i.token_hash == token_hash)
            .pop())
    }

    async fn pending_invitation(
        &self,
        account_id: &AccountId,
        email: &EmailAddress,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self
            .lock()?
            .live_invitations(now, |i| {
                i.invitation.account_id == account_id && &i.invitation.email == email
            })
            .into_iter()
            .next())
    }

    async fn revoke_invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(invitation) = state.invitations.iter_mut().find(|i| {
            i.invitation.account_id == account_id && i.invitation.id == id && i.pending()
        }) else {
            return Ok(false);
        };
        invitation.revoked_at = Some(now);
        state.audit.push(audit);
        Ok(true)
    }

    /// Uses a live invitation once and adds the membership (kept as it was when the person is
    /// a member already); a new user is created confirmed, and a pending sign-up of the
    /// address dies (the invitation proved it).
    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: Acceptor,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Invitation>> {
        let mut state = self.lock()?;
        let Some(invitation) = state
            .live_invitations(now, |i| i.token_hash == token_hash)
            .pop()
        else {
            return Ok(None);
        };
        let user_id = match acceptor {
            Acceptor::Existing { user_id } => user_id,
            Acceptor::New {
                user_id,
                password_hash,
            } => {
                if !state.insert_user(&user_id, &invitation.email, Some(password_hash), now) {
                    return Err(StoreError(format!(
                        "a user with {} exists",
                        invitation.email
                    )));
                }
                state.delete_pending_for(&invitation.email);
                user_id
            }
        };
        if let Some(stored) = state
            .invitations
            .iter_mut()
            .find(|i| i.token_hash == token_hash)
        {
            stored.accepted_at = Some(now);
        }
        state.add_membership_if_new(&invitation.account_id, &user_id, invitation.role, now);
        state.audit.push(audit);
        Ok(Some(invitation))
    }
}
