//! Who belongs to which account with which role, and invitations to join.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, InvitationId, UserId};
use crate::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
use crate::domain::roles::Role;

/// Memberships and invitations.
#[async_trait]
pub trait MembershipStore: Send + Sync + 'static {
    /// The accounts `user_id` belongs to.
    async fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>>;
    async fn role_in(&self, user_id: &UserId, account_id: &AccountId) -> StoreResult<Option<Role>>;
    async fn members(&self, account_id: &AccountId) -> StoreResult<Vec<MemberRecord>>;
    /// Changes a role, refusing to leave the account without an owner (serialised per account);
    /// `audit` is written in the same transaction when the role actually changed. Someone who
    /// is no longer an owner or admin of an account that enforces single sign-on for their
    /// email's domain loses their password sessions in the same transaction.
    async fn change_role(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange>;
    /// Removes a member (never the last owner), with `audit`, in one transaction; with
    /// `end_sessions`, their sessions in this account end in it too. Password sessions end as
    /// for a role change (single sign-on enforced for their domain).
    async fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange>;

    /// Stores an invitation, revoking any pending one for the same email in that account, with
    /// `audit`, in one transaction.
    async fn create_invitation(&self, new: NewInvitation, audit: AuditEvent) -> StoreResult<()>;
    /// Pending invitations (not accepted, revoked or expired).
    async fn invitations(
        &self,
        account_id: &AccountId,
        now: Timestamp,
    ) -> StoreResult<Vec<Invitation>>;
    async fn invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    async fn invitation_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    /// The live invitation of `email` to `account_id`, if any (the newest).
    async fn pending_invitation(
        &self,
        account_id: &AccountId,
        email: &EmailAddress,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    /// Revokes a pending invitation, with `audit`, in one transaction; false when none was.
    async fn revoke_invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Uses the invitation and adds the membership (creating the user if new), in one
    /// transaction. `None`: the invitation is no longer live.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: Acceptor,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Invitation>>;
}
