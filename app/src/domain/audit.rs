//! The activity log: who did what, when, in which account.
use super::clock::Timestamp;
use super::ids::{AccountId, UserId};

/// Something worth remembering who did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub account_id: Option<AccountId>,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub detail: Option<String>,
    pub at: Timestamp,
}
