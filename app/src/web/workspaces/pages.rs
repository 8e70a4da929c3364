//! The workspaces of the current account (the signed-in home, newest first like the API),
//! one workspace with its records and a "Get started" panel, and the confirmation before a
//! workspace is deleted.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use serde::Deserialize;
use tower_sessions::Session;

use super::actions::{CreateRecord, CreateWorkspace, DeleteWorkspace, RenameWorkspace};
use super::record::{preview, RecordText};
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::domain::paging::PageRequest;
use crate::domain::workspaces::{DataRecord, Workspace};
use crate::flows::{data, Stopped};
use crate::paths;
use crate::session::take_flash;
use crate::web::errors;
use crate::web::respond::PageResult;
use crate::web::shell::{human_time, render_page, CopyScript, Copyable, Field, Messages, SignedIn};
use crate::web::signed::{self, Member};
use crate::AppState;

/// Records shown on one page of a workspace.
const RECORDS_PER_PAGE: u32 = 20;

pub async fn home_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let workspaces = data::list_workspaces(&state, &member.member, &PageRequest::everything())
        .await?
        .items;
    let chrome = member.chrome();
    let role = member.member.role().as_str();
    let title = chrome.account_name.clone();
    Ok(render_page(StatusCode::OK, &title, move || {
        let rows = workspaces
            .iter()
            .map(|w| {
                let href = paths::workspace(&w.id);
                view! {
                    <tr>
                        <td data-label="Name">
                            <a href=href>{w.name.clone()}</a>
                        </td>
                        <td data-label="Id">
                            <Copyable
                                id=format!("ws-id-{}", w.id)
                                text=w.id.as_str().to_owned()
                                what=format!("the id of {}", w.name)
                                class="id"
                            />
                        </td>
                        <td data-label="Created">{human_time(w.created_at)}</td>
                    </tr>
                }
            })
            .collect_view();
        let empty = workspaces.is_empty();
        view! {
            <SignedIn chrome=chrome.clone() current=paths::HOME>
                <p class="eyebrow">{format!("{} · {role}", chrome.account_name)}</p>
                <h1>"Workspaces"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                {(!empty)
                    .then(|| {
                        view! {
                            <table class="workspaces stack">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"Id"</th>
                                        <th>"Created"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                    })}
                {empty
                    .then(|| {
                        view! {
                            <p id="no-workspaces">
                                "No workspaces yet: create one to keep records in."
                            </p>
                        }
                    })}
                <h2>"New workspace"</h2>
                <form method="post" action=CreateWorkspace::PATH novalidate=true>
                    <Field
                        label="Name"
                        name="name"
                        kind="text"
                        autocomplete="off"
                        value=flash.value_of("name")
                        error=flash.field("name")
                        autofocus=flash.field("name").is_some()
                    />
                    <button type="submit" class="primary">
                        "Create workspace"
                    </button>
                </form>
                {(!empty).then(|| view! { <CopyScript /> })}
            </SignedIn>
        }
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecordsQuery {
    /// The cursor: records older than this one.
    after: Option<String>,
}

/// The workspace (or the page for an id that names none of the account's).
async fn find(state: &AppState, member: &Member, id: &str) -> Result<Option<Workspace>, Stopped> {
    match data::workspace(state, &member.member, &WorkspaceId::from_input(id)).await {
        Ok(w) => Ok(Some(w)),
        Err(Stopped::Refused(_)) => Ok(None),
        Err(broken) => Err(broken),
    }
}

pub async fn workspace_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<RecordsQuery>,
) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let Some(workspace) = find(&state, &member, &id).await? else {
        return Ok(errors::not_found());
    };
    let flash = take_flash(&session).await?;
    let page = PageRequest {
        limit: RECORDS_PER_PAGE,
        starting_after: query
            .after
            .map(|a| RecordId::from_input(&a).as_str().to_owned()),
        ending_before: None,
    };
    let records = data::list_records(&state, &member.member, Some(&workspace.id), &page).await?;
    let older = records
        .has_more
        .then(|| records.items.last().map(|r| r.id.clone()))
        .flatten();
    let is_admin = member.member.is_admin();
    let api_base = state.config.link("/api/v1");
    let chrome = member.chrome();
    let title = workspace.name.clone();
    Ok(render_page(StatusCode::OK, &title, move || {
        let ws_id = workspace.id.as_str().to_owned();
        view! {
            <SignedIn chrome=chrome.clone() current=paths::HOME>
                <p class="eyebrow">
                    <a href=paths::HOME>"Workspaces"</a>
                </p>
                <h1>{workspace.name.clone()}</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>
                    "Id "
                    <Copyable
                        id="workspace-id".to_owned()
                        text=ws_id.clone()
                        what="the id of this workspace".to_owned()
                        class="id"
                    />
                </p>
                <RecordsTable records=records.items.clone() />
                {older
                    .clone()
                    .map(|last| {
                        let href = format!(
                            "{}?after={}",
                            paths::workspace(&workspace.id),
                            last.as_str(),
                        );
                        view! {
                            <p>
                                <a href=href rel="next">
                                    "Older records"
                                </a>
                            </p>
                        }
                    })}
                <h2>"New record"</h2>
                <form method="post" action=CreateRecord::PATH novalidate=true>
                    <input type="hidden" name="workspace_id" value=ws_id.clone() />
                    <RecordText
                        value=flash.value_of("data").unwrap_or_else(|| "{\n  \n}".to_owned())
                        error=flash.field("data")
                    />
                    <button type="submit" class="primary">
                        "Add record"
                    </button>
                </form>
                <GetStarted
                    api_base=api_base.clone()
                    workspace_id=ws_id.clone()
                    is_admin=is_admin
                />
                <h2>"Settings"</h2>
                <form method="post" action=RenameWorkspace::PATH novalidate=true>
                    <input type="hidden" name="id" value=ws_id.clone() />
                    <Field
                        label="Name"
                        name="name"
                        kind="text"
                        autocomplete="off"
                        value=Some(flash.value_of("name").unwrap_or_else(|| workspace.name.clone()))
                        error=flash.field("name")
                        autofocus=flash.field("name").is_some()
                    />
                    <button type="submit" class="secondary">
                        "Rename"
                    </button>
                </form>
                <p>
                    <a class="danger-link" href=paths::workspace_deletion(&workspace.id)>
                        "Delete this workspace…"
                    </a>
                </p>
                <CopyScript />
            </SignedIn>
        }
    }))
}

/// The records of a page: id (a link to the record), last change, and the start of the JSON.
#[component]
fn RecordsTable(records: Vec<DataRecord>) -> impl IntoView {
    if records.is_empty() {
        return view! { <p id="no-records">"No records yet."</p> }.into_any();
    }
    let rows = records
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td data-label="Id">
                        <a href=paths::record(&r.id)>
                            <code class="id">{r.id.as_str().to_owned()}</code>
                        </a>
                    </td>
                    <td data-label="Updated">{human_time(r.updated_at)}</td>
                    <td data-label="Data">
                        <code class="preview">{preview(&r.data)}</code>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="records stack" id="records">
            <thead>
                <tr>
                    <th>"Id"</th>
                    <th>"Updated"</th>
                    <th>"Data"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// "Get started": the API calls for this workspace, ready to paste (with a key in
/// `TERMINUS_HUB_KEY`), and where that key comes from.
#[component]
fn GetStarted(api_base: String, workspace_id: String, is_admin: bool) -> impl IntoView {
    let list = format!(
        "curl -H \"Authorization: Bearer $TERMINUS_HUB_KEY\" \\\n  \"{api_base}/records?workspace_id={workspace_id}\""
    );
    let add = format!(
        "curl -H \"Authorization: Bearer $TERMINUS_HUB_KEY\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"workspace_id\": \"{workspace_id}\", \"data\": {{\"hello\": \"world\"}}}}' \\\n  {api_base}/records"
    );
    view! {
        <section class="get-started" aria-labelledby="get-started-heading">
            <h2 id="get-started-heading">"Get started with the API"</h2>
            <p>
                {if is_admin {
                    view! {
                        "Create an API key on the "
                        <a href=paths::API_KEYS>"API keys"</a>
                        " page, put it in "
                        <code>"TERMINUS_HUB_KEY"</code>
                        ", then:"
                    }
                        .into_any()
                } else {
                    view! {
                        "Ask an owner or admin of this account for an API key, put it in "
                        <code>"TERMINUS_HUB_KEY"</code>
                        ", then:"
                    }
                        .into_any()
                }}
            </p>
            <p>"List this workspace's records:"</p>
            <pre id="curl-list">
                <code>{list}</code>
            </pre>
            <p>"Add one:"</p>
            <pre id="curl-add">
                <code>{add}</code>
            </pre>
        </section>
    }
}

pub async fn confirm_delete_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let Some(workspace) = find(&state, &member, &id).await? else {
        return Ok(errors::not_found());
    };
    let chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Delete workspace", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::HOME>
                <h1>"Delete workspace"</h1>
                <p>
                    {format!(
                        "Delete \"{}\" and every record in it? Scripts using its id will get 404. This cannot be undone.",
                        workspace.name,
                    )}
                </p>
                <form method="post" action=DeleteWorkspace::PATH class="inline">
                    <input type="hidden" name="id" value=workspace.id.as_str().to_owned() />
                    <button type="submit" class="danger">
                        "Delete workspace"
                    </button>
                    " "
                    <a href=paths::workspace(&workspace.id)>"Cancel"</a>
                </form>
            </SignedIn>
        }
    }))
}
