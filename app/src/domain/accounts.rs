//! Accounts: the tenant that owns members, workspaces, keys and single sign-on.
use super::clock::Timestamp;
use super::ids::{AccountId, UserId, WorkspaceId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub plan: String,
    pub created_at: Timestamp,
    /// Its owners require a second factor of every member (single sign-on excepted).
    pub require_second_factor: bool,
}

/// A new account with its owner and its first workspace, in one transaction.
pub struct NewAccount {
    pub account_id: AccountId,
    pub name: String,
    /// The plan the new account is on (the configured default plan).
    pub plan: String,
    pub owner_user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub now: Timestamp,
}
