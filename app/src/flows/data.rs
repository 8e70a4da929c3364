//! An account's data, as scripts reach it with an API key: its workspaces and their records.
//! Every read and write is filtered by the key's account (another account's ids are "not
//! found"), and each needs the key's scope for it.
use crate::auth::KeyOf;
use crate::domain::accounts::Account;
use crate::domain::api_keys::Scope;
use crate::domain::ids::{new_id, WORKSPACE};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::workspaces::{DataRecord, Workspace, WorkspaceDeletion};
use crate::flows::{Outcome, Refusal};
use crate::AppState;

/// The key's scope for `scope`, or the refusal that names it.
fn need(key: &KeyOf, scope: Scope) -> Result<(), Refusal> {
    if key.may(scope) {
        Ok(())
    } else {
        Err(Refusal::MissingScope(scope))
    }
}

/// The key's own account (every key may read it).
pub async fn account(state: &AppState, key: &KeyOf) -> Outcome<Account> {
    state
        .store
        .account(key.account_id())
        .await?
        .ok_or(Refusal::NotFound("account").into())
}

pub async fn list_workspaces(
    state: &AppState,
    key: &KeyOf,
    page: &PageRequest,
) -> Outcome<Page<Workspace>> {
    need(key, Scope::WorkspacesRead)?;
    let rows = state.store.list_workspaces(key.account_id(), page).await?;
    Ok(Page::from_fetched(rows, page))
}

pub async fn workspace(state: &AppState, key: &KeyOf, id: &str) -> Outcome<Workspace> {
    need(key, Scope::WorkspacesRead)?;
    state
        .store
        .workspace(key.account_id(), id)
        .await?
        .ok_or(Refusal::NotFound("workspace").into())
}

/// Creates a workspace; `name` has passed the name rules already (`domain::text`).
pub async fn create_workspace(state: &AppState, key: &KeyOf, name: String) -> Outcome<Workspace> {
    need(key, Scope::WorkspacesWrite)?;
    let workspace = Workspace {
        id: new_id(WORKSPACE),
        account_id: key.account_id().to_owned(),
        name,
        created_at: state.clock.now(),
    };
    state.store.create_workspace(&workspace).await?;
    Ok(workspace)
}

pub async fn rename_workspace(
    state: &AppState,
    key: &KeyOf,
    id: &str,
    name: &str,
) -> Outcome<Workspace> {
    need(key, Scope::WorkspacesWrite)?;
    state
        .store
        .rename_workspace(key.account_id(), id, name, state.clock.now())
        .await?
        .ok_or(Refusal::NotFound("workspace").into())
}

/// Deletes a workspace and its records. The records go with it, so a workspace that has any
/// needs `records:write` as well (a key without it deletes only empty workspaces: it could
/// not delete those records one by one either).
pub async fn delete_workspace(state: &AppState, key: &KeyOf, id: &str) -> Outcome<()> {
    need(key, Scope::WorkspacesWrite)?;
    let with_records = key.may(Scope::RecordsWrite);
    match state
        .store
        .delete_workspace(key.account_id(), id, with_records)
        .await?
    {
        WorkspaceDeletion::Deleted => Ok(()),
        WorkspaceDeletion::NotFound => Err(Refusal::NotFound("workspace").into()),
        WorkspaceDeletion::HasRecords => Err(Refusal::MissingScope(Scope::RecordsWrite).into()),
    }
}

pub async fn list_records(
    state: &AppState,
    key: &KeyOf,
    workspace_id: Option<&str>,
    page: &PageRequest,
) -> Outcome<Page<DataRecord>> {
    need(key, Scope::RecordsRead)?;
    let rows = state
        .store
        .list_records(key.account_id(), workspace_id, page)
        .await?;
    Ok(Page::from_fetched(rows, page))
}

pub async fn record(state: &AppState, key: &KeyOf, id: &str) -> Outcome<DataRecord> {
    need(key, Scope::RecordsRead)?;
    state
        .store
        .record(key.account_id(), id)
        .await?
        .ok_or(Refusal::NotFound("record").into())
}

/// Creates a record in one of the account's workspaces; `data` is a JSON object's text.
pub async fn create_record(
    state: &AppState,
    key: &KeyOf,
    workspace_id: String,
    data: String,
) -> Outcome<DataRecord> {
    need(key, Scope::RecordsWrite)?;
    let now = state.clock.now();
    let record = DataRecord {
        id: new_id("rec"),
        account_id: key.account_id().to_owned(),
        workspace_id,
        data,
        created_at: now,
        updated_at: now,
    };
    if state.store.create_record(&record).await? {
        Ok(record)
    } else {
        Err(Refusal::NotFound("workspace").into())
    }
}

pub async fn update_record(
    state: &AppState,
    key: &KeyOf,
    id: &str,
    data: &str,
) -> Outcome<DataRecord> {
    need(key, Scope::RecordsWrite)?;
    state
        .store
        .update_record(key.account_id(), id, data, state.clock.now())
        .await?
        .ok_or(Refusal::NotFound("record").into())
}

pub async fn delete_record(state: &AppState, key: &KeyOf, id: &str) -> Outcome<()> {
    need(key, Scope::RecordsWrite)?;
    let deleted = state.store.delete_record(key.account_id(), id).await?;
    if deleted {
        Ok(())
    } else {
        Err(Refusal::NotFound("record").into())
    }
}
