//! [`OperationsStore`]: the readiness probe's write and pruning what can no longer matter.
use std::time::Duration;

use app::domain::clock::Timestamp;
use app::ports::operations::Tally;
use app::ports::{OperationsStore, StoreResult};
use async_trait::async_trait;

use super::SqlStore;
use crate::store::error::{port, DbError};

/// The readiness probe's write: one row, committed in a transaction of its own.
const PROBE_WRITE: &str = "UPDATE health_probe SET checks = checks + 1 WHERE id = 1";

const PRUNE_COUNTERS: &str = "DELETE FROM rate_counters WHERE window_start <= $1";
const PRUNE_TOKENS: &str = "DELETE FROM one_time_tokens WHERE expires_at <= $1";
const PRUNE_PENDING_SIGN_UPS: &str = "DELETE FROM pending_sign_ups WHERE expires_at <= $1";

const TALLY: &str = "
SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM pending_sign_ups),
       (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM memberships),
       (SELECT COUNT(*) FROM invitations), (SELECT COUNT(*) FROM workspaces),
       (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM api_keys),
       (SELECT COUNT(*) FROM account_domains), (SELECT COUNT(*) FROM sso_connections),
       (SELECT COUNT(*) FROM sso_identities), (SELECT COUNT(*) FROM one_time_tokens)";

/// [`TALLY`]'s row.
type TallyRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

#[async_trait]
impl OperationsStore for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        port(async {
            match self.write(sqlx::query(PROBE_WRITE)).await? {
                1 => Ok(()),
                n => Err(DbError::Other(format!(
                    "the health_probe row is missing ({n} rows updated)"
                ))),
            }
        })
        .await
    }

    async fn prune(&self, now: Timestamp, counter_age: Duration) -> StoreResult<()> {
        port(async {
            for (sql, before) in [
                (PRUNE_COUNTERS, now.minus(counter_age)),
                (PRUNE_TOKENS, now),
                (PRUNE_PENDING_SIGN_UPS, now),
                (super::idempotency::PRUNE_IDEMPOTENCY_KEYS, now),
            ] {
                let mut tx = self.begin().await?;
                sqlx::query(sql)
                    .bind(before.millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok(())
        })
        .await
    }

    async fn tally(&self) -> StoreResult<Tally> {
        port(async {
            let row: TallyRow = sqlx::query_as(TALLY).fetch_one(&self.pool).await?;
            let n = |count: i64| u64::try_from(count).unwrap_or(0);
            Ok(Tally {
                users: n(row.0),
                pending_sign_ups: n(row.1),
                accounts: n(row.2),
                memberships: n(row.3),
                invitations: n(row.4),
                workspaces: n(row.5),
                records: n(row.6),
                api_keys: n(row.7),
                account_domains: n(row.8),
                sso_connections: n(row.9),
                sso_identities: n(row.10),
                one_time_tokens: n(row.11),
            })
        })
        .await
    }
}
