//! What only the operator's command line (`terminus-hub admin …`) reads and writes: every
//! user and account of the hub (no account scope), disabling a person, and ending all of a
//! person's sessions. Every write takes its audit event into its transaction.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::accounts::Account;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::UserId;
use crate::domain::operator::{UserFilter, UserListing};

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
}
