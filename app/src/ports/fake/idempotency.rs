//! [`IdempotencyStore`] in memory (`src/store/body/idempotency.rs`).
use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::clock::Timestamp;
use crate::domain::idempotency::{Claim, KeptAnswer, ABANDONED_AFTER, KEPT_FOR};
use crate::domain::ids::AccountId;
use crate::ports::{IdempotencyStore, StoreResult};

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim_idempotency_key(
        &self,
        account_id: &AccountId,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Claim> {
        let mut state = self.lock()?;
        let id = (account_id.clone(), key.to_owned());
        if let Some((hash, until, answer)) = state.idempotency.get(&id) {
            let claimed_at = until.millis() - i64::try_from(KEPT_FOR.as_millis()).unwrap_or(0);
            let abandoned = answer.is_none() && claimed_at <= now.minus(ABANDONED_AFTER).millis();
            if until.millis() > now.millis() && !abandoned {
                return Ok(if hash != request_hash {
                    Claim::Mismatch
                } else {
                    match answer {
                        Some(a) => Claim::Replay(a.clone()),
                        None => Claim::InProgress,
                    }
                });
            }
        }
        state
            .idempotency
            .insert(id, (request_hash.to_owned(), expires_at, None));
        Ok(Claim::New)
    }

    async fn keep_idempotent_answer(
        &self,
        account_id: &AccountId,
        key: &str,
        answer: KeptAnswer,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        if let Some(entry) = state
            .idempotency
            .get_mut(&(account_id.clone(), key.to_owned()))
        {
            entry.2 = Some(answer);
        }
        Ok(())
    }

    async fn release_idempotency_key(&self, account_id: &AccountId, key: &str) -> StoreResult<()> {
        self.lock()?
            .idempotency
            .remove(&(account_id.clone(), key.to_owned()));
        Ok(())
    }
}
