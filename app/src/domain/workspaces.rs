//! Workspaces of an account and the JSON records kept in them.
use super::clock::Timestamp;
use super::ids::{AccountId, RecordId, WorkspaceId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub account_id: AccountId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A JSON object kept in a workspace. `data` is the object's JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecord {
    pub id: RecordId,
    pub account_id: AccountId,
    pub workspace_id: WorkspaceId,
    pub data: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What deleting a workspace did. Its records go with it (a cascade), so a caller that may
/// not delete records deletes only an empty workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceDeletion {
    Deleted,
    /// No such workspace in the account.
    NotFound,
    /// Not deleted: it has records, and the caller may not delete them.
    HasRecords,
}
