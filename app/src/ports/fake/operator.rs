//! [`OperatorStore`] in memory (`src/store/body/operator.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::accounts::Account;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::operator::{UserFilter, UserListing};
use crate::ports::{OperatorStore, StoreResult};

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
}
