//! Workspaces and the JSON records kept in them.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, RecordId, WorkspaceId};
use crate::domain::paging::PageRequest;
use crate::domain::workspaces::{DataRecord, Workspace, WorkspaceDeletion};

/// Workspaces and records.
#[async_trait]
pub trait WorkspaceStore: Send + Sync + 'static {
    /// Every workspace of the account, oldest id first (the pages).
    async fn workspaces(&self, account_id: &AccountId) -> StoreResult<Vec<Workspace>>;
    /// Up to `page.limit + 1` workspaces, fetched from the cursor by the rule of
    /// `domain::paging` (the extra one says more follow).
    async fn list_workspaces(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<Workspace>>;
    async fn workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
    ) -> StoreResult<Option<Workspace>>;
    // Every change below writes its `audit` event in its own transaction, and only when it
    // changed something.
    async fn create_workspace(&self, workspace: &Workspace, audit: AuditEvent) -> StoreResult<()>;
    async fn rename_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        name: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Workspace>>;
    /// Deletes the workspace and, with `with_records`, its records; without, only a workspace
    /// that has no record (checked by the deleting statement itself).
    async fn delete_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        with_records: bool,
        audit: AuditEvent,
    ) -> StoreResult<WorkspaceDeletion>;

    /// Up to `page.limit + 1` records (of one workspace, or all), fetched from the cursor by
    /// the rule of `domain::paging`.
    async fn list_records(
        &self,
        account_id: &AccountId,
        workspace_id: Option<&WorkspaceId>,
        page: &PageRequest,
    ) -> StoreResult<Vec<DataRecord>>;
    async fn record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
    ) -> StoreResult<Option<DataRecord>>;
    /// `false` when the workspace is not in this account (nothing written).
    async fn create_record(&self, record: &DataRecord, audit: AuditEvent) -> StoreResult<bool>;
    async fn update_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        data: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<DataRecord>>;
    async fn delete_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
}
