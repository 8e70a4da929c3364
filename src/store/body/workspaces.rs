//! [`WorkspaceStore`]: workspaces and the JSON records kept in them. The API's reads of them
//! are hot reads (each database's `hot_optional` and `hot_page`).
use std::sync::LazyLock;

use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{AccountId, RecordId, WorkspaceId};
use app::domain::paging::PageRequest;
use app::domain::workspaces::{DataRecord, Workspace, WorkspaceDeletion};
use app::ports::{StoreResult, WorkspaceStore};
use async_trait::async_trait;

use super::{audit_in, by_id_query, page_query, PageQuery, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode, decode_opt, DataRecordRow, WorkspaceRow};

const WORKSPACE_COLUMNS: &str = "id, account_id, name, created_at";
const WORKSPACES: &str =
    "SELECT id, account_id, name, created_at FROM workspaces WHERE account_id = $1 ORDER BY id";
static LIST_WORKSPACES: LazyLock<PageQuery> =
    LazyLock::new(|| page_query(WORKSPACE_COLUMNS, "workspaces", None));
static WORKSPACE_BY_ID: LazyLock<String> =
    LazyLock::new(|| by_id_query(WORKSPACE_COLUMNS, "workspaces"));
pub(super) const INSERT_WORKSPACE: &str =
    "INSERT INTO workspaces (id, account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
const RENAME_WORKSPACE: &str = "
UPDATE workspaces SET name = $3, updated_at = $4 WHERE account_id = $1 AND id = $2
RETURNING id, account_id, name, created_at";
const DELETE_WORKSPACE: &str = "DELETE FROM workspaces WHERE account_id = $1 AND id = $2";
/// Deletes the workspace only while it has no record, in the one statement (a record stored
/// before it keeps the workspace; none is looked at separately and then missed).
const DELETE_EMPTY_WORKSPACE: &str = "
DELETE FROM workspaces WHERE account_id = $1 AND id = $2
AND NOT EXISTS (SELECT 1 FROM records r WHERE r.workspace_id = $2)";
const WORKSPACE_EXISTS: &str = "SELECT COUNT(*) FROM workspaces WHERE account_id = $1 AND id = $2";

const RECORD_COLUMNS: &str = "id, account_id, workspace_id, data, created_at, updated_at";
static LIST_RECORDS: LazyLock<PageQuery> =
    LazyLock::new(|| page_query(RECORD_COLUMNS, "records", Some("workspace_id")));
static RECORD_BY_ID: LazyLock<String> = LazyLock::new(|| by_id_query(RECORD_COLUMNS, "records"));
/// Inserts only when the workspace belongs to the account: one statement, no race.
const INSERT_RECORD: &str = "
INSERT INTO records (id, account_id, workspace_id, data, created_at, updated_at)
SELECT $1, $2, w.id, $4, $5, $6 FROM workspaces w WHERE w.id = $3 AND w.account_id = $2";
const UPDATE_RECORD: &str = "
UPDATE records SET data = $3, updated_at = $4 WHERE account_id = $1 AND id = $2
RETURNING id, account_id, workspace_id, data, created_at, updated_at";
const DELETE_RECORD: &str = "DELETE FROM records WHERE account_id = $1 AND id = $2";

#[async_trait]
impl WorkspaceStore for SqlStore {
    async fn workspaces(&self, account_id: &AccountId) -> StoreResult<Vec<Workspace>> {
        port(async {
            let rows = sqlx::query_as::<_, WorkspaceRow>(WORKSPACES)
                .bind(account_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn list_workspaces(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<Workspace>> {
        port(self.hot_page::<WorkspaceRow, _>(&LIST_WORKSPACES, account_id, page, None)).await
    }

    async fn workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
    ) -> StoreResult<Option<Workspace>> {
        port(self.hot_optional::<WorkspaceRow, _>(
            &WORKSPACE_BY_ID,
            &[account_id.as_str(), workspace_id.as_str()],
        ))
        .await
    }

    async fn create_workspace(&self, w: &Workspace, audit: AuditEvent) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(INSERT_WORKSPACE)
                .bind(w.id.as_str())
                .bind(w.account_id.as_str())
                .bind(&w.name)
                .bind(w.created_at.millis())
                .bind(w.created_at.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn rename_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        name: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Workspace>> {
        port(async {
            let mut tx = self.begin().await?;
            let row = sqlx::query_as::<_, WorkspaceRow>(RENAME_WORKSPACE)
                .bind(account_id.as_str())
                .bind(workspace_id.as_str())
                .bind(name)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_none() {
                return Ok(None);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            decode_opt(row)
        })
        .await
    }

    async fn delete_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        with_records: bool,
        audit: AuditEvent,
    ) -> StoreResult<WorkspaceDeletion> {
        port(async {
            let sql = if with_records {
                DELETE_WORKSPACE
            } else {
                DELETE_EMPTY_WORKSPACE
            };
            let mut tx = self.begin().await?;
            let deleted = sqlx::query(sql)
                .bind(account_id.as_str())
                .bind(workspace_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                return Ok(WorkspaceDeletion::Deleted);
            }
            drop(tx);
            if with_records {
                return Ok(WorkspaceDeletion::NotFound);
            }
            // Nothing deleted: no such workspace, or one with records.
            let exists = sqlx::query_scalar::<_, i64>(WORKSPACE_EXISTS)
                .bind(account_id.as_str())
                .bind(workspace_id.as_str())
                .fetch_one(&self.pool)
                .await?;
            Ok(if exists > 0 {
                WorkspaceDeletion::HasRecords
            } else {
                WorkspaceDeletion::NotFound
            })
        })
        .await
    }

    async fn list_records(
        &self,
        account_id: &AccountId,
        workspace_id: Option<&WorkspaceId>,
        page: &PageRequest,
    ) -> StoreResult<Vec<DataRecord>> {
        let filter = Some(workspace_id.map(WorkspaceId::as_str));
        port(self.hot_page::<DataRecordRow, _>(&LIST_RECORDS, account_id, page, filter)).await
    }

    async fn record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
    ) -> StoreResult<Option<DataRecord>> {
        port(self.hot_optional::<DataRecordRow, _>(
            &RECORD_BY_ID,
            &[account_id.as_str(), record_id.as_str()],
        ))
        .await
    }

    async fn create_record(&self, r: &DataRecord, audit: AuditEvent) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let inserted = sqlx::query(INSERT_RECORD)
                .bind(r.id.as_str())
                .bind(r.account_id.as_str())
                .bind(r.workspace_id.as_str())
                .bind(&r.data)
                .bind(r.created_at.millis())
                .bind(r.updated_at.millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if inserted != 1 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn update_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        data: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<DataRecord>> {
        port(async {
            let mut tx = self.begin().await?;
            let row = sqlx::query_as::<_, DataRecordRow>(UPDATE_RECORD)
                .bind(account_id.as_str())
                .bind(record_id.as_str())
                .bind(data)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_none() {
                return Ok(None);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            decode_opt(row)
        })
        .await
    }

    async fn delete_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let deleted = sqlx::query(DELETE_RECORD)
                .bind(account_id.as_str())
                .bind(record_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }
}
