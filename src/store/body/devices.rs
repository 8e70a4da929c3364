//! [`DeviceStore`]: known devices, the "This wasn't me" links and password blocks.
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::UserId;
use app::ports::{DeviceStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, SqlStore};
use crate::store::error::port;

/// A new pair inserts a row; of two concurrent sign-ins from one new pair, one inserts it.
const INSERT_DEVICE: &str = "
INSERT INTO known_devices (user_id, device_hash, network, first_seen, last_seen)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (user_id, device_hash, network) DO NOTHING";
const SEEN_DEVICE: &str = "
UPDATE known_devices SET last_seen = $4 WHERE user_id = $1 AND device_hash = $2 AND network = $3";
const PUT_NOTICE: &str = "
INSERT INTO sign_in_notices (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)";
const NOTICE: &str = "
SELECT user_id FROM sign_in_notices WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
/// Single use even under concurrency: only one UPDATE can flip `used_at` from NULL.
const USE_NOTICE: &str = "
UPDATE sign_in_notices SET used_at = $3
WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3";
const BUMP_EPOCH: &str = "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1";
const END_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
const BLOCK_PASSWORD: &str = "
INSERT INTO password_blocks (user_id, since) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING";
const PASSWORD_BLOCKED: &str = "SELECT COUNT(*) FROM password_blocks WHERE user_id = $1";
/// A password reset clears the block (in the reset's transaction, `tokens.rs`).
pub(super) const UNBLOCK_PASSWORD: &str = "DELETE FROM password_blocks WHERE user_id = $1";

#[async_trait]
impl DeviceStore for SqlStore {
    async fn remember_device(
        &self,
        user_id: &UserId,
        device_hash: &str,
        network: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        port(async {
            let bind = |sql| {
                sqlx::query(sql)
                    .bind(user_id.as_str())
                    .bind(device_hash)
                    .bind(network)
                    .bind(now.millis())
            };
            if self.write(bind(INSERT_DEVICE)).await? > 0 {
                return Ok(true);
            }
            self.write(bind(SEEN_DEVICE)).await?;
            Ok(false)
        })
        .await
    }

    async fn put_sign_in_notice(
        &self,
        user_id: &UserId,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        port(async {
            let query = sqlx::query(PUT_NOTICE)
                .bind(token_hash)
                .bind(user_id.as_str())
                .bind(expires_at.millis())
                .bind(now.millis());
            self.write(query).await?;
            Ok(())
        })
        .await
    }

    async fn sign_in_notice(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>> {
        port(async {
            let user: Option<String> = sqlx::query_scalar(NOTICE)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await?;
            Ok(user.map(UserId::from_stored))
        })
        .await
    }

    async fn disown_sign_in(
        &self,
        token_hash: &str,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let used = sqlx::query(USE_NOTICE)
                .bind(token_hash)
                .bind(user_id.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            if used.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(BUMP_EPOCH)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(END_USER_SESSIONS)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(BLOCK_PASSWORD)
                .bind(user_id.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn password_blocked(&self, user_id: &UserId) -> StoreResult<bool> {
        port(async {
            let (n,): (i64,) = sqlx::query_as(PASSWORD_BLOCKED)
                .bind(user_id.as_str())
                .fetch_one(&self.pool)
                .await?;
            Ok(n > 0)
        })
        .await
    }
}
