//! `SqliteStore` and `PostgresStore`: one body, expanded once per database by a macro, so the
//! two can never drift apart. Only the pool type differs.
use std::time::Duration;

use app::domain::clock::Timestamp;
use app::domain::email::EmailAddress;
use app::domain::lockout::{GuessReservation, LockoutPolicy};
use app::domain::tokens::TokenPurpose;
use app::ports::{
    IpFailures, Membership, NewSignUp, Role, SignUpOutcome, Store, StoreError, StoreResult,
    UserRecord, Workspace,
};
use async_trait::async_trait;
use sqlx::Row as _;

use super::queries as q;

fn db_err(e: sqlx::Error) -> StoreError {
    StoreError(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

macro_rules! sql_store {
    ($name:ident, $pool:ty, $row:ty) => {
        /// The store over this database's connection pool.
        #[derive(Clone)]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }

            fn user_from_row(row: &$row) -> Result<UserRecord, sqlx::Error> {
                let email: String = row.try_get("email")?;
                Ok(UserRecord {
                    id: row.try_get("id")?,
                    email: EmailAddress::parse(&email)
                        .map_err(|e| sqlx::Error::Decode(format!("stored email: {e}").into()))?,
                    password_hash: row.try_get("password_hash")?,
                    email_confirmed_at: ts(row.try_get("email_confirmed_at")?),
                    failed_attempts: u32::try_from(row.try_get::<i64, _>("failed_attempts")?)
                        .unwrap_or(u32::MAX),
                    locked_until: ts(row.try_get("locked_until")?),
                    session_epoch: row.try_get("session_epoch")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            }

            async fn user_where(
                &self,
                column: &str,
                value: &str,
            ) -> StoreResult<Option<UserRecord>> {
                let sql = format!("SELECT {} FROM users WHERE {column} = $1", q::USER_COLUMNS);
                let row = sqlx::query(&sql)
                    .bind(value)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref()
                    .map(Self::user_from_row)
                    .transpose()
                    .map_err(db_err)
            }

            /// Uses a token inside `tx`; `None` when unknown, used or expired.
            async fn consume(
                tx: &mut sqlx::Transaction<'_, <$pool as PoolDb>::Db>,
                purpose: TokenPurpose,
                token_hash: &str,
                now: Timestamp,
            ) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar::<_, String>(q::CONSUME_TOKEN)
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(now.millis())
                    .fetch_optional(&mut **tx)
                    .await
            }

            /// Redeems a token and applies `effect` to its user, all in one transaction.
            async fn redeem(
                &self,
                purpose: TokenPurpose,
                token_hash: &str,
                now: Timestamp,
                effect: &str,
                effect_args: (Option<&str>, Option<i64>),
            ) -> StoreResult<Option<String>> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let Some(user_id) = Self::consume(&mut tx, purpose, token_hash, now)
                    .await
                    .map_err(db_err)?
                else {
                    return Ok(None);
                };
                let mut query = sqlx::query(effect).bind(&user_id);
                if let Some(text) = effect_args.0 {
                    query = query.bind(text.to_owned());
                }
                if let Some(number) = effect_args.1 {
                    query = query.bind(number);
                }
                query.execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(Some(user_id))
            }
        }

        #[async_trait]
        impl Store for $name {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query(q::PING)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn sign_up(&self, new: NewSignUp) -> StoreResult<SignUpOutcome> {
                let now = new.now.millis();
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let inserted = sqlx::query(q::INSERT_USER)
                    .bind(&new.user_id)
                    .bind(new.email.as_str())
                    .bind(&new.password_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Ok(SignUpOutcome::EmailTaken),
                    Err(e) => return Err(db_err(e)),
                }
                sqlx::query(q::INSERT_ACCOUNT)
                    .bind(&new.account_id)
                    .bind(&new.account_name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(q::INSERT_MEMBERSHIP)
                    .bind(&new.account_id)
                    .bind(&new.user_id)
                    .bind(Role::Owner.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(q::INSERT_WORKSPACE)
                    .bind(&new.workspace_id)
                    .bind(&new.account_id)
                    .bind(&new.workspace_name)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(SignUpOutcome::Created)
            }

            async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>> {
                self.user_where("email", email.as_str()).await
            }

            async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<UserRecord>> {
                self.user_where("id", user_id).await
            }

            async fn reserve_guess(
                &self,
                user_id: &str,
                now: Timestamp,
                policy: &LockoutPolicy,
            ) -> StoreResult<GuessReservation> {
                let attempt = sqlx::query_scalar::<_, i64>(q::RESERVE_GUESS)
                    .bind(user_id)
                    .bind(now.millis())
                    .bind(i64::from(policy.max_failures))
                    .bind(policy.lock_until(now).millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(match attempt {
                    Some(n) => GuessReservation::Granted {
                        attempt: u32::try_from(n).unwrap_or(u32::MAX),
                    },
                    None => GuessReservation::Refused,
                })
            }

            async fn sign_in_succeeded(
                &self,
                user_id: &str,
                rehash: Option<String>,
            ) -> StoreResult<()> {
                sqlx::query(q::SIGN_IN_SUCCEEDED)
                    .bind(user_id)
                    .bind(rehash)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn record_ip_failure(&self, client_ip: &str, now: Timestamp) -> StoreResult<()> {
                sqlx::query(q::INSERT_IP_FAILURE)
                    .bind(client_ip)
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn ip_failures_since(
                &self,
                client_ip: &str,
                since: Timestamp,
            ) -> StoreResult<IpFailures> {
                let row = sqlx::query(q::IP_FAILURES_SINCE)
                    .bind(client_ip)
                    .bind(since.millis())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let count: i64 = row.try_get(0).map_err(db_err)?;
                let oldest: Option<i64> = row.try_get(1).map_err(db_err)?;
                Ok(IpFailures {
                    count: u64::try_from(count).unwrap_or(0),
                    oldest: ts(oldest),
                })
            }

            async fn insert_token(
                &self,
                user_id: &str,
                purpose: TokenPurpose,
                token_hash: &str,
                expires_at: Timestamp,
                now: Timestamp,
            ) -> StoreResult<()> {
                sqlx::query(q::INSERT_TOKEN)
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(user_id)
                    .bind(expires_at.millis())
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn token_is_live(
                &self,
                purpose: TokenPurpose,
                token_hash: &str,
                now: Timestamp,
            ) -> StoreResult<bool> {
                let n = sqlx::query_scalar::<_, i64>(q::TOKEN_IS_LIVE)
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(now.millis())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(n > 0)
            }

            async fn redeem_confirm(
                &self,
                token_hash: &str,
                now: Timestamp,
            ) -> StoreResult<Option<String>> {
                self.redeem(
                    TokenPurpose::Confirm,
                    token_hash,
                    now,
                    q::CONFIRM_USER,
                    (None, Some(now.millis())),
                )
                .await
            }

            async fn redeem_unlock(
                &self,
                token_hash: &str,
                now: Timestamp,
            ) -> StoreResult<Option<String>> {
                self.redeem(
                    TokenPurpose::Unlock,
                    token_hash,
                    now,
                    q::UNLOCK_USER,
                    (None, None),
                )
                .await
            }

            async fn redeem_reset(
                &self,
                token_hash: &str,
                new_password_hash: &str,
                now: Timestamp,
            ) -> StoreResult<Option<String>> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let Some(user_id) = Self::consume(&mut tx, TokenPurpose::Reset, token_hash, now)
                    .await
                    .map_err(db_err)?
                else {
                    return Ok(None);
                };
                sqlx::query(q::RESET_USER)
                    .bind(&user_id)
                    .bind(new_password_hash)
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(q::VOID_TOKENS)
                    .bind(&user_id)
                    .bind(TokenPurpose::Reset.as_str())
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(Some(user_id))
            }

            async fn take_mail_slot(
                &self,
                key: &str,
                now: Timestamp,
                interval: Duration,
            ) -> StoreResult<bool> {
                let taken = sqlx::query_scalar::<_, String>(q::TAKE_MAIL_SLOT)
                    .bind(key)
                    .bind(now.millis())
                    .bind(now.minus(interval).millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(taken.is_some())
            }

            async fn memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
                let rows = sqlx::query(q::MEMBERSHIPS)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let role: String = row.try_get(2)?;
                        Ok(Membership {
                            account_id: row.try_get(0)?,
                            account_name: row.try_get(1)?,
                            role: Role::parse(&role).ok_or_else(|| {
                                sqlx::Error::Decode(format!("unknown role {role}").into())
                            })?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db_err)
            }

            async fn workspaces(&self, account_id: &str) -> StoreResult<Vec<Workspace>> {
                let rows = sqlx::query(q::WORKSPACES)
                    .bind(account_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(Workspace {
                            id: row.try_get(0)?,
                            account_id: row.try_get(1)?,
                            name: row.try_get(2)?,
                            created_at: Timestamp(row.try_get(3)?),
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db_err)
            }

            async fn prune(&self, now: Timestamp, ip_window: Duration) -> StoreResult<()> {
                sqlx::query(q::PRUNE_IP_FAILURES)
                    .bind(now.minus(ip_window).millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                sqlx::query(q::PRUNE_TOKENS)
                    .bind(now.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

/// Names the database type behind a pool, so the macro can spell transaction types.
pub trait PoolDb {
    type Db: sqlx::Database;
}
impl PoolDb for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
}
impl PoolDb for sqlx::PgPool {
    type Db = sqlx::Postgres;
}

sql_store!(SqliteStore, sqlx::SqlitePool, sqlx::sqlite::SqliteRow);
sql_store!(PostgresStore, sqlx::PgPool, sqlx::postgres::PgRow);
