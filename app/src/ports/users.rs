//! Users: creating them (through a confirmed sign-up or the operator), their pending sign-ups,
//! finding them, and the atomic lockout counter.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::lockout::{GuessReservation, LockoutPolicy};
use crate::domain::users::{
    ConfirmOutcome, EmailChange, EmailChangeOutcome, NewPendingSignUp, NewSignUp, PendingSignUp,
    SignUpOutcome, UserRecord,
};

/// Users, pending sign-ups and the lockout's guess counter.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Creates a confirmed user with their own account and workspace, and writes `audit` in
    /// the same transaction (the admin CLI and the benchmark; browser sign-ups go through
    /// [`UserStore::confirm_sign_up`]).
    async fn create_user_with_account(
        &self,
        new: NewSignUp,
        audit: AuditEvent,
    ) -> StoreResult<SignUpOutcome>;
    /// Stores (or replaces, for the same email) a pending sign-up.
    async fn put_pending_sign_up(&self, pending: NewPendingSignUp) -> StoreResult<()>;
    /// The live pending sign-up a confirmation link points to.
    async fn pending_sign_up(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<PendingSignUp>>;
    /// Gives a live pending sign-up of `email` a new link (the old one dies); false if none.
    async fn renew_pending_sign_up(
        &self,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Uses the link: in one transaction, deletes the pending sign-up (which must still be the
    /// one behind `token_hash` and live) and writes `new` with its audit event.
    async fn confirm_sign_up(
        &self,
        token_hash: &str,
        new: NewSignUp,
    ) -> StoreResult<ConfirmOutcome>;
    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserRecord>>;

    /// Atomically counts a guess before the password is verified (see [`GuessReservation`]).
    async fn reserve_guess(
        &self,
        user_id: &UserId,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> StoreResult<GuessReservation>;
    /// A correct password: reset the failure count and lock, store an upgraded hash, and give
    /// back the attempt's hit on its client's counter (`refund`: key and window start), all in
    /// one transaction (a sign-in is the hottest write path).
    async fn sign_in_succeeded(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()>;
    /// A correct password with a second step still to come: store an upgraded hash and give
    /// back the attempt's hit on its client's counter, but leave the failure count as it is
    /// (only a completed sign-in resets it, so knowing the password buys no extra code
    /// guesses).
    async fn password_checked(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()>;
    /// Clears a user's failure count and lock, with its audit event; false when no such user.
    async fn unlock_user(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool>;
    /// A new password chosen by its signed-in owner, in one transaction: stores
    /// `new_password_hash`, clears the failure count, moves the session epoch on (so every
    /// session from before ends, wherever a copy of it is) and deletes every session row but
    /// `keep_session` (the one that made the change), with `audit`. The new epoch, which the
    /// kept session takes on; `None` when there is no such user.
    async fn change_password(
        &self,
        user_id: &UserId,
        new_password_hash: &str,
        keep_session: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<i64>>;
    /// Keeps `user_id`'s request to change their email to `new_email` behind the link whose
    /// hash is `token_hash` (replacing an earlier request of theirs: its link dies).
    async fn put_email_change(
        &self,
        user_id: &UserId,
        new_email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The live request behind `token_hash`.
    async fn email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<EmailChange>>;
    /// Uses the link once, in one transaction: the request goes, and the user's email becomes
    /// the new (now confirmed) address with `audit` — unless another user has it by now.
    async fn redeem_email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailChangeOutcome>;
}
