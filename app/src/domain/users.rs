//! Users as the store keeps them, and the records of signing up: a pending sign-up waits for
//! its email to be confirmed, and confirming it creates the user with their own account.
use std::fmt;

use super::clock::Timestamp;
use super::email::EmailAddress;
use super::ids::{AccountId, UserId, WorkspaceId};

/// A user as stored. The password hash is a PHC string; `Debug` leaves it out.
#[derive(Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub email: EmailAddress,
    pub password_hash: Option<String>,
    pub email_confirmed_at: Option<Timestamp>,
    pub failed_attempts: u32,
    pub locked_until: Option<Timestamp>,
    /// Bumped when a password is reset: sessions started before it are no longer valid.
    pub session_epoch: i64,
    pub created_at: Timestamp,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("confirmed", &self.email_confirmed_at.is_some())
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// Everything a confirmed sign-up writes, in one transaction: user (confirmed), account, owner
/// membership, workspace, and its audit event.
pub struct NewSignUp {
    pub user_id: UserId,
    pub email: EmailAddress,
    /// `None`: no password yet (a user the operator created sets one through a reset link).
    pub password_hash: Option<String>,
    pub account_id: AccountId,
    pub account_name: String,
    /// The plan the new account is on (the configured default plan).
    pub plan: String,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUpOutcome {
    Created,
    /// The email already has a user; nothing was written.
    EmailTaken,
}

/// A sign-up waiting for its email to be confirmed: an address and the hash of the link
/// mailed to it. It holds no password: whoever opens the link chooses one.
pub struct NewPendingSignUp {
    pub email: EmailAddress,
    pub token_hash: String,
    pub expires_at: Timestamp,
    pub now: Timestamp,
}

/// A live pending sign-up, as its confirmation link finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignUp {
    pub email: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The user, account and workspace now exist.
    Created { user_id: UserId, session_epoch: i64 },
    /// The link was good but the email meanwhile got a user (an invitation, single sign-on):
    /// the pending sign-up is gone and nothing else was written.
    AlreadyUser,
    /// Unknown, used, replaced or expired link.
    Dead,
}

/// A person's request to change their email, as the link to the new address finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange {
    pub user_id: UserId,
    pub old_email: EmailAddress,
    pub new_email: EmailAddress,
}

/// What using an email change link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeOutcome {
    /// The account's email is now `new_email` (confirmed: the link proved the mailbox).
    Changed(EmailChange),
    /// Unknown, used or expired link.
    Dead,
    /// Another user has had the address since the link was sent: nothing changed.
    Taken,
}
