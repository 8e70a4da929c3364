//! Accounts: the tenant that owns members, workspaces, keys and single sign-on.
use super::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub created_at: Timestamp,
}

/// A new account with its owner and its first workspace, in one transaction.
pub struct NewAccount {
    pub account_id: String,
    pub name: String,
    /// The plan the new account is on (the configured default plan).
    pub plan: String,
    pub owner_user_id: String,
    pub workspace_id: String,
    pub workspace_name: String,
    pub now: Timestamp,
}
