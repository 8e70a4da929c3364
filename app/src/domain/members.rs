//! Memberships (who belongs to which account, with which role) and invitations to join.
use super::clock::Timestamp;
use super::email::EmailAddress;
use super::roles::Role;

/// One account a user belongs to, as the account picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub account_id: String,
    pub account_name: String,
    pub role: Role,
}

/// A member of an account, as the members page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub since: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    Done,
    NotAMember,
    /// Refused: the account would have no owner left.
    LastOwner,
}

/// An invitation to join an account (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: EmailAddress,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub struct NewInvitation {
    pub id: String,
    pub account_id: String,
    pub email: EmailAddress,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: Option<String>,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// Who accepts an invitation: a user who exists, or a new one the link creates.
pub enum Acceptor {
    Existing {
        user_id: String,
    },
    New {
        user_id: String,
        password_hash: String,
    },
}
