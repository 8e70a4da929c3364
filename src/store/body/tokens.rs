//! [`TokenStore`]: one-time tokens (reset and unlock links).
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::UserId;
use app::domain::tokens::TokenPurpose;
use app::ports::{StoreResult, TokenStore};
use async_trait::async_trait;

use super::devices::UNBLOCK_PASSWORD;
use super::users::UNLOCK_USER;
use super::{audit_in, SqlStore, Tx};
use crate::store::error::{port, DbResult};

const INSERT_TOKEN: &str = "
INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5)";
const TOKEN_IS_LIVE: &str = "
SELECT COUNT(*) FROM one_time_tokens
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3";
/// Single use even under concurrency: only one UPDATE can flip `used_at` from NULL.
const CONSUME_TOKEN: &str = "
UPDATE one_time_tokens SET used_at = $3
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
RETURNING user_id";
const VOID_TOKENS: &str = "
UPDATE one_time_tokens SET used_at = $3
WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";
const RESET_USER: &str = "
UPDATE users SET password_hash = $2,
                 email_confirmed_at = COALESCE(email_confirmed_at, $3),
                 failed_attempts = 0, locked_until = NULL,
                 session_epoch = session_epoch + 1
WHERE id = $1";

/// Ends every session of the user (the rows go; the new epoch refuses any copy of one).
const END_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

/// Uses a token inside `tx`: its user, or `None` when unknown, used or expired.
async fn consume(
    tx: &mut Tx,
    purpose: TokenPurpose,
    token_hash: &str,
    now: Timestamp,
) -> DbResult<Option<String>> {
    Ok(sqlx::query_scalar::<_, String>(CONSUME_TOKEN)
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now.millis())
        .fetch_optional(&mut **tx)
        .await?)
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn insert_token(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        port(async {
            self.write(
                sqlx::query(INSERT_TOKEN)
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(user_id.as_str())
                    .bind(expires_at.millis())
                    .bind(now.millis()),
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn insert_token_audited(
        &self,
        user_id: &UserId,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(INSERT_TOKEN)
                .bind(token_hash)
                .bind(purpose.as_str())
                .bind(user_id.as_str())
                .bind(expires_at.millis())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn token_is_live(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        port(async {
            let n = sqlx::query_scalar::<_, i64>(TOKEN_IS_LIVE)
                .bind(token_hash)
                .bind(purpose.as_str())
                .bind(now.millis())
                .fetch_one(&self.pool)
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn redeem_unlock(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<UserId>> {
        port(async {
            let mut tx = self.begin().await?;
            let Some(user_id) = consume(&mut tx, TokenPurpose::Unlock, token_hash, now).await?
            else {
                return Ok(None);
            };
            sqlx::query(UNLOCK_USER)
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(UserId::from_stored(user_id)))
        })
        .await
    }

    async fn redeem_reset(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>> {
        port(async {
            let mut tx = self.begin().await?;
            let Some(user_id) = consume(&mut tx, TokenPurpose::Reset, token_hash, now).await?
            else {
                return Ok(None);
            };
            sqlx::query(RESET_USER)
                .bind(&user_id)
                .bind(new_password_hash)
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query(VOID_TOKENS)
                .bind(&user_id)
                .bind(TokenPurpose::Reset.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query(END_USER_SESSIONS)
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(UNBLOCK_PASSWORD)
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(UserId::from_stored(user_id)))
        })
        .await
    }
}
