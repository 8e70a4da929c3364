//! `SqliteStore` and `PostgresStore`: one body, expanded once per database by a macro, so the
//! two can never drift apart. Only the pool type differs, and SQLite's API reads can go
//! through `sqlite_reads` (same query text).
//!
//! Every write runs in a transaction whose `COMMIT` is awaited and checked (`write`,
//! `write_returning`, or `begin` … `tx.commit()` for several statements): no method reports a
//! change the database did not commit. A bare `fetch_optional` on an `UPDATE … RETURNING` in
//! autocommit is the trap this avoids: sqlx's SQLite driver stops stepping after the first row
//! and resets the statement, which is when SQLite commits, and the error of that reset (a full
//! disk, a read-only file) is dropped.
use std::sync::Arc;
use std::time::Duration;

use app::domain::accounts::{Account, NewAccount};
use app::domain::api_keys::{scopes_from_db, scopes_to_db};
use app::domain::api_keys::{ApiKeyRecord, KeyGrant, NewApiKey};
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use app::domain::email::EmailAddress;
use app::domain::lockout::Hit;
use app::domain::lockout::{GuessReservation, LockoutPolicy};
use app::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
use app::domain::paging::PageRequest;
use app::domain::roles::Role;
use app::domain::sso::{
    EnforceOutcome, ServedDomain, SsoConnection, SsoCreated, SsoSignIn, SsoSignInOutcome,
};
use app::domain::tokens::TokenPurpose;
use app::domain::users::{
    ConfirmOutcome, NewPendingSignUp, NewSignUp, PendingSignUp, SignUpOutcome, UserRecord,
};
use app::domain::workspaces::{DataRecord, Workspace};
use app::ports::{Store, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::Row as _;

use super::faults;
use super::queries as q;
use super::sqlite_reads::{self as inline_rows, InlineReads};

/// The one mapping of database errors; a storage fault also retires the pool's connections
/// (see `faults`).
fn db_err(e: sqlx::Error) -> StoreError {
    faults::note(&e);
    StoreError(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn pending_from(email: String, password_hash: String) -> Result<PendingSignUp, sqlx::Error> {
    Ok(PendingSignUp {
        email: EmailAddress::parse(&email)
            .map_err(|e| sqlx::Error::Decode(format!("stored email: {e}").into()))?,
        password_hash,
    })
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
            /// SQLite only (see `sqlite_reads`): the API's per-request reads, run inline.
            inline: Option<Arc<InlineReads>>,
        }

        impl $name {
            pub fn new(pool: $pool) -> Self {
                Self { pool, inline: None }
            }

            /// Starts a write of several statements. Nothing it did counts until
            /// `tx.commit().await` returned `Ok`; dropping it rolls back.
            async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, <$pool as PoolDb>::Db>> {
                self.pool.begin().await.map_err(db_err)
            }

            /// One write statement in autocommit, run to its end before it returns: the number
            /// of rows it changed. Both databases commit a lone statement as its last step, and
            /// report a failed commit (a full disk, a deferred constraint) as that statement's
            /// error, which `execute` waits for. (One round trip instead of BEGIN, statement,
            /// COMMIT: on PostgreSQL that is most of a write's cost.)
            async fn write<'q>(
                &self,
                query: sqlx::query::Query<'q, <$pool as PoolDb>::Db, <<$pool as PoolDb>::Db as sqlx::Database>::Arguments<'q>>,
            ) -> StoreResult<u64> {
                let done = query.execute(&self.pool).await.map_err(db_err)?;
                Ok(done.rows_affected())
            }

            /// One `… RETURNING` write in autocommit. Every row is read, so the statement runs
            /// to its end (its commit) before its row is handed back: stopping after the first
            /// row is what lost writes before, since the commit error then went unread.
            async fn write_returning<'q>(
                &self,
                query: sqlx::query::Query<'q, <$pool as PoolDb>::Db, <<$pool as PoolDb>::Db as sqlx::Database>::Arguments<'q>>,
            ) -> StoreResult<Option<$row>> {
                let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                Ok(rows.into_iter().next())
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

            fn workspace_from_row(row: &$row) -> Result<Workspace, sqlx::Error> {
                Ok(Workspace {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    name: row.try_get("name")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            }

            fn api_key_from_row(row: &$row) -> Result<ApiKeyRecord, sqlx::Error> {
                let scopes: Option<String> = row.try_get("scopes")?;
                Ok(ApiKeyRecord {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    name: row.try_get("name")?,
                    hint: row.try_get("hint")?,
                    scopes: scopes_from_db(scopes.as_deref()),
                    expires_at: ts(row.try_get("expires_at")?),
                    last_used_at: ts(row.try_get("last_used_at")?),
                    created_by: row.try_get("created_by")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            }

            fn record_from_row(row: &$row) -> Result<DataRecord, sqlx::Error> {
                Ok(DataRecord {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    workspace_id: row.try_get("workspace_id")?,
                    data: row.try_get("data")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    updated_at: Timestamp(row.try_get("updated_at")?),
                })
            }

            /// Runs a page query (see `queries::page_query`) and maps its rows.
            async fn page<T>(
                &self,
                sql: &str,
                account_id: &str,
                page: &PageRequest,
                filter: Option<Option<&str>>,
                map: fn(&$row) -> Result<T, sqlx::Error>,
            ) -> StoreResult<Vec<T>> {
                let mut query = sqlx::query(sql)
                    .bind(account_id)
                    .bind(page.starting_after.as_deref())
                    .bind(i64::from(page.limit) + 1);
                if let Some(value) = filter {
                    query = query.bind(value);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter()
                    .map(map)
                    .collect::<Result<_, _>>()
                    .map_err(db_err)
            }

            async fn one<T>(
                &self,
                sql: &str,
                account_id: &str,
                id: &str,
                map: fn(&$row) -> Result<T, sqlx::Error>,
            ) -> StoreResult<Option<T>> {
                let row = sqlx::query(sql)
                    .bind(account_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(map).transpose().map_err(db_err)
            }

            async fn affected(&self, sql: &str, account_id: &str, id: &str) -> StoreResult<bool> {
                Ok(self.write(sqlx::query(sql).bind(account_id).bind(id)).await? > 0)
            }

            fn invitation_from_row(row: &$row) -> Result<Invitation, sqlx::Error> {
                let email: String = row.try_get("email")?;
                let role: String = row.try_get("role")?;
                Ok(Invitation {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    account_name: row.try_get("account_name")?,
                    email: EmailAddress::parse(&email)
                        .map_err(|e| sqlx::Error::Decode(format!("stored email: {e}").into()))?,
                    role: Role::parse(&role)
                        .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
                    invited_by: row.try_get("invited_by")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    expires_at: Timestamp(row.try_get("expires_at")?),
                })
            }

            /// Applies `change` to a membership unless it would leave the account without an
            /// owner. `change` is a statement over (`$1` account, `$2` user[, `$3` role]).
            async fn change_membership(
                &self,
                account_id: &str,
                user_id: &str,
                new_role: Option<Role>,
            ) -> StoreResult<MembershipChange> {
                let mut tx = self.begin().await?;
                sqlx::query(q::LOCK_ACCOUNT).bind(account_id).execute(&mut *tx).await.map_err(db_err)?;
                let current = sqlx::query_scalar::<_, String>(q::ROLE_IN)
                    .bind(user_id)
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let Some(current) = current.as_deref().and_then(Role::parse) else {
                    return Ok(MembershipChange::NotAMember);
                };
                if current == Role::Owner && new_role != Some(Role::Owner) {
                    let owners = sqlx::query_scalar::<_, i64>(q::OWNER_COUNT)
                        .bind(account_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if owners <= 1 {
                        return Ok(MembershipChange::LastOwner);
                    }
                }
                match new_role {
                    Some(role) => sqlx::query(q::SET_ROLE).bind(account_id).bind(user_id).bind(role.as_str()),
                    None => sqlx::query(q::DELETE_MEMBERSHIP).bind(account_id).bind(user_id),
                }
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(MembershipChange::Done)
            }

            async fn invitation_where(&self, condition: &str, first: &str, now: Timestamp, account: Option<&str>) -> StoreResult<Vec<Invitation>> {
                let sql = format!(
                    "SELECT {} FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE {condition} AND {} ORDER BY i.id DESC",
                    q::INVITATION_COLUMNS,
                    q::LIVE_INVITATION
                );
                let mut query = sqlx::query(&sql).bind(first).bind(now.millis());
                if let Some(a) = account {
                    query = query.bind(a);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::invitation_from_row).collect::<Result<_, _>>().map_err(db_err)
            }

            /// A connection row plus the domains it serves.
            async fn sso_with_domains(&self, row: &$row) -> StoreResult<SsoConnection> {
                let id: String = row.try_get("id").map_err(db_err)?;
                let domains = sqlx::query(q::SSO_DOMAINS)
                    .bind(&id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|d| {
                        Ok(ServedDomain {
                            domain: d.try_get(0)?,
                            verified: d.try_get::<Option<i64>, _>(1)?.is_some(),
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(db_err)?;
                Ok(SsoConnection {
                    id,
                    account_id: row.try_get("account_id").map_err(db_err)?,
                    issuer: row.try_get("issuer").map_err(db_err)?,
                    client_id: row.try_get("client_id").map_err(db_err)?,
                    client_secret_sealed: row.try_get("client_secret_enc").map_err(db_err)?,
                    enforced: row.try_get::<i64, _>("enforced").map_err(db_err)? != 0,
                    domains,
                    tested_at: ts(row.try_get("tested_at").map_err(db_err)?),
                    created_at: Timestamp(row.try_get("created_at").map_err(db_err)?),
                })
            }

            fn domain_from_row(row: &$row) -> Result<AccountDomain, sqlx::Error> {
                Ok(AccountDomain {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    domain: row.try_get("domain")?,
                    token: row.try_get("token")?,
                    verified_at: ts(row.try_get("verified_at")?),
                    created_at: Timestamp(row.try_get("created_at")?),
                })
            }

            /// Writes an audit event inside the transaction of the change it records.
            async fn audit_in(
                tx: &mut sqlx::Transaction<'_, <$pool as PoolDb>::Db>,
                event: AuditEvent,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(q::INSERT_AUDIT)
                    .bind(app::domain::ids::new_id(app::domain::ids::AUDIT))
                    .bind(event.account_id)
                    .bind(event.actor_user_id)
                    .bind(event.action)
                    .bind(event.detail)
                    .bind(event.at.millis())
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
            }

            /// Inserts a confirmed user with their own account, owner membership and first
            /// workspace inside `tx`. `Ok(false)`: the email already has a user.
            async fn insert_user_with_account(
                tx: &mut sqlx::Transaction<'_, <$pool as PoolDb>::Db>,
                new: &NewSignUp,
            ) -> Result<bool, sqlx::Error> {
                let now = new.now.millis();
                let inserted = sqlx::query(q::INSERT_CONFIRMED_USER)
                    .bind(&new.user_id)
                    .bind(new.email.as_str())
                    .bind(&new.password_hash)
                    .bind(now)
                    .execute(&mut **tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Ok(false),
                    Err(e) => return Err(e),
                }
                sqlx::query(q::INSERT_ACCOUNT).bind(&new.account_id).bind(&new.account_name).bind(now).bind(&new.plan).execute(&mut **tx).await?;
                sqlx::query(q::INSERT_MEMBERSHIP)
                    .bind(&new.account_id)
                    .bind(&new.user_id)
                    .bind(Role::Owner.as_str())
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(q::INSERT_WORKSPACE)
                    .bind(&new.workspace_id)
                    .bind(&new.account_id)
                    .bind(&new.workspace_name)
                    .bind(now)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                Self::audit_in(tx, AuditEvent {
                    account_id: Some(new.account_id.clone()),
                    actor_user_id: Some(new.user_id.clone()),
                    action: "account.created".into(),
                    detail: None,
                    at: new.now,
                }).await?;
                Ok(true)
            }

            /// One account-scoped UPDATE (`$1` account, `$2` id, `$3` now) and its audit event.
            async fn update_with_audit(&self, sql: &str, account_id: &str, id: &str, now: Timestamp, audit: AuditEvent) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(sql).bind(account_id).bind(id).bind(now.millis()).execute(&mut *tx).await.map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            /// A user by one of the queries `USER_BY_EMAIL` or `USER_BY_ID`.
            async fn user_where(
                &self,
                sql: &str,
                value: &str,
            ) -> StoreResult<Option<UserRecord>> {
                let row = sqlx::query(sql)
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
                let mut tx = self.begin().await?;
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
                match self.write(sqlx::query(q::PROBE_WRITE)).await? {
                    1 => Ok(()),
                    n => Err(StoreError(format!("the health_probe row is missing ({n} rows updated)"))),
                }
            }

            async fn create_user_with_account(&self, new: NewSignUp, audit: AuditEvent) -> StoreResult<SignUpOutcome> {
                let mut tx = self.begin().await?;
                if !Self::insert_user_with_account(&mut tx, &new).await.map_err(db_err)? {
                    return Ok(SignUpOutcome::EmailTaken);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                sqlx::query(q::DELETE_PENDING_FOR_EMAIL).bind(new.email.as_str()).execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(SignUpOutcome::Created)
            }

            async fn put_pending_sign_up(&self, p: NewPendingSignUp) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sqlx::query(q::PUT_PENDING_SIGN_UP)
                    .bind(p.email.as_str())
                    .bind(&p.password_hash)
                    .bind(&p.token_hash)
                    .bind(p.expires_at.millis())
                    .bind(p.now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn pending_sign_up(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<PendingSignUp>> {
                let row = sqlx::query(q::PENDING_SIGN_UP)
                    .bind(token_hash)
                    .bind(now.millis())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|row| pending_from(row.try_get(0)?, row.try_get(1)?)).transpose().map_err(db_err)
            }

            async fn renew_pending_sign_up(&self, email: &EmailAddress, token_hash: &str, expires_at: Timestamp, now: Timestamp) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::RENEW_PENDING_SIGN_UP)
                    .bind(email.as_str())
                    .bind(token_hash)
                    .bind(expires_at.millis())
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn confirm_sign_up(&self, token_hash: &str, new: NewSignUp) -> StoreResult<ConfirmOutcome> {
                let mut tx = self.begin().await?;
                let taken = sqlx::query(q::TAKE_PENDING_SIGN_UP)
                    .bind(token_hash)
                    .bind(new.now.millis())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let Some(row) = taken else {
                    return Ok(ConfirmOutcome::Dead);
                };
                let pending = pending_from(row.try_get(0).map_err(db_err)?, row.try_get(1).map_err(db_err)?).map_err(db_err)?;
                // The link decides what is created: the email and password of the pending row.
                let new = NewSignUp { email: pending.email, password_hash: Some(pending.password_hash), ..new };
                let outcome = if Self::insert_user_with_account(&mut tx, &new).await.map_err(db_err)? {
                    ConfirmOutcome::Created { user_id: new.user_id.clone() }
                } else {
                    ConfirmOutcome::AlreadyUser
                };
                tx.commit().await.map_err(db_err)?;
                Ok(outcome)
            }

            async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>> {
                self.user_where(&q::USER_BY_EMAIL, email.as_str()).await
            }

            async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<UserRecord>> {
                self.user_where(&q::USER_BY_ID, user_id).await
            }

            async fn reserve_guess(
                &self,
                user_id: &str,
                now: Timestamp,
                policy: &LockoutPolicy,
            ) -> StoreResult<GuessReservation> {
                let row = self
                    .write_returning(
                        sqlx::query(q::RESERVE_GUESS)
                            .bind(user_id)
                            .bind(now.millis())
                            .bind(i64::from(policy.max_failures))
                            .bind(policy.lock_until(now).millis()),
                    )
                    .await?;
                let attempt = row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(db_err)?;
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
                refund: Option<(&str, Timestamp)>,
            ) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sqlx::query(q::SIGN_IN_SUCCEEDED).bind(user_id).bind(rehash).execute(&mut *tx).await.map_err(db_err)?;
                if let Some((key, window_start)) = refund {
                    sqlx::query(q::REFUND_HIT).bind(key).bind(window_start.millis()).execute(&mut *tx).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn count_hit(&self, key: &str, now: Timestamp, window: Duration, limit: u32) -> StoreResult<Hit> {
                let mut tx = self.begin().await?;
                let counted = sqlx::query_scalar::<_, i64>(q::COUNT_HIT)
                    .bind(key)
                    .bind(now.millis())
                    .bind(now.minus(window).millis())
                    .bind(i64::from(limit))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let hit = match counted {
                    Some(start) => Hit::Counted { window_start: Timestamp(start) },
                    None => {
                        let start = sqlx::query_scalar::<_, i64>(q::COUNTER_WINDOW)
                            .bind(key)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        Hit::Over { window_start: Timestamp(start) }
                    }
                };
                tx.commit().await.map_err(db_err)?;
                Ok(hit)
            }

            async fn refund_hit(&self, key: &str, window_start: Timestamp) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sqlx::query(q::REFUND_HIT).bind(key).bind(window_start.millis()).execute(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn insert_token(
                &self,
                user_id: &str,
                purpose: TokenPurpose,
                token_hash: &str,
                expires_at: Timestamp,
                now: Timestamp,
            ) -> StoreResult<()> {
                self.write(
                    sqlx::query(q::INSERT_TOKEN)
                        .bind(token_hash)
                        .bind(purpose.as_str())
                        .bind(user_id)
                        .bind(expires_at.millis())
                        .bind(now.millis()),
                )
                .await?;
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
                let mut tx = self.begin().await?;
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
                let taken = self
                    .write_returning(
                        sqlx::query(q::TAKE_MAIL_SLOT)
                            .bind(key)
                            .bind(now.millis())
                            .bind(now.minus(interval).millis()),
                    )
                    .await?;
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

            async fn account(&self, account_id: &str) -> StoreResult<Option<Account>> {
                if let Some(inline) = &self.inline {
                    return inline.account(q::ACCOUNT, account_id);
                }
                let row = sqlx::query(q::ACCOUNT)
                    .bind(account_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|row| {
                    Ok(Account {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                        plan: row.try_get("plan")?,
                        created_at: Timestamp(row.try_get("created_at")?),
                    })
                })
                .transpose()
                .map_err(db_err)
            }

            async fn role_in(&self, user_id: &str, account_id: &str) -> StoreResult<Option<Role>> {
                let role = sqlx::query_scalar::<_, String>(q::ROLE_IN)
                    .bind(user_id)
                    .bind(account_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(role.as_deref().and_then(Role::parse))
            }

            async fn record_audit(&self, event: AuditEvent) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                Self::audit_in(&mut tx, event).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>> {
                if let Some(inline) = &self.inline {
                    return inline.key_by_hash(q::KEY_BY_HASH, key_hash);
                }
                let row = sqlx::query(q::KEY_BY_HASH)
                    .bind(key_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|row| {
                    let scopes: Option<String> = row.try_get(2)?;
                    Ok(KeyGrant {
                        key_id: row.try_get(0)?,
                        account_id: row.try_get(1)?,
                        scopes: scopes_from_db(scopes.as_deref()),
                        expires_at: ts(row.try_get(3)?),
                        plan: row.try_get(4)?,
                    })
                })
                .transpose()
                .map_err(db_err)
            }

            async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord> {
                let mut tx = self.begin().await?;
                sqlx::query(q::INSERT_API_KEY)
                    .bind(&key.id)
                    .bind(&key.account_id)
                    .bind(&key.name)
                    .bind(&key.key_hash)
                    .bind(&key.hint)
                    .bind(scopes_to_db(key.scopes.as_deref()))
                    .bind(key.expires_at.map(Timestamp::millis))
                    .bind(&key.created_by)
                    .bind(key.now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(ApiKeyRecord {
                    id: key.id,
                    account_id: key.account_id,
                    name: key.name,
                    hint: key.hint,
                    scopes: key.scopes,
                    expires_at: key.expires_at,
                    last_used_at: None,
                    created_by: key.created_by,
                    created_at: key.now,
                })
            }

            async fn list_api_keys(
                &self,
                account_id: &str,
                page: &PageRequest,
            ) -> StoreResult<Vec<ApiKeyRecord>> {
                let sql = &*q::LIST_API_KEYS;
                self.page(sql, account_id, page, None, Self::api_key_from_row)
                    .await
            }

            async fn api_key(
                &self,
                account_id: &str,
                key_id: &str,
            ) -> StoreResult<Option<ApiKeyRecord>> {
                let sql = &*q::API_KEY_BY_ID;
                self.one(sql, account_id, key_id, Self::api_key_from_row)
                    .await
            }

            async fn delete_api_key(&self, account_id: &str, key_id: &str, audit: AuditEvent) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::DELETE_API_KEY)
                    .bind(account_id)
                    .bind(key_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn touch_api_keys(&self, used: &[(String, Timestamp)]) -> StoreResult<()> {
                if used.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin().await?;
                for (key_id, at) in used {
                    sqlx::query(q::TOUCH_API_KEY)
                        .bind(key_id)
                        .bind(at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn list_workspaces(
                &self,
                account_id: &str,
                page: &PageRequest,
            ) -> StoreResult<Vec<Workspace>> {
                let sql = &*q::LIST_WORKSPACES;
                if let Some(inline) = &self.inline {
                    return inline.page(sql, account_id, page, None, inline_rows::workspace);
                }
                self.page(sql, account_id, page, None, Self::workspace_from_row)
                    .await
            }

            async fn workspace(
                &self,
                account_id: &str,
                workspace_id: &str,
            ) -> StoreResult<Option<Workspace>> {
                let sql = &*q::WORKSPACE_BY_ID;
                if let Some(inline) = &self.inline {
                    return inline.one(sql, account_id, workspace_id, inline_rows::workspace);
                }
                self.one(sql, account_id, workspace_id, Self::workspace_from_row)
                    .await
            }

            async fn create_workspace(&self, w: &Workspace) -> StoreResult<()> {
                self.write(
                    sqlx::query(q::INSERT_WORKSPACE)
                        .bind(&w.id)
                        .bind(&w.account_id)
                        .bind(&w.name)
                        .bind(w.created_at.millis())
                        .bind(w.created_at.millis()),
                )
                .await?;
                Ok(())
            }

            async fn rename_workspace(
                &self,
                account_id: &str,
                workspace_id: &str,
                name: &str,
                now: Timestamp,
            ) -> StoreResult<Option<Workspace>> {
                let row = self
                    .write_returning(
                        sqlx::query(q::RENAME_WORKSPACE)
                            .bind(account_id)
                            .bind(workspace_id)
                            .bind(name)
                            .bind(now.millis()),
                    )
                    .await?;
                row.as_ref()
                    .map(Self::workspace_from_row)
                    .transpose()
                    .map_err(db_err)
            }

            async fn delete_workspace(
                &self,
                account_id: &str,
                workspace_id: &str,
            ) -> StoreResult<bool> {
                self.affected(q::DELETE_WORKSPACE, account_id, workspace_id)
                    .await
            }

            async fn list_records(
                &self,
                account_id: &str,
                workspace_id: Option<&str>,
                page: &PageRequest,
            ) -> StoreResult<Vec<DataRecord>> {
                let sql = &*q::LIST_RECORDS;
                if let Some(inline) = &self.inline {
                    let filter = Some(workspace_id);
                    return inline.page(sql, account_id, page, filter, inline_rows::record);
                }
                self.page(
                    &sql,
                    account_id,
                    page,
                    Some(workspace_id),
                    Self::record_from_row,
                )
                .await
            }

            async fn record(
                &self,
                account_id: &str,
                record_id: &str,
            ) -> StoreResult<Option<DataRecord>> {
                let sql = &*q::RECORD_BY_ID;
                if let Some(inline) = &self.inline {
                    return inline.one(sql, account_id, record_id, inline_rows::record);
                }
                self.one(sql, account_id, record_id, Self::record_from_row)
                    .await
            }

            async fn create_record(&self, r: &DataRecord) -> StoreResult<bool> {
                let inserted = self
                    .write(
                        sqlx::query(q::INSERT_RECORD)
                            .bind(&r.id)
                            .bind(&r.account_id)
                            .bind(&r.workspace_id)
                            .bind(&r.data)
                            .bind(r.created_at.millis())
                            .bind(r.updated_at.millis()),
                    )
                    .await?;
                Ok(inserted == 1)
            }

            async fn update_record(
                &self,
                account_id: &str,
                record_id: &str,
                data: &str,
                now: Timestamp,
            ) -> StoreResult<Option<DataRecord>> {
                let row = self
                    .write_returning(
                        sqlx::query(q::UPDATE_RECORD)
                            .bind(account_id)
                            .bind(record_id)
                            .bind(data)
                            .bind(now.millis()),
                    )
                    .await?;
                row.as_ref()
                    .map(Self::record_from_row)
                    .transpose()
                    .map_err(db_err)
            }

            async fn delete_record(&self, account_id: &str, record_id: &str) -> StoreResult<bool> {
                self.affected(q::DELETE_RECORD, account_id, record_id).await
            }

            async fn create_account(&self, new: NewAccount) -> StoreResult<()> {
                let now = new.now.millis();
                let mut tx = self.begin().await?;
                sqlx::query(q::INSERT_ACCOUNT).bind(&new.account_id).bind(&new.name).bind(now).bind(&new.plan).execute(&mut *tx).await.map_err(db_err)?;
                sqlx::query(q::INSERT_MEMBERSHIP)
                    .bind(&new.account_id)
                    .bind(&new.owner_user_id)
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
                tx.commit().await.map_err(db_err)
            }

            async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>> {
                let rows = sqlx::query(q::MEMBERS).bind(account_id).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let role: String = row.try_get(2)?;
                        Ok(MemberRecord {
                            user_id: row.try_get(0)?,
                            email: row.try_get(1)?,
                            role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
                            since: Timestamp(row.try_get(3)?),
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db_err)
            }

            async fn change_role(&self, account_id: &str, user_id: &str, role: Role) -> StoreResult<MembershipChange> {
                self.change_membership(account_id, user_id, Some(role)).await
            }

            async fn remove_member(&self, account_id: &str, user_id: &str) -> StoreResult<MembershipChange> {
                self.change_membership(account_id, user_id, None).await
            }

            async fn create_invitation(&self, new: NewInvitation) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sqlx::query(q::REVOKE_PENDING_FOR_EMAIL)
                    .bind(&new.account_id)
                    .bind(new.email.as_str())
                    .bind(new.now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(q::INSERT_INVITATION)
                    .bind(&new.id)
                    .bind(&new.account_id)
                    .bind(new.email.as_str())
                    .bind(new.role.as_str())
                    .bind(&new.token_hash)
                    .bind(&new.invited_by)
                    .bind(new.now.millis())
                    .bind(new.expires_at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn invitations(&self, account_id: &str, now: Timestamp) -> StoreResult<Vec<Invitation>> {
                self.invitation_where("i.account_id = $1", account_id, now, None).await
            }

            async fn invitation(&self, account_id: &str, id: &str, now: Timestamp) -> StoreResult<Option<Invitation>> {
                Ok(self.invitation_where("i.id = $1 AND i.account_id = $3", id, now, Some(account_id)).await?.pop())
            }

            async fn invitation_by_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Invitation>> {
                Ok(self.invitation_where("i.token_hash = $1", token_hash, now, None).await?.pop())
            }

            async fn revoke_invitation(&self, account_id: &str, id: &str, now: Timestamp) -> StoreResult<bool> {
                let revoked = self
                    .write(sqlx::query(q::REVOKE_INVITATION).bind(account_id).bind(id).bind(now.millis()))
                    .await?;
                Ok(revoked > 0)
            }

            async fn accept_invitation(&self, token_hash: &str, acceptor: Acceptor, now: Timestamp) -> StoreResult<Option<Invitation>> {
                let Some(invitation) = self.invitation_by_token(token_hash, now).await? else {
                    return Ok(None);
                };
                let mut tx = self.begin().await?;
                let used = sqlx::query_scalar::<_, String>(q::USE_INVITATION)
                    .bind(token_hash)
                    .bind(now.millis())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if used.is_none() {
                    return Ok(None);
                }
                let user_id = match acceptor {
                    Acceptor::Existing { user_id } => user_id,
                    Acceptor::New { user_id, password_hash } => {
                        sqlx::query(q::INSERT_CONFIRMED_USER)
                            .bind(&user_id)
                            .bind(invitation.email.as_str())
                            .bind(&password_hash)
                            .bind(now.millis())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        // The invitation proved the email: a pending sign-up for it dies.
                        sqlx::query(q::DELETE_PENDING_FOR_EMAIL)
                            .bind(invitation.email.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        user_id
                    }
                };
                sqlx::query(q::INSERT_MEMBERSHIP_IF_NEW)
                    .bind(&invitation.account_id)
                    .bind(&user_id)
                    .bind(invitation.role.as_str())
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(Some(invitation))
            }

            async fn audit_events(&self, account_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>> {
                let rows = sqlx::query(q::AUDIT_EVENTS)
                    .bind(account_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditEvent {
                            account_id: row.try_get(0)?,
                            actor_user_id: row.try_get(1)?,
                            action: row.try_get(2)?,
                            detail: row.try_get(3)?,
                            at: Timestamp(row.try_get(4)?),
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(db_err)
            }

            async fn add_domain(&self, d: AccountDomain, audit: AuditEvent) -> StoreResult<AddDomainOutcome> {
                let mut tx = self.begin().await?;
                let inserted = sqlx::query(q::INSERT_DOMAIN)
                    .bind(&d.id)
                    .bind(&d.account_id)
                    .bind(&d.domain)
                    .bind(&d.token)
                    .bind(d.created_at.millis())
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        drop(tx);
                        let existing = sqlx::query(&q::DOMAIN_BY_NAME)
                            .bind(&d.account_id)
                            .bind(&d.domain)
                            .fetch_one(&self.pool)
                            .await
                            .map_err(db_err)?;
                        return Ok(AddDomainOutcome::AlreadyAdded(Self::domain_from_row(&existing).map_err(db_err)?));
                    }
                    Err(e) => return Err(db_err(e)),
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(AddDomainOutcome::Added(d))
            }

            async fn domains(&self, account_id: &str) -> StoreResult<Vec<AccountDomain>> {
                let rows = sqlx::query(&q::DOMAINS).bind(account_id).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(Self::domain_from_row).collect::<Result<_, _>>().map_err(db_err)
            }

            async fn domain(&self, account_id: &str, id: &str) -> StoreResult<Option<AccountDomain>> {
                self.one(&q::DOMAIN_BY_ID, account_id, id, Self::domain_from_row).await
            }

            async fn verify_domain(&self, account_id: &str, id: &str, now: Timestamp, audit: AuditEvent) -> StoreResult<VerifyDomainOutcome> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::VERIFY_DOMAIN)
                    .bind(account_id)
                    .bind(id)
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await;
                let outcome = match done {
                    Ok(done) if done.rows_affected() == 0 => return Ok(VerifyDomainOutcome::NotFound),
                    Ok(_) => VerifyDomainOutcome::Verified,
                    // The partial unique index: another account holds it verified.
                    Err(e) if is_unique_violation(&e) => return Ok(VerifyDomainOutcome::HeldByAnotherAccount),
                    Err(e) => return Err(db_err(e)),
                };
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(outcome)
            }

            async fn delete_domain(&self, account_id: &str, id: &str, audit: AuditEvent) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::DELETE_DOMAIN).bind(account_id).bind(id).execute(&mut *tx).await.map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn create_sso_connection(&self, c: &SsoConnection, domain_ids: &[String], audit: AuditEvent) -> StoreResult<SsoCreated> {
                let mut tx = self.begin().await?;
                sqlx::query(q::INSERT_SSO_CONNECTION)
                    .bind(&c.id)
                    .bind(&c.account_id)
                    .bind(&c.issuer)
                    .bind(&c.client_id)
                    .bind(&c.client_secret_sealed)
                    .bind(c.created_at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for (domain_id, served) in domain_ids.iter().zip(&c.domains) {
                    let inserted = sqlx::query(q::INSERT_SSO_DOMAIN)
                        .bind(&c.id)
                        .bind(domain_id)
                        .execute(&mut *tx)
                        .await;
                    match inserted {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => return Ok(SsoCreated::DomainTaken(served.domain.clone())),
                        Err(e) => return Err(db_err(e)),
                    }
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(SsoCreated::Created)
            }

            async fn sso_connections(&self, account_id: &str) -> StoreResult<Vec<SsoConnection>> {
                let rows = sqlx::query(&q::SSO_CONNECTIONS).bind(account_id).fetch_all(&self.pool).await.map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(self.sso_with_domains(row).await?);
                }
                Ok(out)
            }

            async fn stop_enforcing_sso(&self, account_id: &str, id: &str, now: Timestamp, audit: AuditEvent) -> StoreResult<bool> {
                self.update_with_audit(q::STOP_ENFORCING_SSO, account_id, id, now, audit).await
            }

            async fn mark_sso_tested(&self, account_id: &str, id: &str, now: Timestamp, audit: AuditEvent) -> StoreResult<bool> {
                self.update_with_audit(q::MARK_SSO_TESTED, account_id, id, now, audit).await
            }

            async fn sso_enforcement_affects(&self, account_id: &str, id: &str) -> StoreResult<u64> {
                let users = sqlx::query_scalar::<_, String>(q::SSO_AFFECTED_USERS)
                    .bind(account_id)
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(users.len() as u64)
            }

            async fn enforce_sso(&self, account_id: &str, id: &str, now: Timestamp, audit: AuditEvent) -> StoreResult<EnforceOutcome> {
                let mut tx = self.begin().await?;
                let tested = sqlx::query_scalar::<_, Option<i64>>(q::SSO_TESTED_AT)
                    .bind(account_id)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                match tested {
                    None => return Ok(EnforceOutcome::NotFound),
                    Some(None) => return Ok(EnforceOutcome::NotTested),
                    Some(Some(_)) => {}
                }
                sqlx::query(q::ENFORCE_SSO).bind(account_id).bind(id).bind(now.millis()).execute(&mut *tx).await.map_err(db_err)?;
                let affected = sqlx::query_scalar::<_, String>(q::SSO_AFFECTED_USERS)
                    .bind(account_id)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut ended = 0;
                for user_id in &affected {
                    ended += sqlx::query(q::END_SESSIONS_BY_METHOD)
                        .bind(user_id)
                        .bind("password")
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                }
                Self::audit_in(&mut tx, AuditEvent {
                    detail: Some(format!("{} (password sessions ended: {ended})", audit.detail.clone().unwrap_or_default())),
                    ..audit
                }).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(EnforceOutcome::Enforced { sessions_ended: ended })
            }

            async fn delete_sso_connection(&self, account_id: &str, id: &str, audit: AuditEvent) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::DELETE_SSO_CONNECTION).bind(account_id).bind(id).execute(&mut *tx).await.map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn sso_for_domain(&self, domain: &str) -> StoreResult<Option<SsoConnection>> {
                let row = sqlx::query(&q::SSO_BY_DOMAIN).bind(domain).fetch_optional(&self.pool).await.map_err(db_err)?;
                match row {
                    Some(row) => Ok(Some(self.sso_with_domains(&row).await?)),
                    None => Ok(None),
                }
            }

            async fn sso_sign_in(&self, s: SsoSignIn, audit: AuditEvent) -> StoreResult<SsoSignInOutcome> {
                let now = s.now.millis();
                let mut tx = self.begin().await?;
                let known = sqlx::query_scalar::<_, String>(q::SSO_IDENTITY_USER)
                    .bind(&s.connection_id)
                    .bind(&s.subject)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let (user_id, new_identity) = match known {
                    Some(user_id) => {
                        sqlx::query(q::TOUCH_SSO_IDENTITY).bind(&s.connection_id).bind(&s.subject).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                        (user_id, false)
                    }
                    None => {
                        let Some(email) = &s.email else {
                            return Ok(SsoSignInOutcome::NeedsEmail);
                        };
                        let existing = sqlx::query(&q::USER_BY_EMAIL).bind(email.as_str()).fetch_optional(&mut *tx).await.map_err(db_err)?;
                        let user_id = match existing {
                            Some(row) => {
                                let user = Self::user_from_row(&row).map_err(db_err)?;
                                let linked = sqlx::query_scalar::<_, String>(q::SSO_IDENTITY_OF_USER)
                                    .bind(&s.connection_id)
                                    .bind(&user.id)
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(db_err)?;
                                if linked.is_some() {
                                    return Ok(SsoSignInOutcome::UserLinkedElsewhere);
                                }
                                user.id
                            }
                            None => {
                                sqlx::query(q::INSERT_SSO_USER).bind(&s.new_user_id).bind(email.as_str()).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                                // A pending sign-up for this address can never become a user now.
                                sqlx::query(q::DELETE_PENDING_FOR_EMAIL).bind(email.as_str()).execute(&mut *tx).await.map_err(db_err)?;
                                s.new_user_id.clone()
                            }
                        };
                        sqlx::query(q::INSERT_SSO_IDENTITY).bind(&s.connection_id).bind(&s.subject).bind(&user_id).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                        sqlx::query(q::INSERT_MEMBERSHIP_IF_NEW)
                            .bind(&s.account_id)
                            .bind(&user_id)
                            .bind(Role::Member.as_str())
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        (user_id, true)
                    }
                };
                let row = sqlx::query(&q::USER_BY_ID).bind(&user_id).fetch_one(&mut *tx).await.map_err(db_err)?;
                let user = Self::user_from_row(&row).map_err(db_err)?;
                Self::audit_in(&mut tx, AuditEvent { actor_user_id: Some(user.id.clone()), ..audit }).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(SsoSignInOutcome::SignedIn { user, new_identity })
            }

            async fn unlock_user(&self, user_id: &str, audit: AuditEvent) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(q::UNLOCK_USER).bind(user_id).execute(&mut *tx).await.map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(true)
            }

            async fn insert_token_audited(
                &self,
                user_id: &str,
                purpose: TokenPurpose,
                token_hash: &str,
                expires_at: Timestamp,
                now: Timestamp,
                audit: AuditEvent,
            ) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sqlx::query(q::INSERT_TOKEN)
                    .bind(token_hash)
                    .bind(purpose.as_str())
                    .bind(user_id)
                    .bind(expires_at.millis())
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            }

            async fn set_account_plan(&self, account_id: &str, plan: &str, audit: AuditEvent) -> StoreResult<Option<String>> {
                let mut tx = self.begin().await?;
                let previous = sqlx::query_scalar::<_, String>(q::LOCK_ACCOUNT_PLAN)
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if previous.is_none() {
                    return Ok(None);
                }
                sqlx::query(q::SET_ACCOUNT_PLAN).bind(account_id).bind(plan).execute(&mut *tx).await.map_err(db_err)?;
                Self::audit_in(&mut tx, audit).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(previous)
            }

            async fn api_key_by_id(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
                let row = sqlx::query(q::ANY_API_KEY_BY_ID)
                    .bind(key_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::api_key_from_row).transpose().map_err(db_err)
            }

            async fn prune(&self, now: Timestamp, counter_age: Duration) -> StoreResult<()> {
                for (sql, before) in [
                    (q::PRUNE_COUNTERS, now.minus(counter_age)),
                    (q::PRUNE_TOKENS, now),
                    (q::PRUNE_PENDING_SIGN_UPS, now),
                ] {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql).bind(before.millis()).execute(&mut *tx).await.map_err(db_err)?;
                    tx.commit().await.map_err(db_err)?;
                }
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

impl SqliteStore {
    /// Sends the API's per-request reads through `reads` instead of the pool.
    pub fn with_inline_reads(mut self, reads: InlineReads) -> Self {
        self.inline = Some(Arc::new(reads));
        self
    }
}
sql_store!(PostgresStore, sqlx::PgPool, sqlx::postgres::PgRow);
