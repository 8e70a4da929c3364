//! The activity log: who did what, when, in which account.
use super::clock::Timestamp;

/// Something worth remembering who did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub account_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub detail: Option<String>,
    pub at: Timestamp,
}
