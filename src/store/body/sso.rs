//! [`SsoStore`]: an account's single sign-on connections (serving its verified domains), and
//! the identities (connection, subject) they sign in.
use std::sync::LazyLock;

use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{AccountId, ConnectionId, DomainId, UserId};
use app::domain::roles::Role;
use app::domain::sso::{
    EnforceOutcome, ServedDomain, SsoConnection, SsoCreated, SsoSignIn, SsoSignInOutcome,
};
use app::domain::sso_sign_in::{self as sign_in_rules, SignInFacts, SignInRefused, SignInUser};
use app::domain::users::UserRecord;
use app::ports::{SsoStore, StoreResult};
use async_trait::async_trait;

use super::memberships::{INSERT_MEMBERSHIP_IF_NEW, LOCK_ACCOUNT, USE_INVITATION_BY_ID};
use super::users::{DELETE_PENDING_FOR_EMAIL, USER_BY_EMAIL, USER_BY_ID};
use super::{audit_in, is_unique_violation, SqlStore};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode, decode_opt, ServedDomainRow, SsoConnectionRow, UserRow};

const USER_OF_IDENTITY: &str =
    "SELECT user_id FROM sso_identities WHERE connection_id = $1 AND subject = $2";
const SSO_CONNECTION_COLUMNS: &str =
    "c.id, c.account_id, c.issuer, c.client_id, c.client_secret_enc, c.enforced, c.create_users, c.tested_at, c.created_at";
static SSO_CONNECTIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SSO_CONNECTION_COLUMNS} FROM sso_connections c WHERE c.account_id = $1 ORDER BY c.id"
    )
});
static SSO_BY_DOMAIN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SSO_CONNECTION_COLUMNS} FROM sso_connections c
         JOIN sso_connection_domains s ON s.connection_id = c.id
         JOIN account_domains d ON d.id = s.domain_id
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL"
    )
});
const SSO_DOMAINS: &str = "
SELECT d.domain, d.verified_at FROM sso_connection_domains s
JOIN account_domains d ON d.id = s.domain_id
WHERE s.connection_id = $1 ORDER BY d.domain";
const INSERT_SSO_CONNECTION: &str = "
INSERT INTO sso_connections (id, account_id, issuer, client_id, client_secret_enc, enforced, create_users, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 0, $7, $6, $6)";
const INSERT_SSO_DOMAIN: &str =
    "INSERT INTO sso_connection_domains (connection_id, domain_id) VALUES ($1, $2)";
const STOP_ENFORCING_SSO: &str =
    "UPDATE sso_connections SET enforced = 0, updated_at = $3 WHERE account_id = $1 AND id = $2";
const SET_SSO_CREATE_USERS: &str = "
UPDATE sso_connections SET create_users = $4, updated_at = $3 WHERE account_id = $1 AND id = $2";
const MARK_SSO_TESTED: &str =
    "UPDATE sso_connections SET tested_at = $3, updated_at = $3 WHERE account_id = $1 AND id = $2";
const SSO_TESTED_AT: &str =
    "SELECT tested_at FROM sso_connections WHERE account_id = $1 AND id = $2";
const ENFORCE_SSO: &str = "
UPDATE sso_connections SET enforced = 1, updated_at = $3
WHERE account_id = $1 AND id = $2 AND tested_at IS NOT NULL";
/// Users enforcement would refuse a password: email on a verified domain the connection `$2`
/// serves, not an owner or admin of its account `$1`.
const SSO_AFFECTED_USERS: &str = "
SELECT u.id FROM users u
JOIN account_domains d ON u.email LIKE '%@' || d.domain AND d.verified_at IS NOT NULL
JOIN sso_connection_domains s ON s.domain_id = d.id AND s.connection_id = $2
WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.account_id = $1
                  AND m.role IN ('owner', 'admin'))";
/// Ends the sessions of `$1` that were started with `$2` ("password", "sso").
const END_SESSIONS_BY_METHOD: &str = "DELETE FROM sessions WHERE user_id = $1 AND method = $2";
const DELETE_SSO_CONNECTION: &str = "DELETE FROM sso_connections WHERE account_id = $1 AND id = $2";

const SSO_IDENTITY_USER: &str =
    "SELECT user_id FROM sso_identities WHERE connection_id = $1 AND subject = $2";
const SSO_IDENTITY_OF_USER: &str =
    "SELECT subject FROM sso_identities WHERE connection_id = $1 AND user_id = $2";
const INSERT_SSO_IDENTITY: &str = "
INSERT INTO sso_identities (connection_id, subject, user_id, created_at, last_sign_in_at)
VALUES ($1, $2, $3, $4, $4)";
const TOUCH_SSO_IDENTITY: &str =
    "UPDATE sso_identities SET last_sign_in_at = $3 WHERE connection_id = $1 AND subject = $2";
/// Whether connection `$1` still serves the domain `$2` through a verified account domain.
const SSO_SERVES_DOMAIN: &str = "
SELECT COUNT(*) FROM sso_connection_domains s JOIN account_domains d ON d.id = s.domain_id
WHERE s.connection_id = $1 AND d.domain = $2 AND d.verified_at IS NOT NULL";
const INSERT_SSO_USER: &str = "
INSERT INTO users (id, email, password_hash, email_confirmed_at, created_at) VALUES ($1, $2, NULL, $3, $3)";

impl SqlStore {
    /// A connection's row plus the domains it serves.
    async fn with_domains(&self, row: SsoConnectionRow) -> DbResult<SsoConnection> {
        let domains = sqlx::query_as::<_, ServedDomainRow>(SSO_DOMAINS)
            .bind(&row.id)
            .fetch_all(&self.pool)
            .await?;
        Ok(row.serving(decode::<_, ServedDomain>(domains)?))
    }
}

#[async_trait]
impl SsoStore for SqlStore {
    async fn create_sso_connection(
        &self,
        c: &SsoConnection,
        domain_ids: &[DomainId],
        audit: AuditEvent,
    ) -> StoreResult<SsoCreated> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(INSERT_SSO_CONNECTION)
                .bind(c.id.as_str())
                .bind(c.account_id.as_str())
                .bind(&c.issuer)
                .bind(&c.client_id)
                .bind(&c.client_secret_sealed)
                .bind(c.created_at.millis())
                .bind(i64::from(c.create_users))
                .execute(&mut *tx)
                .await?;
            for (domain_id, served) in domain_ids.iter().zip(&c.domains) {
                let inserted = sqlx::query(INSERT_SSO_DOMAIN)
                    .bind(c.id.as_str())
                    .bind(domain_id.as_str())
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        return Ok(SsoCreated::DomainTaken(served.domain.clone()))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(SsoCreated::Created)
        })
        .await
    }

    async fn sso_connections(&self, account_id: &AccountId) -> StoreResult<Vec<SsoConnection>> {
        port(async {
            let rows = sqlx::query_as::<_, SsoConnectionRow>(&SSO_CONNECTIONS)
                .bind(account_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(self.with_domains(row).await?);
            }
            Ok(out)
        })
        .await
    }

    async fn stop_enforcing_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(self.update_with_audit(STOP_ENFORCING_SSO, account_id, id.as_str(), now, audit)).await
    }

    async fn set_sso_create_users(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        create_users: bool,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(SET_SSO_CREATE_USERS)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .bind(now.millis())
                .bind(i64::from(create_users))
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

    async fn mark_sso_tested(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(self.update_with_audit(MARK_SSO_TESTED, account_id, id.as_str(), now, audit)).await
    }

    async fn sso_enforcement_affects(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> StoreResult<u64> {
        port(async {
            let users = sqlx::query_scalar::<_, String>(SSO_AFFECTED_USERS)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
            Ok(users.len() as u64)
        })
        .await
    }

    async fn enforce_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EnforceOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            // Serialised with the account's membership changes: a role change committed meanwhile
            // is seen here, and one after this commits sees the connection enforced.
            sqlx::query(LOCK_ACCOUNT)
                .bind(account_id.as_str())
                .execute(&mut *tx)
                .await?;
            let tested = sqlx::query_scalar::<_, Option<i64>>(SSO_TESTED_AT)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match tested {
                None => return Ok(EnforceOutcome::NotFound),
                Some(None) => return Ok(EnforceOutcome::NotTested),
                Some(Some(_)) => {}
            }
            sqlx::query(ENFORCE_SSO)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            let affected = sqlx::query_scalar::<_, String>(SSO_AFFECTED_USERS)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
            let mut ended = 0;
            for user_id in &affected {
                ended += sqlx::query(END_SESSIONS_BY_METHOD)
                    .bind(user_id)
                    .bind("password")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            let detail = audit.detail.clone().unwrap_or_default();
            audit_in(
                &mut tx,
                AuditEvent {
                    detail: Some(format!("{detail} (password sessions ended: {ended})")),
                    ..audit
                },
            )
            .await?;
            tx.commit().await?;
            Ok(EnforceOutcome::Enforced {
                sessions_ended: ended,
            })
        })
        .await
    }

    async fn delete_sso_connection(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(self.delete_with_audit(DELETE_SSO_CONNECTION, account_id, id.as_str(), audit)).await
    }

    async fn sso_for_domain(&self, domain: &str) -> StoreResult<Option<SsoConnection>> {
        port(async {
            let row = sqlx::query_as::<_, SsoConnectionRow>(&SSO_BY_DOMAIN)
                .bind(domain)
                .fetch_optional(&self.pool)
                .await?;
            match row {
                Some(row) => Ok(Some(self.with_domains(row).await?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn user_of_identity(
        &self,
        connection_id: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        port(async {
            let user: Option<String> = sqlx::query_scalar(USER_OF_IDENTITY)
                .bind(connection_id.as_str())
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
            Ok(user.map(UserId::from_stored))
        })
        .await
    }

    async fn sso_sign_in(&self, s: SsoSignIn, audit: AuditEvent) -> StoreResult<SsoSignInOutcome> {
        // The rules are `domain::sso_sign_in`'s: this reads the facts they decide on and
        // writes what they decided, in one transaction.
        port(async {
            let now = s.now.millis();
            let mut tx = self.begin().await?;
            let identity_user = sqlx::query_scalar::<_, String>(SSO_IDENTITY_USER)
                .bind(s.connection_id.as_str())
                .bind(&s.subject)
                .fetch_optional(&mut *tx)
                .await?;
            let user = match &identity_user {
                Some(user_id) => sqlx::query_as::<_, UserRow>(&USER_BY_ID).bind(user_id),
                None => sqlx::query_as::<_, UserRow>(&USER_BY_EMAIL).bind(s.email.as_str()),
            }
            .fetch_optional(&mut *tx)
            .await?;
            let user = decode_opt::<_, UserRecord>(user)?;
            let user_linked_elsewhere = match (&identity_user, &user) {
                (None, Some(user)) => sqlx::query_scalar::<_, String>(SSO_IDENTITY_OF_USER)
                    .bind(s.connection_id.as_str())
                    .bind(user.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some(),
                _ => false,
            };
            let facts = SignInFacts {
                identity_user: identity_user.map(UserId::from_stored),
                user,
                user_linked_elsewhere,
            };
            let begun = match sign_in_rules::start(&s, &facts) {
                Ok(begun) => begun,
                Err(refused) => return Ok(refused_outcome(refused)),
            };
            let served = sqlx::query_scalar::<_, i64>(SSO_SERVES_DOMAIN)
                .bind(s.connection_id.as_str())
                .bind(begun.email.domain())
                .fetch_one(&mut *tx)
                .await?;
            let accepted = match &begun.invitation {
                Some(inv) if served > 0 => sqlx::query_scalar::<_, String>(USE_INVITATION_BY_ID)
                    .bind(inv.id.as_str())
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|_| inv.clone()),
                _ => None,
            };
            let steps =
                match sign_in_rules::steps(&s, &facts, &begun, served > 0, accepted.as_ref()) {
                    Ok(steps) => steps,
                    // Dropping the transaction undoes the invitation's use.
                    Err(refused) => return Ok(refused_outcome(refused)),
                };
            let user_id = steps.user.id().to_owned();
            match &steps.user {
                SignInUser::New(_) => {
                    sqlx::query(INSERT_SSO_USER)
                        .bind(user_id.as_str())
                        .bind(begun.email.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    // A pending sign-up for this address can never become a user now.
                    sqlx::query(DELETE_PENDING_FOR_EMAIL)
                        .bind(begun.email.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                SignInUser::Existing(_) if !steps.link_identity => {
                    sqlx::query(TOUCH_SSO_IDENTITY)
                        .bind(s.connection_id.as_str())
                        .bind(&s.subject)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                SignInUser::Existing(_) => {}
            }
            if let Some(inv) = &accepted {
                sqlx::query(INSERT_MEMBERSHIP_IF_NEW)
                    .bind(inv.account_id.as_str())
                    .bind(user_id.as_str())
                    .bind(inv.role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            if steps.link_identity {
                sqlx::query(INSERT_SSO_IDENTITY)
                    .bind(s.connection_id.as_str())
                    .bind(&s.subject)
                    .bind(user_id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(account_id) = &steps.join_connection_account {
                sqlx::query(INSERT_MEMBERSHIP_IF_NEW)
                    .bind(account_id.as_str())
                    .bind(user_id.as_str())
                    .bind(Role::Member.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let new_identity = steps.link_identity;
            let row = sqlx::query_as::<_, UserRow>(&USER_BY_ID)
                .bind(user_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            let user = UserRecord::try_from(row)?;
            let joined = match accepted {
                Some(inv) => {
                    audit_in(
                        &mut tx,
                        AuditEvent {
                            actor_user_id: Some(user.id.clone()),
                            ..inv.audit
                        },
                    )
                    .await?;
                    Some(inv.account_id)
                }
                None => None,
            };
            audit_in(
                &mut tx,
                AuditEvent {
                    actor_user_id: Some(user.id.clone()),
                    ..audit
                },
            )
            .await?;
            tx.commit().await?;
            Ok(SsoSignInOutcome::SignedIn {
                user,
                new_identity,
                joined,
            })
        })
        .await
    }
}

/// What a refused sign-in answers (nothing was written).
fn refused_outcome(refused: SignInRefused) -> SsoSignInOutcome {
    match refused {
        SignInRefused::NotInvited => SsoSignInOutcome::NotInvited,
        SignInRefused::DomainNotServed => SsoSignInOutcome::DomainNotServed,
        SignInRefused::UserLinkedElsewhere => SsoSignInOutcome::UserLinkedElsewhere,
    }
}
