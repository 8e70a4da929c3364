//! [`WorkspaceStore`] in memory (`src/store/body/workspaces.rs`).
use async_trait::async_trait;

use crate::domain::audit::AuditEvent;

use super::{page_of, MemoryStore};
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, RecordId, WorkspaceId};
use crate::domain::paging::PageRequest;
use crate::domain::workspaces::{DataRecord, Workspace, WorkspaceDeletion};
use crate::ports::{StoreError, StoreResult, WorkspaceStore};

#[async_trait]
impl WorkspaceStore for MemoryStore {
    /// Oldest id first.
    async fn workspaces(&self, account_id: &AccountId) -> StoreResult<Vec<Workspace>> {
        let mut found: Vec<Workspace> = self
            .lock()?
            .workspaces
            .iter()
            .filter(|w| w.account_id == account_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    async fn list_workspaces(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<Workspace>> {
        let mine = self
            .lock()?
            .workspaces
            .iter()
            .filter(|w| w.account_id == account_id)
            .cloned()
            .collect();
        Ok(page_of(mine, page, |w| w.id.as_str()))
    }

    async fn workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
    ) -> StoreResult<Option<Workspace>> {
        Ok(self
            .lock()?
            .workspaces
            .iter()
            .find(|w| w.account_id == account_id && w.id == workspace_id)
            .cloned())
    }

    async fn create_workspace(&self, workspace: &Workspace, audit: AuditEvent) -> StoreResult<()> {
        let mut state = self.lock()?;
        if state.workspaces.iter().any(|w| w.id == workspace.id) {
            return Err(StoreError(format!("workspace {} exists", workspace.id)));
        }
        if !state.accounts.contains_key(&workspace.account_id) {
            return Err(StoreError(format!("no account {}", workspace.account_id)));
        }
        state.workspaces.push(workspace.clone());
        state.audit.push(audit);
        Ok(())
    }

    async fn rename_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        name: &str,
        _now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<Workspace>> {
        let mut state = self.lock()?;
        let renamed = state
            .workspaces
            .iter_mut()
            .find(|w| w.account_id == account_id && w.id == workspace_id)
            .map(|w| {
                w.name = name.to_owned();
                w.clone()
            });
        if renamed.is_some() {
            state.audit.push(audit);
        }
        Ok(renamed)
    }

    /// Its records go with it; without `with_records` only an empty workspace goes.
    async fn delete_workspace(
        &self,
        account_id: &AccountId,
        workspace_id: &WorkspaceId,
        with_records: bool,
        audit: AuditEvent,
    ) -> StoreResult<WorkspaceDeletion> {
        let mut state = self.lock()?;
        let Some(at) = state
            .workspaces
            .iter()
            .position(|w| w.account_id == account_id && w.id == workspace_id)
        else {
            return Ok(WorkspaceDeletion::NotFound);
        };
        let has_records = state.records.iter().any(|r| r.workspace_id == workspace_id);
        if has_records && !with_records {
            return Ok(WorkspaceDeletion::HasRecords);
        }
        state.workspaces.remove(at);
        state.records.retain(|r| r.workspace_id != workspace_id);
        state.audit.push(audit);
        Ok(WorkspaceDeletion::Deleted)
    }

    async fn list_records(
        &self,
        account_id: &AccountId,
        workspace_id: Option<&WorkspaceId>,
        page: &PageRequest,
    ) -> StoreResult<Vec<DataRecord>> {
        let mine = self
            .lock()?
            .records
            .iter()
            .filter(|r| r.account_id == account_id)
            .filter(|r| workspace_id.is_none_or(|w| r.workspace_id == w))
            .cloned()
            .collect();
        Ok(page_of(mine, page, |r| r.id.as_str()))
    }

    async fn record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
    ) -> StoreResult<Option<DataRecord>> {
        Ok(self
            .lock()?
            .records
            .iter()
            .find(|r| r.account_id == account_id && r.id == record_id)
            .cloned())
    }

    /// Only into a workspace of the record's account.
    async fn create_record(&self, record: &DataRecord, audit: AuditEvent) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let in_account = state
            .workspaces
            .iter()
            .any(|w| w.id == record.workspace_id && w.account_id == record.account_id);
        if !in_account {
            return Ok(false);
        }
        if state.records.iter().any(|r| r.id == record.id) {
            return Err(StoreError(format!("record {} exists", record.id)));
        }
        state.records.push(record.clone());
        state.audit.push(audit);
        Ok(true)
    }

    async fn update_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        data: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<DataRecord>> {
        let mut state = self.lock()?;
        let updated = state
            .records
            .iter_mut()
            .find(|r| r.account_id == account_id && r.id == record_id)
            .map(|r| {
                r.data = data.to_owned();
                r.updated_at = now;
                r.clone()
            });
        if updated.is_some() {
            state.audit.push(audit);
        }
        Ok(updated)
    }

    async fn delete_record(
        &self,
        account_id: &AccountId,
        record_id: &RecordId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let before = state.records.len();
        state
            .records
            .retain(|r| !(r.account_id == account_id && r.id == record_id));
        let deleted = state.records.len() < before;
        if deleted {
            state.audit.push(audit);
        }
        Ok(deleted)
    }
}
