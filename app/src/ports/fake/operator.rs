//! [`OperatorStore`] in memory (`src/store/body/operator.rs`).
use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::domain::accounts::Account;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, UserId};
use crate::domain::operator::{
    AuditEntry, AuditQuery, EmailSet, Erased, Erasure, OwnerAdded, UserFilter, UserListing,
};
use crate::domain::roles::Role;
use crate::ports::{OperatorStore, StoreResult};

impl State {
    /// An account and everything under it, and the sessions in it.
    fn delete_account(&mut self, account_id: &AccountId) -> bool {
        if self.accounts.remove(account_id).is_none() {
            return false;
        }
        let here = |id: &AccountId| id == account_id;
        self.members.retain(|m| !here(&m.account_id));
        self.invitations.retain(|i| !here(&i.invitation.account_id));
        self.workspaces.retain(|w| !here(&w.account_id));
        self.records.retain(|r| !here(&r.account_id));
        self.api_keys.retain(|k| !here(&k.record.account_id));
        let connections: Vec<_> = self
            .connections
            .iter()
            .filter(|c| here(&c.account_id))
            .map(|c| c.id.clone())
            .collect();
        self.connections.retain(|c| !here(&c.account_id));
        self.connection_domains
            .retain(|(c, _)| !connections.contains(c));
        self.identities
            .retain(|i| !connections.contains(&i.connection_id));
        let domains: Vec<_> = self
            .domains
            .iter()
            .filter(|d| here(&d.account_id))
            .map(|d| d.id.clone())
            .collect();
        self.domains.retain(|d| !here(&d.account_id));
        self.connection_domains
            .retain(|(_, d)| !domains.contains(d));
        self.audit
            .retain(|e| e.account_id.as_ref().is_none_or(|id| !here(id)));
        self.end_sessions(|s| s.account_id.as_ref().is_some_and(here));
        true
    }
}

#[async_trait]
impl OperatorStore for MemoryStore {
    async fn find_users(
        &self,
        filter: &UserFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<UserListing>> {
        let state = self.lock()?;
        let mut users: Vec<UserListing> = state
            .users
            .values()
            .map(|u| UserListing {
                id: u.id.clone(),
                email: u.email.clone(),
                created_at: u.created_at,
                locked_until: u.locked_until,
                disabled_at: state.disabled.get(&u.id).copied(),
            })
            .filter(|u| filter.admits(u, now))
            .collect();
        users.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(users)
    }

    async fn all_accounts(&self) -> StoreResult<Vec<Account>> {
        let state = self.lock()?;
        let mut accounts: Vec<Account> = state.accounts.values().cloned().collect();
        accounts.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(accounts)
    }

    async fn user_disabled_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>> {
        Ok(self.lock()?.disabled.get(user_id).copied())
    }

    async fn last_sign_in_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>> {
        let state = self.lock()?;
        let devices = state
            .devices
            .iter()
            .filter(|((user, _, _), _)| user == user_id)
            .map(|(_, seen)| *seen);
        let identities = state
            .identities
            .iter()
            .filter(|i| i.user_id == *user_id)
            .map(|i| i.last_sign_in_at);
        Ok(devices.chain(identities).max())
    }

    async fn set_user_disabled(
        &self,
        user_id: &UserId,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if !state.users.contains_key(user_id)
            || state.disabled.contains_key(user_id) == disabled_at.is_some()
        {
            return Ok(false);
        }
        match disabled_at {
            Some(at) => {
                state.disabled.insert(user_id.clone(), at);
                if let Some(user) = state.users.get_mut(user_id) {
                    user.session_epoch += 1;
                }
                state.end_sessions(|s| s.user_id == *user_id);
            }
            None => {
                state.disabled.remove(user_id);
            }
        }
        state.audit.push(audit);
        Ok(true)
    }

    async fn sign_out_everywhere(
        &self,
        user_id: &UserId,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else {
            return Ok(None);
        };
        user.session_epoch += 1;
        let ended = state.end_sessions(|s| s.user_id == *user_id);
        state.audit.push(audit);
        Ok(Some(ended))
    }

    async fn set_user_email(
        &self,
        user_id: &UserId,
        email: &EmailAddress,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailSet> {
        let mut state = self.lock()?;
        let Some(current) = state.users.get(user_id).map(|u| u.email.clone()) else {
            return Ok(EmailSet::NoUser);
        };
        if current == *email {
            return Ok(EmailSet::Unchanged);
        }
        if state.users.values().any(|u| u.email == *email) {
            return Ok(EmailSet::Taken);
        }
        if let Some(user) = state.users.get_mut(user_id) {
            user.email = email.clone();
            user.email_confirmed_at = user.email_confirmed_at.or(Some(now));
        }
        state
            .email_changes
            .retain(|(_, user, _, _)| user != user_id);
        state.audit.push(audit);
        Ok(EmailSet::Set)
    }

    async fn add_owner(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<OwnerAdded> {
        let mut state = self.lock()?;
        if !state.accounts.contains_key(account_id) {
            return Ok(OwnerAdded::NoAccount);
        }
        let member = state
            .members
            .iter_mut()
            .find(|m| m.account_id == *account_id && m.user_id == *user_id);
        let added = match member {
            Some(m) if m.role == Role::Owner => return Ok(OwnerAdded::AlreadyOwner),
            Some(m) => {
                m.role = Role::Owner;
                OwnerAdded::Promoted
            }
            None => {
                state.members.push(super::Member {
                    account_id: account_id.clone(),
                    user_id: user_id.clone(),
                    role: Role::Owner,
                    since: now,
                });
                OwnerAdded::Added
            }
        };
        state.audit.push(audit);
        Ok(added)
    }

    async fn transfer_account(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>> {
        let mut state = self.lock()?;
        if !state.accounts.contains_key(account_id) {
            return Ok(None);
        }
        let mut demoted = 0;
        let mut found = false;
        for m in state
            .members
            .iter_mut()
            .filter(|m| m.account_id == *account_id)
        {
            if m.user_id == *user_id {
                m.role = Role::Owner;
                found = true;
            } else if m.role == Role::Owner {
                m.role = Role::Admin;
                demoted += 1;
            }
        }
        if !found {
            state.members.push(super::Member {
                account_id: account_id.clone(),
                user_id: user_id.clone(),
                role: Role::Owner,
                since: now,
            });
        }
        state.audit.push(audit);
        Ok(Some(demoted))
    }

    async fn delete_account(&self, account_id: &AccountId, audit: AuditEvent) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if !state.delete_account(account_id) {
            return Ok(false);
        }
        state.audit.push(audit);
        Ok(true)
    }

    async fn audit_events_by(&self, user_id: &UserId) -> StoreResult<Vec<AuditEvent>> {
        let state = self.lock()?;
        Ok(state
            .audit
            .iter()
            .filter(|e| e.actor_user_id.as_ref() == Some(user_id))
            .cloned()
            .collect())
    }

    async fn erase_user(&self, erasure: &Erasure, audit: AuditEvent) -> StoreResult<Erased> {
        let mut state = self.lock()?;
        let user_id = &erasure.user_id;
        if !state.users.contains_key(user_id) {
            return Ok(Erased::NoUser);
        }
        // Checked before the first change, as the transaction's rollback leaves nothing.
        let orphaned = state
            .members
            .iter()
            .filter(|m| m.user_id == *user_id && m.role == Role::Owner)
            .filter(|m| !erasure.delete_accounts.contains(&m.account_id))
            .any(|mine| {
                !state.members.iter().any(|m| {
                    m.account_id == mine.account_id
                        && m.role == Role::Owner
                        && m.user_id != *user_id
                })
            });
        if orphaned {
            return Ok(Erased::WouldOrphan);
        }
        for account_id in &erasure.delete_accounts {
            state.delete_account(account_id);
        }
        let pseudonym = UserId::from_stored(erasure.pseudonym.clone());
        let email = erasure.email.as_str();
        for event in &mut state.audit {
            if event.actor_user_id.as_ref() == Some(user_id) {
                event.actor_user_id = Some(pseudonym.clone());
            }
            if let Some(detail) = &mut event.detail {
                *detail = detail
                    .replace(email, &erasure.pseudonym)
                    .replace(user_id.as_str(), &erasure.pseudonym);
            }
        }
        state
            .invitations
            .retain(|i| i.invitation.email != erasure.email);
        state.pending_sign_ups.retain(|p| p.email != erasure.email);
        state.end_sessions(|s| s.user_id == *user_id);
        state.users.remove(user_id);
        state.disabled.remove(user_id);
        state.members.retain(|m| m.user_id != *user_id);
        state.tokens.retain(|t| t.user_id != *user_id);
        state.identities.retain(|i| i.user_id != *user_id);
        state
            .email_changes
            .retain(|(_, user, _, _)| user != user_id);
        state.totp.remove(user_id);
        state.recovery.retain(|r| r.user_id != *user_id);
        state.passkeys.retain(|p| p.user_id != *user_id);
        state.devices.retain(|(user, _, _), _| user != user_id);
        state
            .sign_in_notices
            .retain(|(_, user, _, _)| user != user_id);
        state.password_blocks.remove(user_id);
        for key in &mut state.api_keys {
            if key.record.created_by.as_ref() == Some(user_id) {
                key.record.created_by = None;
            }
        }
        state.audit.push(audit);
        Ok(Erased::Erased)
    }

    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let state = self.lock()?;
        // The fake's events have no ids of their own: their place in the log is one.
        let mut entries: Vec<AuditEntry> = state
            .audit
            .iter()
            .enumerate()
            .map(|(n, event)| AuditEntry {
                id: format!("aud_{n:08}"),
                event: event.clone(),
                ip: None,
                device: None,
            })
            .filter(|e| {
                query
                    .account_id
                    .as_ref()
                    .is_none_or(|id| e.event.account_id.as_ref() == Some(id))
                    && query.since.is_none_or(|since| e.event.at >= since)
                    && query.after.as_ref().is_none_or(|(at, id)| {
                        e.event.at > *at || (e.event.at == *at && e.id > *id)
                    })
            })
            .collect();
        entries.sort_by(|a, b| (a.event.at, &a.id).cmp(&(b.event.at, &b.id)));
        entries.truncate(query.limit as usize);
        Ok(entries)
    }

    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        let mut state = self.lock()?;
        let count = state.audit.len();
        state.audit.retain(|e| e.at >= before);
        Ok((count - state.audit.len()) as u64)
    }

    async fn reseal_secrets(
        &self,
        reseal: &(dyn for<'s> Fn(&'s str) -> Option<String> + Send + Sync),
        audit: AuditEvent,
    ) -> StoreResult<Option<(u64, u64)>> {
        let mut state = self.lock()?;
        // Every value first: a failure leaves everything as it was.
        let mut connections = Vec::new();
        for c in &state.connections {
            let Some(sealed) = reseal(&c.client_secret_sealed) else {
                return Ok(None);
            };
            connections.push(sealed);
        }
        let mut factors = Vec::new();
        for f in state.totp.values() {
            let Some(sealed) = reseal(&f.secret_sealed) else {
                return Ok(None);
            };
            factors.push(sealed);
        }
        let counts = (connections.len() as u64, factors.len() as u64);
        for (c, sealed) in state.connections.iter_mut().zip(connections) {
            c.client_secret_sealed = sealed;
        }
        for (f, sealed) in state.totp.values_mut().zip(factors) {
            f.secret_sealed = sealed;
        }
        state.audit.push(audit);
        Ok(Some(counts))
    }
}
