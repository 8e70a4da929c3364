//! [`OperatorStore`]: the hub seen whole, for the operator's command line (every user and
//! account, disabling a person, ending all their sessions).
use app::domain::accounts::Account;
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::email::EmailAddress;
use app::domain::ids::{AccountId, UserId};
use app::domain::operator::{
    contains_pattern, AuditEntry, AuditQuery, EmailSet, Erased, Erasure, OwnerAdded, UserFilter,
    UserListing,
};
use app::domain::roles::Role;
use app::ports::{OperatorStore, StoreResult};
use async_trait::async_trait;

use super::memberships::LOCK_ACCOUNT;
use super::{audit_in, is_unique_violation, SqlStore, Tx};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode, AccountRow, AuditEntryRow, AuditEventRow, UserListingRow};

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
const EMAIL_OF: &str = "SELECT email FROM users WHERE id = $1";
const SET_EMAIL: &str = "
UPDATE users SET email = $2, email_confirmed_at = COALESCE(email_confirmed_at, $3) WHERE id = $1";
const DROP_EMAIL_CHANGES: &str = "DELETE FROM email_changes WHERE user_id = $1";
const ROLE_IN: &str = "SELECT role FROM memberships WHERE account_id = $1 AND user_id = $2";
const SET_ROLE: &str = "UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2";
const INSERT_MEMBER: &str = "
INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role";
const DEMOTE_OTHER_OWNERS: &str = "
UPDATE memberships SET role = 'admin' WHERE account_id = $1 AND role = 'owner' AND user_id <> $2";
const END_SESSIONS_IN_ACCOUNT: &str = "DELETE FROM sessions WHERE account_id = $1";
const DELETE_ACCOUNT: &str = "DELETE FROM accounts WHERE id = $1";
const AUDIT_BY: &str = "
SELECT account_id, actor_user_id, action, detail, at FROM audit_events
WHERE actor_user_id = $1 ORDER BY at, id";
const ACCOUNTS_OF: &str = "SELECT account_id FROM memberships WHERE user_id = $1";
const LOCK_USER: &str = "UPDATE users SET email = email WHERE id = $1";
const PSEUDONYMISE_ACTOR: &str =
    "UPDATE audit_events SET actor_user_id = $2, ip = NULL, device = NULL WHERE actor_user_id = $1";
/// `$1` user id, `$2` email, `$3` pseudonym: LIKE only narrows the rows (a `_` in an address
/// matches more, never less); REPLACE is literal.
const PSEUDONYMISE_DETAIL: &str = "
UPDATE audit_events SET detail = REPLACE(REPLACE(detail, $2, $3), $1, $3)
WHERE detail LIKE '%' || $2 || '%' OR detail LIKE '%' || $1 || '%'";
const DROP_INVITATIONS_TO: &str = "DELETE FROM invitations WHERE email = $1";
const DROP_PENDING_SIGN_UP: &str = "DELETE FROM pending_sign_ups WHERE email = $1";
const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";
const OWNERS_OF: &str = "SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND role = 'owner'";

/// `$1` account or NULL, `$2` since (or 0), `$3`/`$4` the cursor's (at, id) or NULL, `$5` limit.
const AUDIT_PAGE: &str = "
SELECT id, account_id, actor_user_id, action, detail, at FROM audit_events
WHERE ($1 IS NULL OR account_id = $1) AND at >= $2
  AND ($3 IS NULL OR at > $3 OR (at = $3 AND id > $4))
ORDER BY at, id LIMIT $5";
const SEALED_CLIENT_SECRETS: &str = "SELECT id, client_secret_enc FROM sso_connections";
const RESEAL_CLIENT_SECRET: &str =
    "UPDATE sso_connections SET client_secret_enc = $2 WHERE id = $1";
const SEALED_TOTP_SECRETS: &str = "SELECT user_id, secret_sealed FROM totp_factors";
const RESEAL_TOTP_SECRET: &str = "UPDATE totp_factors SET secret_sealed = $2 WHERE user_id = $1";
/// Takes the write lock first (SQLite: no other writer until the commit; PostgreSQL: the rows
/// read next are locked with FOR UPDATE in the statements below).
const LOCK_FOR_RESEAL: &str = "UPDATE health_probe SET checks = checks WHERE id = 1";
const PRUNE_AUDIT: &str = "DELETE FROM audit_events WHERE at < $1";

/// Deletes an account and, first, the sessions in it (their row names it without a key).
async fn delete_account_in(tx: &mut Tx, account_id: &str) -> DbResult<u64> {
    sqlx::query(END_SESSIONS_IN_ACCOUNT)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query(DELETE_ACCOUNT)
        .bind(account_id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

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

    async fn set_user_email(
        &self,
        user_id: &UserId,
        email: &EmailAddress,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailSet> {
        port(async {
            let mut tx = self.begin().await?;
            let current = sqlx::query_scalar::<_, String>(EMAIL_OF)
                .bind(user_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match current {
                None => return Ok(EmailSet::NoUser),
                Some(current) if current == email.as_str() => return Ok(EmailSet::Unchanged),
                Some(_) => {}
            }
            let set = sqlx::query(SET_EMAIL)
                .bind(user_id.as_str())
                .bind(email.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await;
            match set {
                Err(e) if is_unique_violation(&e) => return Ok(EmailSet::Taken),
                other => other?,
            };
            sqlx::query(DROP_EMAIL_CHANGES)
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(EmailSet::Set)
        })
        .await
    }

    async fn add_owner(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<OwnerAdded> {
        port(async {
            let mut tx = self.begin().await?;
            let locked = sqlx::query(LOCK_ACCOUNT)
                .bind(account_id.as_str())
                .execute(&mut *tx)
                .await?;
            if locked.rows_affected() == 0 {
                return Ok(OwnerAdded::NoAccount);
            }
            let role = sqlx::query_scalar::<_, String>(ROLE_IN)
                .bind(account_id.as_str())
                .bind(user_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let added = match role.as_deref().map(Role::parse) {
                Some(Some(Role::Owner)) => return Ok(OwnerAdded::AlreadyOwner),
                Some(_) => {
                    sqlx::query(SET_ROLE)
                        .bind(account_id.as_str())
                        .bind(user_id.as_str())
                        .bind(Role::Owner.as_str())
                        .execute(&mut *tx)
                        .await?;
                    OwnerAdded::Promoted
                }
                None => {
                    sqlx::query(INSERT_MEMBER)
                        .bind(account_id.as_str())
                        .bind(user_id.as_str())
                        .bind(Role::Owner.as_str())
                        .bind(now.millis())
                        .execute(&mut *tx)
                        .await?;
                    OwnerAdded::Added
                }
            };
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(added)
        })
        .await
    }

    async fn transfer_account(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u64>> {
        port(async {
            let mut tx = self.begin().await?;
            let locked = sqlx::query(LOCK_ACCOUNT)
                .bind(account_id.as_str())
                .execute(&mut *tx)
                .await?;
            if locked.rows_affected() == 0 {
                return Ok(None);
            }
            let demoted = sqlx::query(DEMOTE_OTHER_OWNERS)
                .bind(account_id.as_str())
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(INSERT_MEMBER)
                .bind(account_id.as_str())
                .bind(user_id.as_str())
                .bind(Role::Owner.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(demoted))
        })
        .await
    }

    async fn delete_account(&self, account_id: &AccountId, audit: AuditEvent) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            if delete_account_in(&mut tx, account_id.as_str()).await? == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn audit_events_by(&self, user_id: &UserId) -> StoreResult<Vec<AuditEvent>> {
        port(async {
            let rows = sqlx::query_as::<_, AuditEventRow>(AUDIT_BY)
                .bind(user_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn erase_user(&self, erasure: &Erasure, audit: AuditEvent) -> StoreResult<Erased> {
        port(async {
            let user_id = erasure.user_id.as_str();
            let email = erasure.email.as_str();
            let mut tx = self.begin().await?;
            let locked = sqlx::query(LOCK_USER)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if locked.rows_affected() == 0 {
                return Ok(Erased::NoUser);
            }
            let accounts = sqlx::query_scalar::<_, String>(ACCOUNTS_OF)
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
            for account_id in &erasure.delete_accounts {
                delete_account_in(&mut tx, account_id.as_str()).await?;
            }
            sqlx::query(PSEUDONYMISE_ACTOR)
                .bind(user_id)
                .bind(&erasure.pseudonym)
                .execute(&mut *tx)
                .await?;
            sqlx::query(PSEUDONYMISE_DETAIL)
                .bind(user_id)
                .bind(email)
                .bind(&erasure.pseudonym)
                .execute(&mut *tx)
                .await?;
            for statement in [DROP_INVITATIONS_TO, DROP_PENDING_SIGN_UP] {
                sqlx::query(statement).bind(email).execute(&mut *tx).await?;
            }
            sqlx::query(END_SESSIONS)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(DELETE_USER)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for account_id in &accounts {
                if erasure
                    .delete_accounts
                    .iter()
                    .any(|gone| gone.as_str() == account_id)
                {
                    continue;
                }
                let owners = sqlx::query_scalar::<_, i64>(OWNERS_OF)
                    .bind(account_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if owners == 0 {
                    return Ok(Erased::WouldOrphan);
                }
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Erased::Erased)
        })
        .await
    }

    async fn audit_page(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        port(async {
            let (after_at, after_id) = match &query.after {
                Some((at, id)) => (Some(at.millis()), Some(id.as_str())),
                None => (None, None),
            };
            let rows = sqlx::query_as::<_, AuditEntryRow>(AUDIT_PAGE)
                .bind(query.account_id.as_ref().map(|id| id.as_str()))
                .bind(query.since.map_or(i64::MIN, Timestamp::millis))
                .bind(after_at)
                .bind(after_id)
                .bind(i64::from(query.limit))
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        port(self.write(sqlx::query(PRUNE_AUDIT).bind(before.millis()))).await
    }

    async fn reseal_secrets(
        &self,
        reseal: &(dyn for<'s> Fn(&'s str) -> Option<String> + Send + Sync),
        audit: AuditEvent,
    ) -> StoreResult<Option<(u64, u64)>> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(LOCK_FOR_RESEAL).execute(&mut *tx).await?;
            let mut counts = (0, 0);
            for (select, update, count) in [
                (SEALED_CLIENT_SECRETS, RESEAL_CLIENT_SECRET, &mut counts.0),
                (SEALED_TOTP_SECRETS, RESEAL_TOTP_SECRET, &mut counts.1),
            ] {
                let rows = sqlx::query_as::<_, (String, String)>(select)
                    .fetch_all(&mut *tx)
                    .await?;
                for (id, sealed) in rows {
                    let Some(resealed) = reseal(&sealed) else {
                        return Ok(None);
                    };
                    sqlx::query(update)
                        .bind(id)
                        .bind(resealed)
                        .execute(&mut *tx)
                        .await?;
                    *count += 1;
                }
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(counts))
        })
        .await
    }
}
