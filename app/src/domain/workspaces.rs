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

/// The most JSON text one record holds (256 KiB).
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// Why a record's text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordDataError {
    #[error("Enter the record as a JSON object, such as {{\"name\": \"Ada\"}}.")]
    NotAnObject,
    #[error("A record holds at most 256 KiB of JSON.")]
    TooLarge,
}

/// Checks typed record text (the web app's form): a JSON object of at most
/// [`MAX_RECORD_BYTES`]. The text is kept as typed, like the API keeps what it was sent.
pub fn check_record_text(text: &str) -> Result<(), RecordDataError> {
    if text.len() > MAX_RECORD_BYTES {
        return Err(RecordDataError::TooLarge);
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(RecordDataError::NotAnObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_json_object_within_the_size_limit() {
        assert_eq!(check_record_text(r#"{"a": [1, 2]}"#), Ok(()));
        assert_eq!(check_record_text("  {}  "), Ok(()));
        for bad in ["", "[]", "42", "\"text\"", "{", "{} {}", "null"] {
            assert_eq!(
                check_record_text(bad),
                Err(RecordDataError::NotAnObject),
                "{bad}"
            );
        }
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_RECORD_BYTES));
        assert_eq!(check_record_text(&big), Err(RecordDataError::TooLarge));
    }
}
