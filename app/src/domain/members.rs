//! Memberships (who belongs to which account, with which role) and invitations to join.
use super::clock::Timestamp;
use super::email::EmailAddress;
use super::ids::{AccountId, InvitationId, UserId};
use super::roles::Role;

/// One account a user belongs to, as the account picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub account_id: AccountId,
    pub account_name: String,
    pub role: Role,
    /// The account requires a second factor of its members.
    pub require_second_factor: bool,
}

/// A member of an account, as the members page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: UserId,
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
    pub id: InvitationId,
    pub account_id: AccountId,
    pub account_name: String,
    pub email: EmailAddress,
    pub role: Role,
    pub invited_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub struct NewInvitation {
    pub id: InvitationId,
    pub account_id: AccountId,
    pub email: EmailAddress,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: Option<UserId>,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// Who accepts an invitation: a user who exists, or a new one the link creates.
pub enum Acceptor {
    Existing {
        user_id: UserId,
    },
    New {
        user_id: UserId,
        password_hash: String,
    },
}
