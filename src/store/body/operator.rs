//! [`OperatorStore`]: the hub seen whole, for the operator's command line (every user and
//! account, disabling a person, ending all their sessions).
use app::domain::accounts::Account;
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::UserId;
use app::domain::operator::{contains_pattern, UserFilter, UserListing};
use app::ports::{OperatorStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode, AccountRow, UserListingRow};

/// `$1` a LIKE pattern or NULL, `$2` now, `$3` locked only (0/1), `$4` disabled only (0/1).
const FIND_USERS: &str = "
SELECT id, email, created_at, locked_until, disabled_at FROM users
WHERE ($1 IS NULL OR email LIKE $1 ESCAPE '\\')
  AND ($3 = 0 OR (locked_until IS NOT NULL AND locked_until > $2))
  AND ($4 = 0 OR disabled_at IS NOT NULL)
ORDER BY created_at, id";
const ALL_ACCOUNTS: &str =
    "SELECT id, name, plan, created_at, require_second_factor FROM accounts ORDER BY created_at, id";
const DISABLED_AT: &str = "SELECT disabled_at FROM users WHERE id = $1";
const LAST_SIGN_IN: &str = "
SELECT MAX(at) FROM (
    SELECT MAX(started_at) AS at FROM sessions WHERE user_id = $1
    UNION ALL SELECT MAX(last_seen) AS at FROM known_devices WHERE user_id = $1
    UNION ALL SELECT MAX(last_sign_in_at) AS at FROM sso_identities WHERE user_id = $1
) AS seen";
const DISABLE: &str = "
UPDATE users SET disabled_at = $2, session_epoch = session_epoch + 1
WHERE id = $1 AND disabled_at IS NULL";
const ENABLE: &str =
    "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL";
const NEXT_EPOCH: &str = "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1";
const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

#[async_trait]
impl OperatorStore for SqlStore {
    async fn find_users(
        &self,
        filter: &UserFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<UserListing>> {
        port(async {
            let rows = sqlx::query_as::<_, UserListingRow>(FIND_USERS)
                .bind(filter.email_contains.as_deref().map(contains_pattern))
                .bind(now.millis())
                .bind(i64::from(filter.locked))
                .bind(i64::from(filter.disabled))
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn all_accounts(&self) -> StoreResult<Vec<Account>> {
        port(async {
            let rows = sqlx::query_as::<_, AccountRow>(ALL_ACCOUNTS)
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn user_disabled_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>> {
        port(async {
            let at = sqlx::query_scalar::<_, Option<i64>>(DISABLED_AT)
                .bind(user_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            Ok(at.flatten().map(Timestamp))
        })
        .await
    }

    async fn last_sign_in_at(&self, user_id: &UserId) -> StoreResult<Option<Timestamp>> {
        port(async {
            let at = sqlx::query_scalar::<_, Option<i64>>(LAST_SIGN_IN)
                .bind(user_id.as_str())
                .fetch_one(&self.pool)
                .await?;
            Ok(at.map(Timestamp))
        })
        .await
    }

    async fn set_user_disabled(
        &self,
        user_id: &UserId,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let changed = match disabled_at {
                Some(at) => {
                    let done = sqlx::query(DISABLE)
                        .bind(user_id.as_str())
                        .bind(at.millis())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() > 0 {
                        sqlx::query(END_SESSIONS)
                            .bind(user_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    done.rows_affected()
                }
                None => sqlx::query(ENABLE)
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
            };
            if changed == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn sign_out_everywhere(
        &self,
        user_id: &UserId,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(NEXT_EPOCH)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let ended = sqlx::query(END_SESSIONS)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(ended))
        })
        .await
    }
}
