//! What only the operator's command line (`terminus-hub admin …`) reads and writes: every
//! user and account of the hub (no account scope), disabling a person, and ending all of a
//! person's sessions. Every write takes its audit event into its transaction.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::accounts::Account;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, UserId};
use crate::domain::operator::{
    AuditEntry, AuditQuery, EmailSet, Erased, Erasure, OwnerAdded, UserFilter, UserListing,
};

/// The hub seen whole, for its operator.
#[async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    /// The users `filter` admits at `now`, oldest first.
    async fn find_users(
        &self,
        filter: &UserFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<UserListing>>;
    /// Every account, oldest first.
    async fn all_accounts(&self) -> StoreResult<Vec<Account>>;
    /// When the operator disabled `user_id` (`None`: enabled, or no such user).
    async fn user_disabled_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>>;
    /// The last time `user_id` signed in, as far as the store knows (their newest session,
    /// device or single sign-on identity).
    async fn last_sign_in_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>>;
    /// Disables (`Some(now)`) or enables (`None`) `user_id`, with `audit`, in one
    /// transaction; disabling also moves the session epoch on and deletes every session of
    /// theirs. False (nothing written) when there is no such user or it already was so.
    async fn set_user_disabled(
        &self,
        user_id: &UserId,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Ends every session of `user_id` (the epoch moves on, every row goes) with `audit`:
    /// how many session rows there were. `None` when there is no such user.
    async fn sign_out_everywhere(
        &self,
        user_id: &UserId,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>>;
    /// Gives `user_id` the (normalised, validated) address `email`, confirmed, with `audit`;
    /// a pending change of theirs is dropped.
    async fn set_user_email(
        &self,
        user_id: &UserId,
        email: &EmailAddress,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailSet>;
    /// Makes `user_id` an owner of `account_id` (a member already, or not), with `audit`.
    async fn add_owner(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<OwnerAdded>;
    /// Hands `account_id` over to `user_id`: they become its owner and every other owner an
    /// admin, with `audit`, in one transaction. How many owners became admins; `None` when
    /// there is no such account.
    async fn transfer_account(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>>;
    /// Deletes an account and everything under it (workspaces, records, keys, domains,
    /// single sign-on, invitations, memberships, its audit trail), and the sessions in it,
    /// with `audit` (which must not name the account: its trail goes). False: no such account.
    async fn delete_account(&self, account_id: &AccountId, audit: AuditEvent) -> StoreResult<bool>;
    /// The audit events `user_id` acted in, oldest first (for `admin user export`).
    async fn audit_events_by(&self, user_id: &UserId) -> StoreResult<Vec<AuditEvent>>;
    /// Erases a person (see [`Erasure`]) with `audit`, in one transaction; nothing is written
    /// when an account they belong to would be left without an owner.
    async fn erase_user(&self, erasure: &Erasure, audit: AuditEvent) -> StoreResult<Erased>;
    /// A page of the audit trail, oldest first, as `query` asks.
    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>>;
    /// Deletes the audit events from before `before`: how many. Idempotent, so instances
    /// that run it at once delete each event once between them.
    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64>;
    /// Re-seals every sealed secret (single sign-on client secrets, authenticator-app
    /// secrets) with `reseal` (which opens a value under the old key and seals it under the
    /// new), with `audit`, in one transaction: (connections, authenticator apps) re-sealed.
    /// `None`, and nothing written, when a value could not be re-sealed.
    async fn reseal_secrets(
        &self,
        reseal: &(dyn for<'s> Fn(&'s str) -> Option<String> + Send + Sync),
        audit: AuditEvent,
    ) -> StoreResult<Option<(u64, u64)>>;
}
