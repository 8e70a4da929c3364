//! [`SecondFactorStore`]: authenticator apps (TOTP), recovery codes, passkeys and their
//! ceremonies.
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{PasskeyId, UserId};
use app::domain::passkeys::{Ceremony, StoredPasskey};
use app::domain::second_factors::{NewTotpFactor, TotpFactor};
use app::ports::{SecondFactorStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, is_unique_violation, SqlStore, Tx};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode, decode_opt, CeremonyRow, PasskeyRow, TotpFactorRow};

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
/// Recovery codes belong to the second factors as a whole: they go with the last one (checked
/// in the statement itself, so a factor added meanwhile keeps them).
const DELETE_RECOVERY_CODES_WITHOUT_FACTORS: &str = "
DELETE FROM recovery_codes WHERE user_id = $1
AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)
AND NOT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1)";
const DELETE_PASSKEYS: &str = "DELETE FROM passkeys WHERE user_id = $1";
const HAS_PASSKEY: &str = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)";
/// Single use even under concurrency: only one UPDATE can find the code unused.
const USE_RECOVERY_CODE: &str = "
UPDATE recovery_codes SET used_at = $3
WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
const RECOVERY_CODES_LEFT: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";

const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, name, passkey, created_at, last_used_at";
const INSERT_PASSKEY: &str = "
INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at, last_used_at)
VALUES ($1, $2, $3, $4, $5, $6, NULL)";
const PASSKEY_USED: &str = "UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1";
const DELETE_PASSKEY: &str = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";
const DELETE_EXPIRED_CEREMONIES: &str = "DELETE FROM passkey_ceremonies WHERE expires_at <= $1";
const INSERT_CEREMONY: &str = "
INSERT INTO passkey_ceremonies (handle_hash, purpose, user_id, name, state, expires_at, used_at)
VALUES ($1, $2, $3, $4, $5, $6, NULL)";
/// Single use even under concurrency: only one UPDATE can find the ceremony unused.
const TAKE_CEREMONY: &str = "
UPDATE passkey_ceremonies SET used_at = $2
WHERE handle_hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING purpose, user_id, name, state, expires_at";

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
            if !new.recovery_hashes.is_empty() {
                replace_codes(&mut tx, &new.user_id, &new.recovery_hashes, new.now).await?;
            }
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
            sqlx::query(DELETE_RECOVERY_CODES_WITHOUT_FACTORS)
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
            let (passkeys,): (i64,) = sqlx::query_as(HAS_PASSKEY)
                .bind(user_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if decode_opt::<_, TotpFactor>(factor)?.is_none() && passkeys == 0 {
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

    async fn passkeys(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>> {
        port(async {
            let sql =
                format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id");
            let rows = sqlx::query_as::<_, PasskeyRow>(&sql)
                .bind(user_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        port(self.optional::<PasskeyRow, _>(&sql, &[credential_id])).await
    }

    async fn add_passkey(
        &self,
        passkey: StoredPasskey,
        recovery_hashes: &[String],
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let inserted = sqlx::query(INSERT_PASSKEY)
                .bind(passkey.id.as_str())
                .bind(passkey.user_id.as_str())
                .bind(&passkey.credential_id)
                .bind(&passkey.name)
                .bind(&passkey.credential)
                .bind(passkey.created_at.millis())
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            if !recovery_hashes.is_empty() {
                replace_codes(
                    &mut tx,
                    &passkey.user_id,
                    recovery_hashes,
                    passkey.created_at,
                )
                .await?;
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn passkey_used(
        &self,
        id: &PasskeyId,
        credential: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        port(async {
            Ok(self
                .write(
                    sqlx::query(PASSKEY_USED)
                        .bind(id.as_str())
                        .bind(credential)
                        .bind(now.millis()),
                )
                .await?
                > 0)
        })
        .await
    }

    async fn delete_passkey(
        &self,
        user_id: &UserId,
        id: &PasskeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(DELETE_PASSKEY)
                .bind(id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(DELETE_RECOVERY_CODES_WITHOUT_FACTORS)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn remove_second_factors(
        &self,
        user_id: &UserId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let mut removed = 0;
            for sql in [DELETE_TOTP_FACTOR, DELETE_PASSKEYS, DELETE_RECOVERY_CODES] {
                removed += sqlx::query(sql)
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            if removed == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn save_ceremony(
        &self,
        handle_hash: &str,
        ceremony: Ceremony,
        now: Timestamp,
    ) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(DELETE_EXPIRED_CEREMONIES)
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_CEREMONY)
                .bind(handle_hash)
                .bind(ceremony.purpose.as_str())
                .bind(ceremony.user_id.as_ref().map(UserId::as_str))
                .bind(ceremony.name.as_deref())
                .bind(&ceremony.state)
                .bind(ceremony.expires_at.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn take_ceremony(
        &self,
        handle_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>> {
        port(async {
            let row = self
                .write_returning(
                    sqlx::query_as::<_, CeremonyRow>(TAKE_CEREMONY)
                        .bind(handle_hash)
                        .bind(now.millis()),
                )
                .await?;
            decode_opt(row)
        })
        .await
    }
}
