//! [`AccountStore`] in memory (`src/store/body/accounts.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::accounts::{Account, NewAccount};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::AccountId;
use crate::ports::{AccountStore, StoreResult};

#[async_trait]
impl AccountStore for MemoryStore {
    async fn account(&self, account_id: &AccountId) -> StoreResult<Option<Account>> {
        Ok(self.lock()?.accounts.get(account_id).cloned())
    }

    async fn create_account(&self, new: NewAccount, audit: AuditEvent) -> StoreResult<()> {
        let mut state = self.lock()?;
        state.insert_account_with_owner(
            &new.account_id,
            &new.name,
            &new.plan,
            &new.owner_user_id,
            &new.workspace_id,
            &new.workspace_name,
            new.now,
        )?;
        state.audit.push(audit);
        Ok(())
    }

    async fn set_account_plan(
        &self,
        account_id: &AccountId,
        plan: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<String>> {
        let mut state = self.lock()?;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(None);
        };
        let previous = std::mem::replace(&mut account.plan, plan.to_owned());
        state.audit.push(audit);
        Ok(Some(previous))
    }

    async fn set_second_factor_required(
        &self,
        account_id: &AccountId,
        required: bool,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(false);
        };
        account.require_second_factor = required;
        state.audit.push(audit);
        Ok(true)
    }

    async fn rename_account(
        &self,
        account_id: &AccountId,
        name: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(account) = state.accounts.get_mut(account_id) else {
            return Ok(false);
        };
        account.name = name.to_owned();
        state.audit.push(audit);
        Ok(true)
    }
}
