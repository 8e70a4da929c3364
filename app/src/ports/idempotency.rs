//! Idempotency keys: the first answer to a `POST` under a key, kept for retries on every
//! instance.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Timestamp;
use crate::domain::idempotency::{Claim, KeptAnswer};
use crate::domain::ids::AccountId;

#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` of the account for the request whose hash is `request_hash`, in one
    /// statement (`INSERT … ON CONFLICT DO NOTHING`: of two concurrent first requests, one
    /// claims it), forgetting a claim whose time is over first.
    async fn claim_idempotency_key(
        &self,
        account_id: &AccountId,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Claim>;
    /// Keeps the first answer under the claimed key.
    async fn keep_idempotent_answer(
        &self,
        account_id: &AccountId,
        key: &str,
        answer: KeptAnswer,
    ) -> StoreResult<()>;
    /// Lets the key go (the request failed on our side: a retry may try again).
    async fn release_idempotency_key(&self, account_id: &AccountId, key: &str) -> StoreResult<()>;
}
