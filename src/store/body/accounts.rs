//! [`AccountStore`]: accounts, created with their owner's membership and first workspace, and
//! their plan.
use app::domain::accounts::{Account, NewAccount};
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::AccountId;
use app::domain::roles::Role;
use app::ports::{AccountStore, StoreResult};
use async_trait::async_trait;

use super::workspaces::INSERT_WORKSPACE;
use super::{audit_in, SqlStore, Tx};
use crate::store::error::{port, DbResult};
use crate::store::rows::AccountRow;

const ACCOUNT: &str =
    "SELECT id, name, plan, created_at, require_second_factor FROM accounts WHERE id = $1";
const RENAME_ACCOUNT: &str = "UPDATE accounts SET name = $2 WHERE id = $1";
const SET_SECOND_FACTOR_REQUIRED: &str =
    "UPDATE accounts SET require_second_factor = $2 WHERE id = $1";
const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (id, name, created_at, plan) VALUES ($1, $2, $3, $4)";
/// The first statement of a plan change: takes the row's write lock (a no-op update, so the
/// transaction starts with a write) and returns the plan it is on.
const LOCK_ACCOUNT_PLAN: &str = "UPDATE accounts SET plan = plan WHERE id = $1 RETURNING plan";
const SET_ACCOUNT_PLAN: &str = "UPDATE accounts SET plan = $2 WHERE id = $1";
/// The owner's membership of a new account.
const INSERT_OWNER: &str =
    "INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)";

/// A new account's rows: the account, its owner's membership and its first workspace.
pub(super) struct NewAccountRows<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub owner_user_id: &'a str,
    pub workspace_id: &'a str,
    pub workspace_name: &'a str,
    pub now: Timestamp,
}

/// Inserts a new account with its owner and first workspace inside `tx`.
pub(super) async fn insert_account_with_owner(
    tx: &mut Tx,
    new: NewAccountRows<'_>,
) -> DbResult<()> {
    let now = new.now.millis();
    sqlx::query(INSERT_ACCOUNT)
        .bind(new.account_id)
        .bind(new.name)
        .bind(now)
        .bind(new.plan)
        .execute(&mut **tx)
        .await?;
    sqlx::query(INSERT_OWNER)
        .bind(new.account_id)
        .bind(new.owner_user_id)
        .bind(Role::Owner.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(INSERT_WORKSPACE)
        .bind(new.workspace_id)
        .bind(new.account_id)
        .bind(new.workspace_name)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn account(&self, account_id: &AccountId) -> StoreResult<Option<Account>> {
        // `GET /api/v1/account` reads it on every call: a hot read.
        port(self.hot_optional::<AccountRow, _>(ACCOUNT, &[account_id.as_str()])).await
    }

    async fn create_account(&self, new: NewAccount, audit: AuditEvent) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            insert_account_with_owner(
                &mut tx,
                NewAccountRows {
                    account_id: new.account_id.as_str(),
                    name: &new.name,
                    plan: &new.plan,
                    owner_user_id: new.owner_user_id.as_str(),
                    workspace_id: new.workspace_id.as_str(),
                    workspace_name: &new.workspace_name,
                    now: new.now,
                },
            )
            .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_account_plan(
        &self,
        account_id: &AccountId,
        plan: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<String>> {
        port(async {
            let mut tx = self.begin().await?;
            let previous = sqlx::query_scalar::<_, String>(LOCK_ACCOUNT_PLAN)
                .bind(account_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if previous.is_none() {
                return Ok(None);
            }
            sqlx::query(SET_ACCOUNT_PLAN)
                .bind(account_id.as_str())
                .bind(plan)
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(previous)
        })
        .await
    }

    async fn set_second_factor_required(
        &self,
        account_id: &AccountId,
        required: bool,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(SET_SECOND_FACTOR_REQUIRED)
                .bind(account_id.as_str())
                .bind(i64::from(required))
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

    async fn rename_account(
        &self,
        account_id: &AccountId,
        name: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(RENAME_ACCOUNT)
                .bind(account_id.as_str())
                .bind(name)
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
}
