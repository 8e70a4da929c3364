//! Accounts: creating one (with its owner and first workspace) and its plan.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::accounts::{Account, NewAccount};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::AccountId;

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn account(&self, account_id: &AccountId) -> StoreResult<Option<Account>>;
    /// Creates the account, its owner membership and workspace, and `audit`, in one transaction.
    async fn create_account(&self, new: NewAccount, audit: AuditEvent) -> StoreResult<()>;
    /// Puts an account on `plan`, with its audit event; the plan it was on, or `None` when
    /// there is no such account (nothing written).
    async fn set_account_plan(
        &self,
        account_id: &AccountId,
        plan: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<String>>;
    /// Requires (or no longer requires) a second factor of the account's members, with its
    /// audit event, in one transaction; `false` (nothing written) when there is no such account.
    async fn set_second_factor_required(
        &self,
        account_id: &AccountId,
        required: bool,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Renames the account, with its audit event, in one transaction; `false` (nothing
    /// written) when there is no such account.
    async fn rename_account(
        &self,
        account_id: &AccountId,
        name: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
}
