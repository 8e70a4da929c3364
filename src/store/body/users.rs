//! [`UserStore`]: users, pending sign-ups and the lockout's guess counter.
use std::sync::LazyLock;

use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::email::EmailAddress;
use app::domain::ids::UserId;
use app::domain::lockout::{GuessReservation, LockoutPolicy};
use app::domain::users::{
    ConfirmOutcome, EmailChange, EmailChangeOutcome, NewPendingSignUp, NewSignUp, PendingSignUp,
    SignUpOutcome, UserRecord,
};
use app::ports::{StoreResult, UserStore};
use async_trait::async_trait;

use super::accounts::{insert_account_with_owner, NewAccountRows};
use super::throttles::REFUND_HIT;
use super::{audit_in, is_unique_violation, SqlStore, Tx};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode_opt, EmailChangeRow, PendingSignUpRow, UserRow};

const USER_COLUMNS: &str =
    "id, email, password_hash, email_confirmed_at, failed_attempts, locked_until, session_epoch, created_at";
pub(super) static USER_BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"));
pub(super) static USER_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"));
pub(super) const INSERT_CONFIRMED_USER: &str = "
INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at) VALUES ($1, $2, $3, $4, $4)";

/// Counts a guess before the password is checked. Old values are read on the right-hand
/// side, so: an expired lock starts a new series at 1; the guess that reaches the maximum
/// sets the lock at once; no row comes back while locked or while the last guess is in flight.
const RESERVE_GUESS: &str = "
UPDATE users SET
    failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1
                           ELSE failed_attempts + 1 END,
    locked_until = CASE
        WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1
                   ELSE failed_attempts + 1 END) >= $3 THEN $4
        WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL
        ELSE locked_until END
WHERE id = $1
  AND (failed_attempts < $3 OR (locked_until IS NOT NULL AND locked_until <= $2))
RETURNING failed_attempts";
const SIGN_IN_SUCCEEDED: &str = "
UPDATE users SET failed_attempts = 0, locked_until = NULL,
                 password_hash = COALESCE($2, password_hash)
WHERE id = $1";
/// A password changed by its signed-in owner: the lockout clears and the session epoch moves
/// on, so every session from before ends (the one that made the change takes the new epoch).
const CHANGE_PASSWORD: &str = "
UPDATE users SET password_hash = $2, failed_attempts = 0, locked_until = NULL,
                 session_epoch = session_epoch + 1
WHERE id = $1
RETURNING session_epoch";
pub(super) const END_OTHER_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2";
const PUT_EMAIL_CHANGE: &str = "
INSERT INTO email_changes (token_hash, user_id, new_email, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,
    new_email = excluded.new_email, expires_at = excluded.expires_at,
    created_at = excluded.created_at";
const EMAIL_CHANGE: &str = "
SELECT c.user_id, u.email AS old_email, c.new_email
FROM email_changes c JOIN users u ON u.id = c.user_id
WHERE c.token_hash = $1 AND c.expires_at > $2";
const TAKE_EMAIL_CHANGE: &str = "
DELETE FROM email_changes WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id";
const CHANGE_EMAIL: &str = "
UPDATE users SET email = $2, email_confirmed_at = COALESCE(email_confirmed_at, $3) WHERE id = $1";
const DROP_EMAIL_CHANGE: &str = "DELETE FROM email_changes WHERE token_hash = $1";
const STORE_REHASH: &str =
    "UPDATE users SET password_hash = COALESCE($2, password_hash) WHERE id = $1";
pub(super) const UNLOCK_USER: &str =
    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1";

const PUT_PENDING_SIGN_UP: &str = "
INSERT INTO pending_sign_ups (email, token_hash, expires_at, created_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (email) DO UPDATE SET token_hash = excluded.token_hash,
    expires_at = excluded.expires_at, created_at = excluded.created_at";
const PENDING_SIGN_UP: &str =
    "SELECT email FROM pending_sign_ups WHERE token_hash = $1 AND expires_at > $2";
const RENEW_PENDING_SIGN_UP: &str = "
UPDATE pending_sign_ups SET token_hash = $2, expires_at = $3
WHERE email = $1 AND expires_at > $4";
/// Single use even under concurrency: only one DELETE can return the row.
const TAKE_PENDING_SIGN_UP: &str = "
DELETE FROM pending_sign_ups WHERE token_hash = $1 AND expires_at > $2
RETURNING email";
pub(super) const DELETE_PENDING_FOR_EMAIL: &str = "DELETE FROM pending_sign_ups WHERE email = $1";

/// Inserts a confirmed user with their own account, owner membership and first workspace
/// inside `tx`, with the account's audit event. `Ok(false)`: the email already has a user.
async fn insert_user_with_account(tx: &mut Tx, new: &NewSignUp) -> DbResult<bool> {
    let inserted = sqlx::query(INSERT_CONFIRMED_USER)
        .bind(new.user_id.as_str())
        .bind(new.email.as_str())
        .bind(&new.password_hash)
        .bind(new.now.millis())
        .execute(&mut **tx)
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    insert_account_with_owner(
        tx,
        NewAccountRows {
            account_id: new.account_id.as_str(),
            name: &new.account_name,
            plan: &new.plan,
            owner_user_id: new.user_id.as_str(),
            workspace_id: new.workspace_id.as_str(),
            workspace_name: &new.workspace_name,
            now: new.now,
        },
    )
    .await?;
    audit_in(
        tx,
        AuditEvent {
            account_id: Some(new.account_id.clone()),
            actor_user_id: Some(new.user_id.clone()),
            action: "account.created".into(),
            detail: None,
            at: new.now,
        },
    )
    .await?;
    Ok(true)
}

impl SqlStore {
    /// A user by `USER_BY_EMAIL` or `USER_BY_ID`.
    async fn user_where(&self, sql: &str, value: &str) -> DbResult<Option<UserRecord>> {
        let row = sqlx::query_as::<_, UserRow>(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        decode_opt(row)
    }
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user_with_account(
        &self,
        new: NewSignUp,
        audit: AuditEvent,
    ) -> StoreResult<SignUpOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            if !insert_user_with_account(&mut tx, &new).await? {
                return Ok(SignUpOutcome::EmailTaken);
            }
            audit_in(&mut tx, audit).await?;
            sqlx::query(DELETE_PENDING_FOR_EMAIL)
                .bind(new.email.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(SignUpOutcome::Created)
        })
        .await
    }

    async fn put_pending_sign_up(&self, p: NewPendingSignUp) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(PUT_PENDING_SIGN_UP)
                .bind(p.email.as_str())
                .bind(&p.token_hash)
                .bind(p.expires_at.millis())
                .bind(p.now.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn pending_sign_up(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<PendingSignUp>> {
        port(async {
            let row = sqlx::query_as::<_, PendingSignUpRow>(PENDING_SIGN_UP)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await?;
            decode_opt(row)
        })
        .await
    }

    async fn renew_pending_sign_up(
        &self,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(RENEW_PENDING_SIGN_UP)
                .bind(email.as_str())
                .bind(token_hash)
                .bind(expires_at.millis())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn confirm_sign_up(
        &self,
        token_hash: &str,
        new: NewSignUp,
    ) -> StoreResult<ConfirmOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            let taken = sqlx::query_as::<_, PendingSignUpRow>(TAKE_PENDING_SIGN_UP)
                .bind(token_hash)
                .bind(new.now.millis())
                .fetch_optional(&mut *tx)
                .await?;
            let Some(pending) = decode_opt::<_, PendingSignUp>(taken)? else {
                return Ok(ConfirmOutcome::Dead);
            };
            // The link decides whose user this is: the email of the pending row. The password is
            // the one typed on the page behind the link.
            let new = NewSignUp {
                email: pending.email,
                ..new
            };
            let outcome = if insert_user_with_account(&mut tx, &new).await? {
                ConfirmOutcome::Created {
                    user_id: new.user_id.clone(),
                    session_epoch: 0,
                }
            } else {
                ConfirmOutcome::AlreadyUser
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>> {
        port(self.user_where(&USER_BY_EMAIL, email.as_str())).await
    }

    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserRecord>> {
        port(self.user_where(&USER_BY_ID, user_id.as_str())).await
    }

    async fn reserve_guess(
        &self,
        user_id: &UserId,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> StoreResult<GuessReservation> {
        port(async {
            let attempt = self
                .write_returning(
                    sqlx::query_as::<_, (i64,)>(RESERVE_GUESS)
                        .bind(user_id.as_str())
                        .bind(now.millis())
                        .bind(i64::from(policy.max_failures))
                        .bind(policy.lock_until(now).millis()),
                )
                .await?;
            Ok(match attempt {
                Some((n,)) => GuessReservation::Granted {
                    attempt: u32::try_from(n).unwrap_or(u32::MAX),
                },
                None => GuessReservation::Refused,
            })
        })
        .await
    }

    async fn sign_in_succeeded(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(SIGN_IN_SUCCEEDED)
                .bind(user_id.as_str())
                .bind(rehash)
                .execute(&mut *tx)
                .await?;
            if let Some((key, window_start)) = refund {
                sqlx::query(REFUND_HIT)
                    .bind(key)
                    .bind(window_start.millis())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn password_checked(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            if rehash.is_some() {
                sqlx::query(STORE_REHASH)
                    .bind(user_id.as_str())
                    .bind(rehash)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((key, window_start)) = refund {
                sqlx::query(REFUND_HIT)
                    .bind(key)
                    .bind(window_start.millis())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn unlock_user(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(UNLOCK_USER)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn change_password(
        &self,
        user_id: &UserId,
        new_password_hash: &str,
        keep_session: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<i64>> {
        port(async {
            let mut tx = self.begin().await?;
            let epoch: Option<i64> = sqlx::query_scalar(CHANGE_PASSWORD)
                .bind(user_id.as_str())
                .bind(new_password_hash)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(epoch) = epoch else {
                return Ok(None);
            };
            sqlx::query(END_OTHER_SESSIONS)
                .bind(user_id.as_str())
                .bind(keep_session)
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(epoch))
        })
        .await
    }

    async fn put_email_change(
        &self,
        user_id: &UserId,
        new_email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        port(async {
            let query = sqlx::query(PUT_EMAIL_CHANGE)
                .bind(token_hash)
                .bind(user_id.as_str())
                .bind(new_email.as_str())
                .bind(expires_at.millis())
                .bind(now.millis());
            self.write(query).await?;
            Ok(())
        })
        .await
    }

    async fn email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<EmailChange>> {
        port(async {
            let row = sqlx::query_as::<_, EmailChangeRow>(EMAIL_CHANGE)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await?;
            decode_opt(row)
        })
        .await
    }

    async fn redeem_email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailChangeOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            let Some(change) = sqlx::query_as::<_, EmailChangeRow>(EMAIL_CHANGE)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(EmailChangeOutcome::Dead);
            };
            let change = EmailChange::try_from(change)?;
            let taken: Option<String> = sqlx::query_scalar(TAKE_EMAIL_CHANGE)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_none() {
                return Ok(EmailChangeOutcome::Dead);
            }
            let changed = sqlx::query(CHANGE_EMAIL)
                .bind(change.user_id.as_str())
                .bind(change.new_email.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await;
            match changed {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    // The address is someone else's now: this link can never work.
                    self.write(sqlx::query(DROP_EMAIL_CHANGE).bind(token_hash))
                        .await?;
                    return Ok(EmailChangeOutcome::Taken);
                }
                Err(e) => return Err(e.into()),
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(EmailChangeOutcome::Changed(change))
        })
        .await
    }
}
