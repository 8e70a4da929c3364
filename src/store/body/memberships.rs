//! [`MembershipStore`]: memberships (who has which role in which account) and invitations.
use std::sync::LazyLock;

use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::email::EmailAddress;
use app::domain::ids::{AccountId, InvitationId, UserId};
use app::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
use app::domain::roles::{takes_an_owner_away, Role};
use app::ports::{MembershipStore, StoreResult};
use async_trait::async_trait;

use super::users::{DELETE_PENDING_FOR_EMAIL, INSERT_CONFIRMED_USER};
use super::{audit_in, SqlStore};
use crate::store::error::{port, DbResult};
use crate::store::rows::{decode, InvitationRow, MemberRow, MembershipRow};

/// Takes the account's row lock (PostgreSQL) or the write lock (SQLite) first, so membership
/// changes of one account are serialised and the last-owner check cannot race (enforcing single
/// sign-on takes it too, so the two cannot miss each other's change).
pub(super) const LOCK_ACCOUNT: &str = "UPDATE accounts SET name = name WHERE id = $1";

const MEMBERSHIPS: &str = "
SELECT m.account_id, a.name AS account_name, m.role, a.require_second_factor FROM memberships m
JOIN accounts a ON a.id = m.account_id
WHERE m.user_id = $1
ORDER BY m.created_at, m.account_id";
const ROLE_IN: &str = "SELECT role FROM memberships WHERE user_id = $1 AND account_id = $2";
const MEMBERS: &str = "
SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.account_id = $1
ORDER BY m.created_at, u.email";
const OWNER_COUNT: &str =
    "SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND role = 'owner'";
pub(super) const INSERT_MEMBERSHIP_IF_NEW: &str = "
INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, user_id) DO NOTHING";
const SET_ROLE: &str = "UPDATE memberships SET role = $3 WHERE account_id = $1 AND user_id = $2";
const DELETE_MEMBERSHIP: &str = "DELETE FROM memberships WHERE account_id = $1 AND user_id = $2";
/// Ends `$1`'s sessions that are in the account `$2` (someone removed from it).
const END_SESSIONS_IN_ACCOUNT: &str = "DELETE FROM sessions WHERE user_id = $1 AND account_id = $2";
/// Ends `$1`'s password sessions when an enforced connection of the account `$2` serves their
/// email's domain and they are not (any more) an owner or admin of it: the rule enforcing
/// applies (see `SSO_AFFECTED_USERS`), applied again after a role change or a removal.
const END_PASSWORD_SESSIONS_IF_ENFORCED: &str = "
DELETE FROM sessions WHERE user_id = $1 AND method = 'password' AND EXISTS (
    SELECT 1 FROM users u
    JOIN account_domains d ON u.email LIKE '%@' || d.domain AND d.verified_at IS NOT NULL
    JOIN sso_connection_domains s ON s.domain_id = d.id
    JOIN sso_connections c ON c.id = s.connection_id AND c.enforced = 1
    WHERE u.id = $1 AND c.account_id = $2
      AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.account_id = $2
                      AND m.role IN ('owner', 'admin')))";

const INVITATION_COLUMNS: &str =
    "i.id, i.account_id, a.name AS account_name, i.email, i.role, i.invited_by, i.created_at, i.expires_at";
const LIVE_INVITATION: &str =
    "i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2";
/// Live invitations matching `condition` (`$1`, `$2` now, and `$3`), newest first.
fn invitations_where(condition: &str) -> String {
    format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE {condition} AND {LIVE_INVITATION} ORDER BY i.id DESC"
    )
}
static INVITATIONS_OF_ACCOUNT: LazyLock<String> =
    LazyLock::new(|| invitations_where("i.account_id = $1"));
static INVITATION_BY_ID: LazyLock<String> =
    LazyLock::new(|| invitations_where("i.id = $1 AND i.account_id = $3"));
static INVITATION_BY_TOKEN: LazyLock<String> =
    LazyLock::new(|| invitations_where("i.token_hash = $1"));
static INVITATION_OF_EMAIL: LazyLock<String> =
    LazyLock::new(|| invitations_where("i.email = $1 AND i.account_id = $3"));
/// Uses an invitation by id, once, while it is live (`$2` now).
pub(super) const USE_INVITATION_BY_ID: &str = "
UPDATE invitations SET accepted_at = $2
WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
RETURNING id";
const REVOKE_PENDING_FOR_EMAIL: &str = "
UPDATE invitations SET revoked_at = $3
WHERE account_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL";
const INSERT_INVITATION: &str = "
INSERT INTO invitations (id, account_id, email, role, token_hash, invited_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const REVOKE_INVITATION: &str = "
UPDATE invitations SET revoked_at = $3
WHERE account_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL";
const USE_INVITATION: &str = "
UPDATE invitations SET accepted_at = $2
WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
RETURNING id";

impl SqlStore {
    /// Applies a role change (or, with `None`, a removal) unless it would leave the account
    /// without an owner. In the same transaction: the person's password sessions end when
    /// they are no longer an owner or admin of an account that enforces single sign-on for
    /// their domain, and with `end_sessions` (a removal) their sessions in the account end.
    async fn change_membership(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        new_role: Option<Role>,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> DbResult<MembershipChange> {
        let mut tx = self.begin().await?;
        sqlx::query(LOCK_ACCOUNT)
            .bind(account_id.as_str())
            .execute(&mut *tx)
            .await?;
        let current = sqlx::query_scalar::<_, String>(ROLE_IN)
            .bind(user_id.as_str())
            .bind(account_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = current.as_deref().and_then(Role::parse) else {
            return Ok(MembershipChange::NotAMember);
        };
        if takes_an_owner_away(current, new_role) {
            let owners = sqlx::query_scalar::<_, i64>(OWNER_COUNT)
                .bind(account_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            if owners <= 1 {
                return Ok(MembershipChange::LastOwner);
            }
        }
        match new_role {
            Some(role) => sqlx::query(SET_ROLE)
                .bind(account_id.as_str())
                .bind(user_id.as_str())
                .bind(role.as_str()),
            None => sqlx::query(DELETE_MEMBERSHIP)
                .bind(account_id.as_str())
                .bind(user_id.as_str()),
        }
        .execute(&mut *tx)
        .await?;
        sqlx::query(END_PASSWORD_SESSIONS_IF_ENFORCED)
            .bind(user_id.as_str())
            .bind(account_id.as_str())
            .execute(&mut *tx)
            .await?;
        if end_sessions {
            sqlx::query(END_SESSIONS_IN_ACCOUNT)
                .bind(user_id.as_str())
                .bind(account_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if new_role != Some(current) {
            audit_in(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(MembershipChange::Done)
    }

    /// Live invitations by one of the `INVITATION…` queries: `$1` first, `$2` now, `$3` the
    /// account when given.
    async fn live_invitations(
        &self,
        sql: &str,
        first: &str,
        now: Timestamp,
        account: Option<&str>,
    ) -> DbResult<Vec<Invitation>> {
        let mut query = sqlx::query_as::<_, InvitationRow>(sql)
            .bind(first)
            .bind(now.millis());
        if let Some(account_id) = account {
            query = query.bind(account_id);
        }
        decode(query.fetch_all(&self.pool).await?)
    }
}

#[async_trait]
impl MembershipStore for SqlStore {
    async fn memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>> {
        port(async {
            let rows = sqlx::query_as::<_, MembershipRow>(MEMBERSHIPS)
                .bind(user_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn role_in(&self, user_id: &UserId, account_id: &AccountId) -> StoreResult<Option<Role>> {
        port(async {
            let role = sqlx::query_scalar::<_, String>(ROLE_IN)
                .bind(user_id.as_str())
                .bind(account_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            Ok(role.as_deref().and_then(Role::parse))
        })
        .await
    }

    async fn members(&self, account_id: &AccountId) -> StoreResult<Vec<MemberRecord>> {
        port(async {
            let rows = sqlx::query_as::<_, MemberRow>(MEMBERS)
                .bind(account_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn change_role(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        port(self.change_membership(account_id, user_id, Some(role), false, audit)).await
    }

    async fn remove_member(
        &self,
        account_id: &AccountId,
        user_id: &UserId,
        end_sessions: bool,
        audit: AuditEvent,
    ) -> StoreResult<MembershipChange> {
        port(self.change_membership(account_id, user_id, None, end_sessions, audit)).await
    }

    async fn create_invitation(&self, new: NewInvitation, audit: AuditEvent) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(REVOKE_PENDING_FOR_EMAIL)
                .bind(new.account_id.as_str())
                .bind(new.email.as_str())
                .bind(new.now.millis())
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_INVITATION)
                .bind(new.id.as_str())
                .bind(new.account_id.as_str())
                .bind(new.email.as_str())
                .bind(new.role.as_str())
                .bind(&new.token_hash)
                .bind(new.invited_by.as_ref().map(UserId::as_str))
                .bind(new.now.millis())
                .bind(new.expires_at.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn invitations(
        &self,
        account_id: &AccountId,
        now: Timestamp,
    ) -> StoreResult<Vec<Invitation>> {
        port(self.live_invitations(&INVITATIONS_OF_ACCOUNT, account_id.as_str(), now, None)).await
    }

    async fn invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        port(async {
            let mut found = self
                .live_invitations(
                    &INVITATION_BY_ID,
                    id.as_str(),
                    now,
                    Some(account_id.as_str()),
                )
                .await?;
            Ok(found.pop())
        })
        .await
    }

    async fn invitation_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        port(async {
            let mut found = self
                .live_invitations(&INVITATION_BY_TOKEN, token_hash, now, None)
                .await?;
            Ok(found.pop())
        })
        .await
    }

    async fn pending_invitation(
        &self,
        account_id: &AccountId,
        email: &EmailAddress,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>> {
        port(async {
            let found = self
                .live_invitations(
                    &INVITATION_OF_EMAIL,
                    email.as_str(),
                    now,
                    Some(account_id.as_str()),
                )
                .await?;
            // Newest first.
            Ok(found.into_iter().next())
        })
        .await
    }

    async fn revoke_invitation(
        &self,
        account_id: &AccountId,
        id: &InvitationId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let revoked = sqlx::query(REVOKE_INVITATION)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if revoked == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: Acceptor,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Invitation>> {
        port(async {
            let mut live = self
                .live_invitations(&INVITATION_BY_TOKEN, token_hash, now, None)
                .await?;
            let Some(invitation) = live.pop() else {
                return Ok(None);
            };
            let mut tx = self.begin().await?;
            let used = sqlx::query_scalar::<_, String>(USE_INVITATION)
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await?;
            if used.is_none() {
                return Ok(None);
            }
            let user_id = match acceptor {
                Acceptor::Existing { user_id } => user_id,
                Acceptor::New {
                    user_id,
                    password_hash,
                } => {
                    sqlx::query(INSERT_CONFIRMED_USER)
                        .bind(user_id.as_str())
                        .bind(invitation.email.as_str())
                        .bind(&password_hash)
                        .bind(now.millis())
                        .execute(&mut *tx)
                        .await?;
                    // The invitation proved the email: a pending sign-up for it dies.
                    sqlx::query(DELETE_PENDING_FOR_EMAIL)
                        .bind(invitation.email.as_str())
                        .execute(&mut *tx)
                        .await?;
                    user_id
                }
            };
            sqlx::query(INSERT_MEMBERSHIP_IF_NEW)
                .bind(invitation.account_id.as_str())
                .bind(user_id.as_str())
                .bind(invitation.role.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(invitation))
        })
        .await
    }
}
