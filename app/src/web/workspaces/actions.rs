//! The server functions of the workspace and record forms (under `/_fn`): each parses, calls
//! its flow in `flows::data`, keeps the outcome in the session (a flash, and what was typed
//! when it is refused) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::api_keys::MAX_NAME_CHARS;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::domain::text::clean_name;
use crate::domain::workspaces::{check_record_text, MAX_RECORD_BYTES};
use crate::flows::{data, Refusal, Stopped};
use crate::paths;
use crate::web::forms::{Ctx, Next};

#[server(prefix = "/_fn", endpoint = "create_workspace")]
pub async fn create_workspace(name: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_create_workspace(&ctx, name).await;
    ctx.finish(result, paths::HOME).await
}

#[server(prefix = "/_fn", endpoint = "rename_workspace")]
pub async fn rename_workspace(id: String, name: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_rename_workspace(&ctx, id, name).await;
    ctx.finish(result, paths::HOME).await
}

#[server(prefix = "/_fn", endpoint = "delete_workspace")]
pub async fn delete_workspace(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_workspace(&ctx, id).await;
    ctx.finish(result, paths::HOME).await
}

#[server(prefix = "/_fn", endpoint = "create_record")]
pub async fn create_record(workspace_id: String, data: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_create_record(&ctx, workspace_id, data).await;
    ctx.finish(result, paths::HOME).await
}

#[server(prefix = "/_fn", endpoint = "update_record")]
pub async fn update_record(id: String, data: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_update_record(&ctx, id, data).await;
    ctx.finish(result, paths::HOME).await
}

#[server(prefix = "/_fn", endpoint = "delete_record")]
pub async fn delete_record(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_record(&ctx, id).await;
    ctx.finish(result, paths::HOME).await
}

/// A name as the API takes it, or the refusal for the `name` field.
fn workspace_name(input: &str) -> Result<String, Stopped> {
    clean_name(input, MAX_NAME_CHARS).map_err(|e| Refusal::invalid("name", e.to_string()).into())
}

/// Record text (a JSON object), or the refusal for the `data` field.
fn record_text(input: &str) -> Result<String, Stopped> {
    check_record_text(input)
        .map(|()| input.trim().to_owned())
        .map_err(|e| Refusal::invalid("data", e.to_string()).into())
}

pub async fn handle_create_workspace(ctx: &Ctx, name: String) -> Next {
    let member = ctx.member().await?;
    let typed = [("name", name.as_str())];
    let clean = ctx
        .settle_keeping(workspace_name(&name), paths::HOME, &typed)
        .await?;
    let created = data::create_workspace(&ctx.state, &member, clean).await;
    let workspace = ctx.settle_keeping(created, paths::HOME, &typed).await?;
    ctx.notice(
        format!("Workspace \"{}\" created.", workspace.name),
        &paths::workspace(&workspace.id),
    )
    .await
}

pub async fn handle_rename_workspace(ctx: &Ctx, id: String, name: String) -> Next {
    let member = ctx.member().await?;
    let id = WorkspaceId::from_input(&id);
    let back = paths::workspace(&id);
    let typed = [("name", name.as_str())];
    let clean = ctx
        .settle_keeping(workspace_name(&name), &back, &typed)
        .await?;
    let renamed = data::rename_workspace(&ctx.state, &member, &id, &clean).await;
    let workspace = ctx.settle_keeping(renamed, paths::HOME, &typed).await?;
    ctx.notice(format!("Renamed to \"{}\".", workspace.name), &back)
        .await
}

pub async fn handle_delete_workspace(ctx: &Ctx, id: String) -> Next {
    let member = ctx.member().await?;
    let id = WorkspaceId::from_input(&id);
    let deleted = data::delete_workspace(&ctx.state, &member, &id).await;
    ctx.settle(deleted, paths::HOME).await?;
    ctx.notice("Workspace deleted, with its records.", paths::HOME)
        .await
}

pub async fn handle_create_record(ctx: &Ctx, workspace_id: String, text: String) -> Next {
    let member = ctx.member().await?;
    let workspace_id = WorkspaceId::from_input(&workspace_id);
    let back = paths::workspace(&workspace_id);
    let typed = ("data", text.as_str());
    let checked = record_text(&text);
    let text = ctx
        .settle_keeping_text(checked, &back, typed, MAX_RECORD_BYTES)
        .await?;
    let created = data::create_record(&ctx.state, &member, workspace_id, text).await;
    let record = ctx.settle(created, paths::HOME).await?;
    ctx.notice(
        format!("Record {} created.", record.id.as_str()),
        &paths::record(&record.id),
    )
    .await
}

pub async fn handle_update_record(ctx: &Ctx, id: String, text: String) -> Next {
    let member = ctx.member().await?;
    let id = RecordId::from_input(&id);
    let back = paths::record(&id);
    let typed = ("data", text.as_str());
    let checked = record_text(&text);
    let text = ctx
        .settle_keeping_text(checked, &back, typed, MAX_RECORD_BYTES)
        .await?;
    let updated = data::update_record(&ctx.state, &member, &id, &text).await;
    ctx.settle(updated, paths::HOME).await?;
    ctx.notice("Record saved.", &back).await
}

pub async fn handle_delete_record(ctx: &Ctx, id: String) -> Next {
    let member = ctx.member().await?;
    let id = RecordId::from_input(&id);
    let record = data::record(&ctx.state, &member, &id).await;
    let record = ctx.settle(record, paths::HOME).await?;
    let deleted = data::delete_record(&ctx.state, &member, &id).await;
    ctx.settle(deleted, &paths::record(&id)).await?;
    ctx.notice(
        format!("Record {} deleted.", id.as_str()),
        &paths::workspace(&record.workspace_id),
    )
    .await
}
