//! [`SecondFactorStore`]: authenticator apps (TOTP) and recovery codes.
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::UserId;
use app::domain::second_factors::{NewTotpFactor, TotpFactor};
use app::ports::{SecondFactorStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, is_unique_violation, SqlStore, Tx};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode_opt, TotpFactorRow};

const TOTP_FACTOR: &str =
    "SELECT user_id, secret_sealed, last_step, confirmed_at FROM totp_factors WHERE user_id = $1";
const INSERT_TOTP_FACTOR: &str = "
INSERT INTO totp_factors (user_id, secret_sealed, last_step, confirmed_at) VALUES ($1, $2, $3, $4)";
/// A code is accepted once: only a step later than the last one accepted moves it, so of two
/// concurrent requests with the same code exactly one changes the row.
const ACCEPT_TOTP_STEP: &str =
    "UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2";
const DELETE_TOTP_FACTOR: &str = "DELETE FROM totp_factors WHERE user_id = $1";
const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)";
/// Single use even under concurrency: only one UPDATE can find the code unused.
const USE_RECOVERY_CODE: &str = "
UPDATE recovery_codes SET used_at = $3
WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
const RECOVERY_CODES_LEFT: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";

/// Replaces the person's recovery codes inside `tx`.
async fn replace_codes(
    tx: &mut Tx,
    user_id: &UserId,
    hashes: &[String],
    now: Timestamp,
) -> DbResult<()> {
    sqlx::query(DELETE_RECOVERY_CODES)
        .bind(user_id.as_str())
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(INSERT_RECOVERY_CODE)
            .bind(user_id.as_str())
            .bind(hash)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[async_trait]
impl SecondFactorStore for SqlStore {
    async fn totp_factor(&self, user_id: &UserId) -> StoreResult<Option<TotpFactor>> {
        port(self.optional::<TotpFactorRow, _>(TOTP_FACTOR, &[user_id.as_str()])).await
    }

    async fn add_totp_factor(&self, new: NewTotpFactor, audit: AuditEvent) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let inserted = sqlx::query(INSERT_TOTP_FACTOR)
                .bind(new.user_id.as_str())
                .bind(&new.secret_sealed)
                .bind(new.step)
                .bind(new.now.millis())
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            replace_codes(&mut tx, &new.user_id, &new.recovery_hashes, new.now).await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        port(async {
            Ok(self
                .write(
                    sqlx::query(ACCEPT_TOTP_STEP)
                        .bind(user_id.as_str())
                        .bind(step),
                )
                .await?
                > 0)
        })
        .await
    }

    async fn remove_totp_factor(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(DELETE_TOTP_FACTOR)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(DELETE_RECOVERY_CODES)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let factor = sqlx::query_as::<_, TotpFactorRow>(TOTP_FACTOR)
                .bind(user_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if decode_opt::<_, TotpFactor>(factor)?.is_none() {
                return Ok(false);
            }
            replace_codes(&mut tx, user_id, hashes, now).await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u32>> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(USE_RECOVERY_CODE)
                .bind(user_id.as_str())
                .bind(code_hash)
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let (left,): (i64,) = sqlx::query_as(RECOVERY_CODES_LEFT)
                .bind(user_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(count(left)))
        })
        .await
    }

    async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<u32> {
        port(async {
            let (left,): (i64,) = sqlx::query_as(RECOVERY_CODES_LEFT)
                .bind(user_id.as_str())
                .fetch_one(&self.pool)
                .await?;
            Ok(count(left))
        })
        .await
    }
}
