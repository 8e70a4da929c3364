//! [`ThrottleStore`]: the fixed-window rate counters and the per-recipient mail slots.
use std::time::Duration;

use app::domain::clock::Timestamp;
use app::domain::lockout::Hit;
use app::ports::{StoreResult, ThrottleStore};
use async_trait::async_trait;

use super::SqlStore;
use crate::store::error::port;

/// Counts a hit: `$2` now, `$3` the start of the oldest window still current, `$4` the limit.
/// An old window restarts at 1; a full one is left alone and returns no row. The row lock of
/// the upsert makes concurrent hits count one after another.
const COUNT_HIT: &str = "
INSERT INTO rate_counters (counter_key, window_start, hits) VALUES ($1, $2, 1)
ON CONFLICT (counter_key) DO UPDATE SET
    window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2
                        ELSE rate_counters.window_start END,
    hits = CASE WHEN rate_counters.window_start <= $3 THEN 1
                ELSE rate_counters.hits + 1 END
WHERE rate_counters.window_start <= $3 OR rate_counters.hits < $4
RETURNING window_start";
const COUNTER_WINDOW: &str = "SELECT window_start FROM rate_counters WHERE counter_key = $1";
pub(super) const REFUND_HIT: &str = "
UPDATE rate_counters SET hits = hits - 1
WHERE counter_key = $1 AND window_start = $2 AND hits > 0";

const TAKE_MAIL_SLOT: &str = "
INSERT INTO mail_throttle (slot, last_sent_at) VALUES ($1, $2)
ON CONFLICT (slot) DO UPDATE SET last_sent_at = excluded.last_sent_at
WHERE mail_throttle.last_sent_at <= $3
RETURNING slot";

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn count_hit(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
        limit: u32,
    ) -> StoreResult<Hit> {
        port(async {
            let mut tx = self.begin().await?;
            let counted = sqlx::query_scalar::<_, i64>(COUNT_HIT)
                .bind(key)
                .bind(now.millis())
                .bind(now.minus(window).millis())
                .bind(i64::from(limit))
                .fetch_optional(&mut *tx)
                .await?;
            let hit = match counted {
                Some(start) => Hit::Counted {
                    window_start: Timestamp(start),
                },
                None => {
                    let start = sqlx::query_scalar::<_, i64>(COUNTER_WINDOW)
                        .bind(key)
                        .fetch_one(&mut *tx)
                        .await?;
                    Hit::Over {
                        window_start: Timestamp(start),
                    }
                }
            };
            tx.commit().await?;
            Ok(hit)
        })
        .await
    }

    async fn refund_hit(&self, key: &str, window_start: Timestamp) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(REFUND_HIT)
                .bind(key)
                .bind(window_start.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn take_mail_slot(
        &self,
        key: &str,
        now: Timestamp,
        interval: Duration,
    ) -> StoreResult<bool> {
        port(async {
            let taken = self
                .write_returning(
                    sqlx::query_as::<_, (String,)>(TAKE_MAIL_SLOT)
                        .bind(key)
                        .bind(now.millis())
                        .bind(now.minus(interval).millis()),
                )
                .await?;
            Ok(taken.is_some())
        })
        .await
    }
}
