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

/// An event as the log lists it: its id (the paging cursor; ids grow with time) and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub event: AuditEvent,
    /// The client IP and device of the request that made the change, when one did.
    pub ip: Option<String>,
    pub device: Option<String>,
}

/// The events of a person's own sign-ins that an account's log shows for its members (they
/// belong to no account: written with the person as actor).
pub const SIGN_IN_ACTIONS: [&str; 6] = [
    "sign_in.succeeded",
    "sign_in.failed",
    "user.locked",
    "user.unlocked",
    "password.reset",
    "sign_in.sso",
];

/// The kinds of events the log can be narrowed to: an action's part before the dot, with
/// what the page calls it.
pub const KINDS: [(&str, &str); 10] = [
    ("account", "Account"),
    ("member", "Members"),
    ("invitation", "Invitations"),
    ("api_key", "API keys"),
    ("domain", "Domains"),
    ("sso", "Single sign-on"),
    ("workspace", "Workspaces"),
    ("record", "Records"),
    ("sign_in", "Sign-ins"),
    ("user", "Locks and unlocks"),
];

/// What the log is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One of [`KINDS`]; `None`: every kind.
    pub kind: Option<&'static str>,
    /// Events of this person only.
    pub actor: Option<UserId>,
}

impl AuditFilter {
    /// The kind named `input`, if it is one of [`KINDS`] (anything else narrows nothing).
    pub fn kind_of(input: &str) -> Option<&'static str> {
        KINDS.iter().map(|(k, _)| *k).find(|k| *k == input)
    }
}

/// Whether `text` has the shape of an event's id (`evt_…`), the log's paging cursor.
pub fn is_cursor(text: &str) -> bool {
    text.len() <= 64
        && text.starts_with("evt_")
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An event in plain words, after the actor's name: "created the API key \"CI\"".
pub fn describe(action: &str) -> &'static str {
    match action {
        "account.created" => "created the account",
        "account.renamed" => "renamed the account",
        "account.plan_changed" => "changed the account's plan",
        "account.second_factor_required" => "required two-factor authentication of every member",
        "account.second_factor_not_required" => "stopped requiring two-factor authentication",
        "member.joined" => "joined the account",
        "member.left" => "left the account",
        "member.removed" => "removed a member",
        "member.role_changed" => "changed a member's role",
        "member.second_factors_reset" => "reset a member's two-factor authentication",
        "invitation.created" => "invited someone",
        "invitation.revoked" => "revoked an invitation",
        "api_key.created" => "created an API key",
        "api_key.deleted" => "deleted an API key",
        "domain.added" => "added a domain",
        "domain.verified" => "verified a domain",
        "domain.deleted" => "deleted a domain",
        "sso.connection_created" => "connected a single sign-on provider",
        "sso.connection_deleted" => "deleted a single sign-on connection",
        "sso.test_sign_in" => "tested single sign-on",
        "sso.enforced" => "enforced single sign-on",
        "sso.not_enforced" => "stopped enforcing single sign-on",
        "sso.create_users_on" => "let single sign-on create users",
        "sso.create_users_off" => "stopped single sign-on creating users",
        "sso.sign_in" | "sign_in.sso" => "signed in through single sign-on",
        "workspace.created" => "created a workspace",
        "workspace.renamed" => "renamed a workspace",
        "workspace.deleted" => "deleted a workspace and its records",
        "record.created" => "created a record",
        "record.updated" => "changed a record",
        "record.deleted" => "deleted a record",
        "sign_in.succeeded" => "signed in",
        "sign_in.failed" => "failed to sign in",
        "user.locked" => "was locked out after too many failed attempts",
        "user.unlocked" => "was unlocked",
        "user.created" => "was created by the operator",
        "user.reset_link_issued" => "was sent a password link by the operator",
        "password.reset" => "reset their password",
        _ => "did something",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_sign_in_action_reads_as_words() {
        for action in SIGN_IN_ACTIONS {
            assert_ne!(describe(action), "did something", "{action}");
        }
        assert_eq!(AuditFilter::kind_of("api_key"), Some("api_key"));
        assert_eq!(AuditFilter::kind_of("api_key' OR 1=1"), None);
        assert_eq!(describe("api_key.created"), "created an API key");
        assert!(is_cursor("evt_01a243e539147455b351f1dcc62c863b"));
        assert!(!is_cursor("evt_' OR 1=1") && !is_cursor("key_abc"));
    }
}
