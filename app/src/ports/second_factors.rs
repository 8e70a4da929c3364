//! Second factors: a person's authenticator app (TOTP), passkeys and recovery codes.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::passkeys::{Ceremony, StoredPasskey};
use crate::domain::second_factors::{NewTotpFactor, TotpFactor};

/// Authenticator apps (one per person), recovery codes (stored as SHA-256 hashes), passkeys
/// and the passkey ceremonies under way.
#[async_trait]
pub trait SecondFactorStore: Send + Sync + 'static {
    /// The person's confirmed authenticator app, if any.
    async fn totp_factor(&self, user_id: &UserId) -> StoreResult<Option<TotpFactor>>;
    /// Stores a confirmed enrolment, its recovery codes when it is the person's first factor
    /// (`recovery_hashes` not empty: replacing any) and `audit`, in one transaction; `false`
    /// (nothing written) when the person already has one.
    async fn add_totp_factor(&self, new: NewTotpFactor, audit: AuditEvent) -> StoreResult<bool>;
    /// Accepts a code for `step` only when it is later than the last step accepted, in one
    /// statement (`UPDATE … WHERE last_step < $step`): of two requests with one code, one wins.
    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool>;
    /// Removes the person's authenticator app, and their recovery codes unless a passkey
    /// remains (decided in the same statement), with `audit`, in one transaction; `false`
    /// (nothing written) when there was none.
    async fn remove_totp_factor(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool>;
    /// Replaces every recovery code of the person with `hashes`, with `audit`, in one
    /// transaction; `false` (nothing written) when they have no second factor (neither an
    /// authenticator app nor a passkey).
    async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Uses the unused recovery code with this hash (`UPDATE … WHERE used_at IS NULL`: once,
    /// even under concurrency) and writes `audit`, in one transaction: how many unused codes
    /// are left, or `None` (nothing written) when no such unused code exists.
    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u32>>;
    /// How many unused recovery codes the person has.
    async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<u32>;

    /// The person's passkeys, oldest first.
    async fn passkeys(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>>;
    /// The passkey with this credential id (whoever's it is).
    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>>;
    /// Stores a new passkey, its recovery codes when it is the person's first factor
    /// (`recovery_hashes` not empty: replacing any) and `audit`, in one transaction; `false`
    /// (nothing written) when its credential id is already registered (to anyone).
    async fn add_passkey(
        &self,
        passkey: StoredPasskey,
        recovery_hashes: &[String],
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Records a sign-in with the passkey: its updated credential (the signature counter)
    /// and when; `false` when it no longer exists.
    async fn passkey_used(
        &self,
        id: &PasskeyId,
        credential: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Deletes the person's passkey `id`, and their recovery codes when no second factor is
    /// left (decided in the same statement), with `audit`, in one transaction; `false`
    /// (nothing written) when they have no such passkey.
    async fn delete_passkey(
        &self,
        user_id: &UserId,
        id: &PasskeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Removes every second factor of the person — authenticator app, passkeys, recovery
    /// codes — with `audit`, in one transaction (an owner's reset); `false` (nothing written)
    /// when they had none.
    async fn remove_second_factors(&self, user_id: &UserId, audit: AuditEvent)
        -> StoreResult<bool>;
    /// Keeps a ceremony under the hash of its handle, deleting expired ones.
    async fn save_ceremony(
        &self,
        handle_hash: &str,
        ceremony: Ceremony,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Takes the unused, unexpired ceremony with this handle hash, marking it used in one
    /// statement (`UPDATE … WHERE used_at IS NULL AND expires_at > $now`): of two requests
    /// with one handle, one gets it.
    async fn take_ceremony(
        &self,
        handle_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>>;
}
