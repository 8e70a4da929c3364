//! Workspaces of an account and the JSON records kept in them.
use super::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A JSON object kept in a workspace. `data` is the object's JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecord {
    pub id: String,
    pub account_id: String,
    pub workspace_id: String,
    pub data: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
