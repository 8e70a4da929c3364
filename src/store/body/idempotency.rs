//! [`IdempotencyStore`]: the first answer to a `POST` under an `Idempotency-Key`, per account,
//! kept for retries on every instance.
use app::domain::clock::Timestamp;
use app::domain::idempotency::{Claim, KeptAnswer, ABANDONED_AFTER};
use app::domain::ids::AccountId;
use app::ports::{IdempotencyStore, StoreResult};
use async_trait::async_trait;

use super::SqlStore;
use crate::store::error::port;

/// A claim whose time is over is forgotten before the key is claimed again, and so is a claim
/// still unanswered long after any request could have run (`$4`: its process died mid-way),
/// which would otherwise answer "in use" for a day.
const FORGET_EXPIRED: &str = "
DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2
AND (expires_at <= $3 OR (status IS NULL AND created_at <= $4))";
/// Of two concurrent first requests with one key, one inserts; the other finds its row.
const CLAIM: &str = "
INSERT INTO idempotency_keys (account_id, key, request_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, key) DO NOTHING";
const CLAIMED: &str = "
SELECT request_hash, status, body_sealed, location FROM idempotency_keys
WHERE account_id = $1 AND key = $2";
const KEEP: &str = "
UPDATE idempotency_keys SET status = $3, body_sealed = $4, location = $5
WHERE account_id = $1 AND key = $2";
const RELEASE: &str = "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2";
/// Expired claims go with the rest of the pruning (`OperationsStore::prune`).
pub(super) const PRUNE_IDEMPOTENCY_KEYS: &str =
    "DELETE FROM idempotency_keys WHERE expires_at <= $1";

type ClaimedRow = (String, Option<i64>, Option<String>, Option<String>);

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn claim_idempotency_key(
        &self,
        account_id: &AccountId,
        key: &str,
        request_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Claim> {
        port(async {
            sqlx::query(FORGET_EXPIRED)
                .bind(account_id.as_str())
                .bind(key)
                .bind(now.millis())
                .bind(now.minus(ABANDONED_AFTER).millis())
                .execute(&self.pool)
                .await?;
            let inserted = sqlx::query(CLAIM)
                .bind(account_id.as_str())
                .bind(key)
                .bind(request_hash)
                .bind(now.millis())
                .bind(expires_at.millis())
                .execute(&self.pool)
                .await?
                .rows_affected();
            if inserted == 1 {
                return Ok(Claim::New);
            }
            let row: Option<ClaimedRow> = sqlx::query_as(CLAIMED)
                .bind(account_id.as_str())
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                // Released meanwhile: the retry that comes next claims it.
                None => Claim::InProgress,
                Some((hash, _, _, _)) if hash != request_hash => Claim::Mismatch,
                Some((_, Some(status), Some(body_sealed), location)) => Claim::Replay(KeptAnswer {
                    status: u16::try_from(status).unwrap_or(500),
                    body_sealed,
                    location,
                }),
                Some(_) => Claim::InProgress,
            })
        })
        .await
    }

    async fn keep_idempotent_answer(
        &self,
        account_id: &AccountId,
        key: &str,
        answer: KeptAnswer,
    ) -> StoreResult<()> {
        port(async {
            sqlx::query(KEEP)
                .bind(account_id.as_str())
                .bind(key)
                .bind(i64::from(answer.status))
                .bind(answer.body_sealed)
                .bind(answer.location)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn release_idempotency_key(&self, account_id: &AccountId, key: &str) -> StoreResult<()> {
        port(async {
            sqlx::query(RELEASE)
                .bind(account_id.as_str())
                .bind(key)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }
}
