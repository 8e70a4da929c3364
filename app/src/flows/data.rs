//! An account's data: its workspaces and their records, as scripts reach them with an API key
//! and members in the web app ([`DataAccess`]). Every read and write is filtered by the
//! actor's account (another account's ids are "not found"), and each needs the scope for it.
use crate::auth::DataAccess;
use crate::domain::accounts::Account;
use crate::domain::api_keys::Scope;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::workspaces::{DataRecord, Workspace, WorkspaceDeletion};
use crate::flows::{Outcome, Refusal};
use crate::AppState;

/// The key's scope for `scope`, or the refusal that names it.
fn need(actor: &impl DataAccess, scope: Scope) -> Result<(), Refusal> {
    if actor.may_use(scope) {
        Ok(())
    } else {
        Err(Refusal::MissingScope(scope))
    }
}

/// The key's own account (every key may read it).
pub async fn account(state: &AppState, actor: &impl DataAccess) -> Outcome<Account> {
    state
        .store
        .account(actor.data_account())
        .await?
        .ok_or(Refusal::NotFound("account").into())
}

pub async fn list_workspaces(
    state: &AppState,
    actor: &impl DataAccess,
    page: &PageRequest,
) -> Outcome<Page<Workspace>> {
    need(actor, Scope::WorkspacesRead)?;
    let rows = state
        .store
        .list_workspaces(actor.data_account(), page)
        .await?;
    Ok(Page::from_fetched(rows, page))
}

pub async fn workspace(
    state: &AppState,
    actor: &impl DataAccess,
    id: &WorkspaceId,
) -> Outcome<Workspace> {
    need(actor, Scope::WorkspacesRead)?;
    state
        .store
        .workspace(actor.data_account(), id)
        .await?
        .ok_or(Refusal::NotFound("workspace").into())
}

/// Creates a workspace; `name` has passed the name rules already (`domain::text`).
pub async fn create_workspace(
    state: &AppState,
    actor: &impl DataAccess,
    name: String,
) -> Outcome<Workspace> {
    need(actor, Scope::WorkspacesWrite)?;
    let workspace = Workspace {
        id: WorkspaceId::new(),
        account_id: actor.data_account().to_owned(),
        name,
        created_at: state.clock.now(),
    };
    let audit = actor.data_audit(
        "workspace.created",
        format!("\"{}\" ({})", workspace.name, workspace.id),
        workspace.created_at,
    );
    state.store.create_workspace(&workspace, audit).await?;
    Ok(workspace)
}

pub async fn rename_workspace(
    state: &AppState,
    actor: &impl DataAccess,
    id: &WorkspaceId,
    name: &str,
) -> Outcome<Workspace> {
    need(actor, Scope::WorkspacesWrite)?;
    let now = state.clock.now();
    let audit = actor.data_audit("workspace.renamed", format!("{id} to \"{name}\""), now);
    state
        .store
        .rename_workspace(actor.data_account(), id, name, now, audit)
        .await?
        .ok_or(Refusal::NotFound("workspace").into())
}

/// Deletes a workspace and its records. The records go with it, so a workspace that has any
/// needs `records:write` as well (a key without it deletes only empty workspaces: it could
/// not delete those records one by one either).
pub async fn delete_workspace(
    state: &AppState,
    actor: &impl DataAccess,
    id: &WorkspaceId,
) -> Outcome<()> {
    need(actor, Scope::WorkspacesWrite)?;
    let with_records = actor.may_use(Scope::RecordsWrite);
    let audit = actor.data_audit("workspace.deleted", id.to_string(), state.clock.now());
    match state
        .store
        .delete_workspace(actor.data_account(), id, with_records, audit)
        .await?
    {
        WorkspaceDeletion::Deleted => Ok(()),
        WorkspaceDeletion::NotFound => Err(Refusal::NotFound("workspace").into()),
        WorkspaceDeletion::HasRecords => Err(Refusal::MissingScope(Scope::RecordsWrite).into()),
    }
}

pub async fn list_records(
    state: &AppState,
    actor: &impl DataAccess,
    workspace_id: Option<&WorkspaceId>,
    page: &PageRequest,
) -> Outcome<Page<DataRecord>> {
    need(actor, Scope::RecordsRead)?;
    let rows = state
        .store
        .list_records(actor.data_account(), workspace_id, page)
        .await?;
    Ok(Page::from_fetched(rows, page))
}

pub async fn record(
    state: &AppState,
    actor: &impl DataAccess,
    id: &RecordId,
) -> Outcome<DataRecord> {
    need(actor, Scope::RecordsRead)?;
    state
        .store
        .record(actor.data_account(), id)
        .await?
        .ok_or(Refusal::NotFound("record").into())
}

/// Creates a record in one of the account's workspaces; `data` is a JSON object's text.
pub async fn create_record(
    state: &AppState,
    actor: &impl DataAccess,
    workspace_id: WorkspaceId,
    data: String,
) -> Outcome<DataRecord> {
    need(actor, Scope::RecordsWrite)?;
    let now = state.clock.now();
    let record = DataRecord {
        id: RecordId::new(),
        account_id: actor.data_account().to_owned(),
        workspace_id,
        data,
        created_at: now,
        updated_at: now,
    };
    let audit = actor.data_audit(
        "record.created",
        format!("{} in {}", record.id, record.workspace_id),
        now,
    );
    if state.store.create_record(&record, audit).await? {
        Ok(record)
    } else {
        Err(Refusal::NotFound("workspace").into())
    }
}

pub async fn update_record(
    state: &AppState,
    actor: &impl DataAccess,
    id: &RecordId,
    data: &str,
) -> Outcome<DataRecord> {
    need(actor, Scope::RecordsWrite)?;
    let now = state.clock.now();
    let audit = actor.data_audit("record.updated", id.to_string(), now);
    state
        .store
        .update_record(actor.data_account(), id, data, now, audit)
        .await?
        .ok_or(Refusal::NotFound("record").into())
}

pub async fn delete_record(
    state: &AppState,
    actor: &impl DataAccess,
    id: &RecordId,
) -> Outcome<()> {
    need(actor, Scope::RecordsWrite)?;
    let audit = actor.data_audit("record.deleted", id.to_string(), state.clock.now());
    let deleted = state
        .store
        .delete_record(actor.data_account(), id, audit)
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(Refusal::NotFound("record").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeyOf;
    use crate::domain::ids::{AccountId, ApiKeyId};
    use crate::ports::prelude::*;
    use crate::testing::{refused, Harness, PASSWORD};

    fn key(account_id: &AccountId, scopes: Option<Vec<Scope>>) -> KeyOf {
        KeyOf::for_tests(&ApiKeyId::from_stored("key_test"), account_id, scopes)
    }

    fn page(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
            ending_before: None,
        }
    }

    fn before(limit: u32, cursor: &str) -> PageRequest {
        PageRequest {
            limit,
            starting_after: None,
            ending_before: Some(cursor.to_owned()),
        }
    }

    /// An account (with its "Main" workspace) and a full-access key of it.
    async fn keyed_account(h: &Harness, email: &str) -> (AccountId, KeyOf) {
        let (_, account_id) = h.signed_up(email, Some(PASSWORD)).await;
        let full = key(&account_id, None);
        (account_id, full)
    }

    #[tokio::test]
    async fn every_read_and_write_needs_its_scope() {
        let h = Harness::new();
        let (acme, full) = keyed_account(&h, "ada@acme.test").await;
        let ws = create_workspace(&h.state, &full, "Data".into())
            .await
            .unwrap();
        let rec = create_record(&h.state, &full, ws.id.clone(), "{}".into())
            .await
            .unwrap();
        let all = page(10, None);
        let records_only = key(&acme, Some(vec![Scope::RecordsWrite]));
        let missing = |o: Outcome<()>| refused(o);
        use Scope::*;
        assert_eq!(
            missing(
                list_workspaces(&h.state, &records_only, &all)
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(WorkspacesRead)
        );
        assert_eq!(
            missing(workspace(&h.state, &records_only, &ws.id).await.map(drop)),
            Refusal::MissingScope(WorkspacesRead)
        );
        let read_only = key(&acme, Some(vec![WorkspacesRead, RecordsRead]));
        assert_eq!(
            missing(
                create_workspace(&h.state, &read_only, "x".into())
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(WorkspacesWrite)
        );
        assert_eq!(
            missing(
                rename_workspace(&h.state, &read_only, &ws.id, "x")
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(WorkspacesWrite)
        );
        assert_eq!(
            missing(delete_workspace(&h.state, &read_only, &ws.id).await),
            Refusal::MissingScope(WorkspacesWrite)
        );
        assert_eq!(
            missing(
                create_record(&h.state, &read_only, ws.id.clone(), "{}".into())
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(RecordsWrite)
        );
        assert_eq!(
            missing(
                update_record(&h.state, &read_only, &rec.id, "{}")
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(RecordsWrite)
        );
        assert_eq!(
            missing(delete_record(&h.state, &read_only, &rec.id).await),
            Refusal::MissingScope(RecordsWrite)
        );
        let workspaces_only = key(&acme, Some(vec![WorkspacesWrite]));
        assert_eq!(
            missing(
                list_records(&h.state, &workspaces_only, None, &all)
                    .await
                    .map(drop)
            ),
            Refusal::MissingScope(RecordsRead)
        );
        assert_eq!(
            missing(record(&h.state, &workspaces_only, &rec.id).await.map(drop)),
            Refusal::MissingScope(RecordsRead)
        );
        // Nothing was changed by the refused calls; write includes read.
        let kept = record(&h.state, &records_only, &rec.id).await.unwrap();
        assert_eq!(kept, rec);
        assert_eq!(
            workspace(&h.state, &workspaces_only, &ws.id).await.unwrap(),
            ws
        );
        // Every key may read its own account.
        let nothing = key(&acme, Some(vec![]));
        assert_eq!(account(&h.state, &nothing).await.unwrap().id, acme);
    }

    #[tokio::test]
    async fn a_workspace_with_records_goes_only_with_records_write() {
        let h = Harness::new();
        let (acme, full) = keyed_account(&h, "ada@acme.test").await;
        let ws = create_workspace(&h.state, &full, "Data".into())
            .await
            .unwrap();
        let rec = create_record(&h.state, &full, ws.id.clone(), "{\"a\":1}".into())
            .await
            .unwrap();
        let workspaces_only = key(&acme, Some(vec![Scope::WorkspacesWrite]));
        assert_eq!(
            refused(delete_workspace(&h.state, &workspaces_only, &ws.id).await),
            Refusal::MissingScope(Scope::RecordsWrite)
        );
        assert!(h.store.workspace(&acme, &ws.id).await.unwrap().is_some());
        let empty = create_workspace(&h.state, &workspaces_only, "Empty".into())
            .await
            .unwrap();
        delete_workspace(&h.state, &workspaces_only, &empty.id)
            .await
            .unwrap();
        delete_workspace(&h.state, &full, &ws.id).await.unwrap();
        assert!(h.store.record(&acme, &rec.id).await.unwrap().is_none());
        assert_eq!(
            refused(delete_workspace(&h.state, &full, &ws.id).await),
            Refusal::NotFound("workspace")
        );
    }

    #[tokio::test]
    async fn another_account_s_data_is_not_found() {
        let h = Harness::new();
        let (_, ours) = keyed_account(&h, "ada@acme.test").await;
        let (other, theirs) = keyed_account(&h, "bob@other.test").await;
        let their_ws = create_workspace(&h.state, &theirs, "Theirs".into())
            .await
            .unwrap();
        let their_rec = create_record(&h.state, &theirs, their_ws.id.clone(), "{}".into())
            .await
            .unwrap();
        let not_found = |o: Outcome<()>| refused(o);
        assert_eq!(
            not_found(workspace(&h.state, &ours, &their_ws.id).await.map(drop)),
            Refusal::NotFound("workspace")
        );
        assert_eq!(
            not_found(
                rename_workspace(&h.state, &ours, &their_ws.id, "Mine")
                    .await
                    .map(drop)
            ),
            Refusal::NotFound("workspace")
        );
        assert_eq!(
            not_found(delete_workspace(&h.state, &ours, &their_ws.id).await),
            Refusal::NotFound("workspace")
        );
        assert_eq!(
            not_found(
                create_record(&h.state, &ours, their_ws.id.clone(), "{}".into())
                    .await
                    .map(drop)
            ),
            Refusal::NotFound("workspace")
        );
        assert_eq!(
            not_found(record(&h.state, &ours, &their_rec.id).await.map(drop)),
            Refusal::NotFound("record")
        );
        assert_eq!(
            not_found(
                update_record(&h.state, &ours, &their_rec.id, "{}")
                    .await
                    .map(drop)
            ),
            Refusal::NotFound("record")
        );
        assert_eq!(
            not_found(delete_record(&h.state, &ours, &their_rec.id).await),
            Refusal::NotFound("record")
        );
        let theirs_now = h
            .store
            .workspace(&other, &their_ws.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(theirs_now.name, "Theirs");
        assert!(h
            .store
            .record(&other, &their_rec.id)
            .await
            .unwrap()
            .is_some());
        let listed = list_records(&h.state, &ours, None, &page(10, None))
            .await
            .unwrap();
        assert!(listed.items.is_empty());
    }

    #[tokio::test]
    async fn workspaces_and_records_come_a_page_at_a_time_newest_first() {
        let h = Harness::new();
        let (_, full) = keyed_account(&h, "ada@acme.test").await;
        let a = create_workspace(&h.state, &full, "A".into()).await.unwrap();
        let b = create_workspace(&h.state, &full, "B".into()).await.unwrap();
        let first = list_workspaces(&h.state, &full, &page(2, None))
            .await
            .unwrap();
        let names: Vec<&str> = first.items.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, vec!["B", "A"]);
        assert!(first.has_more, "Main is older");
        let rest = list_workspaces(&h.state, &full, &page(2, Some(a.id.as_str())))
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(!rest.has_more);
        // Back from the last page: the page before it again, newest first, nothing newer.
        let back = list_workspaces(&h.state, &full, &before(2, rest.items[0].id.as_str()))
            .await
            .unwrap();
        assert_eq!(back.items, first.items);
        assert!(!back.has_more, "nothing is newer than B");
        let back = list_workspaces(&h.state, &full, &before(1, a.id.as_str()))
            .await
            .unwrap();
        assert_eq!(back.items, vec![b.clone()]);
        assert!(!back.has_more);

        let mut in_a = Vec::new();
        for n in 0..3 {
            let data = format!("{{\"n\":{n}}}");
            in_a.push(
                create_record(&h.state, &full, a.id.clone(), data)
                    .await
                    .unwrap()
                    .id,
            );
        }
        create_record(&h.state, &full, b.id.clone(), "{}".into())
            .await
            .unwrap();
        let page_a = list_records(&h.state, &full, Some(&a.id), &page(2, None))
            .await
            .unwrap();
        let ids: Vec<&str> = page_a.items.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec![in_a[2].as_str(), in_a[1].as_str()]);
        assert!(page_a.has_more);
        let after = list_records(
            &h.state,
            &full,
            Some(&a.id),
            &page(2, Some(in_a[1].as_str())),
        )
        .await
        .unwrap();
        assert_eq!(after.items.len(), 1);
        assert!(!after.has_more);
        // Back before the oldest record of A: the newer ones of A only, newest first.
        let back = list_records(&h.state, &full, Some(&a.id), &before(1, in_a[0].as_str()))
            .await
            .unwrap();
        let ids: Vec<&str> = back.items.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec![in_a[1].as_str()]);
        assert!(back.has_more, "in_a[2] is newer still");
        let back = list_records(&h.state, &full, Some(&a.id), &before(5, in_a[0].as_str()))
            .await
            .unwrap();
        let ids: Vec<&str> = back.items.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec![in_a[2].as_str(), in_a[1].as_str()]);
        assert!(!back.has_more, "B's record is not in A's list");
        let every = list_records(&h.state, &full, None, &page(10, None))
            .await
            .unwrap();
        assert_eq!(every.items.len(), 4);
    }

    #[tokio::test]
    async fn a_record_is_updated_in_place() {
        let h = Harness::new();
        let (_, full) = keyed_account(&h, "ada@acme.test").await;
        let ws = create_workspace(&h.state, &full, "Data".into())
            .await
            .unwrap();
        let rec = create_record(&h.state, &full, ws.id.clone(), "{\"v\":1}".into())
            .await
            .unwrap();
        h.advance(std::time::Duration::from_secs(5));
        let updated = update_record(&h.state, &full, &rec.id, "{\"v\":2}")
            .await
            .unwrap();
        assert_eq!(updated.data, "{\"v\":2}");
        assert_eq!(updated.created_at, rec.created_at);
        assert!(updated.updated_at > rec.updated_at);
        let renamed = rename_workspace(&h.state, &full, &ws.id, "Renamed")
            .await
            .unwrap();
        assert_eq!(renamed.name, "Renamed");
    }

    #[tokio::test]
    async fn a_member_works_with_the_data_of_their_account_only() {
        use crate::auth::MemberOf;
        use crate::domain::roles::Role;
        let h = Harness::new();
        let (ada_id, ada_home) = h.signed_up("ada@example.com", Some(PASSWORD)).await;
        let (_, bob_home) = h.signed_up("bob@example.com", Some(PASSWORD)).await;
        // Any role: a plain member writes too.
        let ada = MemberOf::for_tests(&ada_id, "ada@example.com", &ada_home, Role::Member);
        let bob_key = key(&bob_home, None);
        let bobs = create_workspace(&h.state, &bob_key, "Bob's".into())
            .await
            .unwrap();

        let mine = create_workspace(&h.state, &ada, "Ada's".into())
            .await
            .unwrap();
        let listed = list_workspaces(&h.state, &ada, &PageRequest::everything())
            .await
            .unwrap();
        let names: Vec<&str> = listed.items.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["Ada's", "Main"], "newest first, Ada's account only");
        let rec = create_record(&h.state, &ada, mine.id.clone(), "{}".into())
            .await
            .unwrap();
        update_record(&h.state, &ada, &rec.id, r#"{"a":1}"#)
            .await
            .unwrap();
        assert!(matches!(
            refused(workspace(&h.state, &ada, &bobs.id).await),
            Refusal::NotFound("workspace")
        ));
        assert!(matches!(
            refused(create_record(&h.state, &ada, bobs.id.clone(), "{}".into()).await),
            Refusal::NotFound("workspace")
        ));
        delete_workspace(&h.state, &ada, &mine.id).await.unwrap();
        assert!(matches!(
            refused(record(&h.state, &ada, &rec.id).await),
            Refusal::NotFound("record")
        ));
    }
}
