//! The `/api/v1` handlers. Every query is filtered by the caller's account, so another
//! account's ids answer 404, never 403.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use app::auth::{AdminOf, KeyOf};
use app::domain::api_keys::{Scope, MAX_NAME_CHARS};
use app::domain::clock::Timestamp;
use app::domain::ids::{ApiKeyId, RecordId, WorkspaceId};
use app::flows::api_keys as key_flows;
use app::flows::{data, Refusal, Stopped};

use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::inputs::{
    AccountUpdate, ApiKeyInput, ListParams, RecordFilter, RecordInput, RecordUpdate, RollInput,
    WorkspaceInput,
};
use super::list::{list_of, on_cursor, page_request, List};
use super::resources::{self, RecordOut};
use super::ApiState;

/// Records hold at most this much JSON.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

type Q = Query<HashMap<String, String>>;

/// The key's account, with its plan and that plan's limits.
#[utoipa::path(get, path = "/account", tag = "account", operation_id = "get_account",
    responses((status = 200, description = "The account", body = resources::Account)),
    security(("bearerKey" = [])))]
pub async fn get_account(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
) -> ApiResult<Json<resources::Account>> {
    let account = data::account(&api.app, &key).await?;
    Ok(Json(resources::account(&account, &api.app.config.plans)))
}

/// Renames the account (owners and admins, with their session: an account's settings are not
/// a key's to change).
#[utoipa::path(patch, path = "/account", tag = "account", operation_id = "update_account",
    summary = "Rename the account", description = "Owners and admins, with their browser session; API keys get 403.",
    request_body = AccountUpdate,
    responses((status = 200, description = "Renamed", body = resources::Account)),
    security(("adminSession" = [])))]
pub async fn update_account(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Json<resources::Account>> {
    body.only_fields_of::<AccountUpdate>()?;
    let name = body.name("name", app::flows::accounts::MAX_ACCOUNT_NAME_CHARS)?;
    app::flows::accounts::rename(&api.app, &admin, &name).await?;
    let account = data::account(&api.app, &*admin).await?;
    Ok(Json(resources::account(&account, &api.app.config.plans)))
}

/// `Location` of a created object: `/api/v1/{collection}/{id}`.
pub fn created_at(collection: &str, id: &str) -> [(axum::http::HeaderName, String); 1] {
    [(
        axum::http::header::LOCATION,
        format!("/api/v1/{collection}/{id}"),
    )]
}

// --- workspaces ---

#[utoipa::path(get, path = "/workspaces", tag = "workspaces", operation_id = "list_workspaces",
    summary = "List workspaces", description = "The account's workspaces, newest first (`workspaces:read`).",
    params(ListParams),
    responses((status = 200, description = "A page of workspaces", body = List<resources::WorkspaceOut>)),
    security(("bearerKey" = [])))]
pub async fn list_workspaces(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Query(q): Q,
) -> ApiResult<Json<List<resources::WorkspaceOut>>> {
    let page = page_request(&q)?;
    let rows = data::list_workspaces(&api.app, &key, &page).await?;
    // A cursor that names no workspace of the account is an error, not page one again (a
    // paging loop would repeat itself).
    for (param, cursor) in [
        ("starting_after", &page.starting_after),
        ("ending_before", &page.ending_before),
    ] {
        if let Some(cursor) = cursor {
            if data::workspace(&api.app, &key, &WorkspaceId::from_input(cursor))
                .await
                .is_err()
            {
                return Err(ApiError::not_found("workspace").param(param));
            }
        }
    }
    Ok(Json(list_of(rows, resources::workspace)))
}

#[utoipa::path(post, path = "/workspaces", tag = "workspaces", operation_id = "create_workspace",
    summary = "Create a workspace", description = "A new, empty workspace (`workspaces:write`).",
    request_body = WorkspaceInput,
    responses((status = 201, description = "Created", body = resources::WorkspaceOut)),
    security(("bearerKey" = [])))]
pub async fn create_workspace(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only_fields_of::<WorkspaceInput>()?;
    let name = body.name("name", MAX_NAME_CHARS)?;
    let workspace = data::create_workspace(&api.app, &key, name).await?;
    let location = created_at("workspaces", workspace.id.as_str());
    Ok((
        StatusCode::CREATED,
        location,
        Json(resources::workspace(&workspace)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/workspaces/{id}", tag = "workspaces", operation_id = "get_workspace",
    summary = "Get a workspace", description = "One workspace of the account (`workspaces:read`).",
    params(("id" = String, Path, description = "A workspace id (`ws_…`)")),
    responses((status = 200, description = "The workspace", body = resources::WorkspaceOut)),
    security(("bearerKey" = [])))]
pub async fn get_workspace(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
) -> ApiResult<Json<resources::WorkspaceOut>> {
    let w = data::workspace(&api.app, &key, &WorkspaceId::from_input(&id)).await?;
    Ok(Json(resources::workspace(&w)))
}

#[utoipa::path(patch, path = "/workspaces/{id}", tag = "workspaces", operation_id = "update_workspace",
    summary = "Rename a workspace", description = "(`workspaces:write`)",
    params(("id" = String, Path, description = "A workspace id (`ws_…`)")),
    request_body = WorkspaceInput,
    responses((status = 200, description = "Renamed", body = resources::WorkspaceOut)),
    security(("bearerKey" = [])))]
pub async fn update_workspace(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<resources::WorkspaceOut>> {
    body.only_fields_of::<WorkspaceInput>()?;
    let name = body.name("name", MAX_NAME_CHARS)?;
    let w = data::rename_workspace(&api.app, &key, &WorkspaceId::from_input(&id), &name).await?;
    Ok(Json(resources::workspace(&w)))
}

#[utoipa::path(delete, path = "/workspaces/{id}", tag = "workspaces", operation_id = "delete_workspace",
    summary = "Delete a workspace and its records",
    description = "Needs `workspaces:write`; a workspace that has records also needs `records:write` (else 403 `insufficient_scope` with param `records:write`).",
    params(("id" = String, Path, description = "A workspace id (`ws_…`)")),
    responses((status = 204, description = "Deleted, with its records")),
    security(("bearerKey" = [])))]
pub async fn delete_workspace(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    data::delete_workspace(&api.app, &key, &WorkspaceId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- records ---

/// The `data` member: a JSON object of at most 256 KiB, as the JSON text that was sent (kept
/// byte for byte: large integers, `-0`, long decimals and key order come back as sent).
fn record_data(body: &JsonObject) -> ApiResult<String> {
    let missing = || {
        ApiError::unprocessable("parameter_missing", "Missing required parameter: data")
            .at("data", "/data")
    };
    let data = body.get("data").ok_or_else(missing)?;
    if !data.is_object() {
        return Err(
            ApiError::unprocessable("parameter_invalid", "data must be a JSON object")
                .at("data", "/data"),
        );
    }
    let text = body.raw("data").ok_or_else(missing)?.get().to_owned();
    if text.len() > MAX_RECORD_BYTES {
        return Err(ApiError::too_large(
            "record_too_large",
            format!("data must be at most {MAX_RECORD_BYTES} bytes of JSON"),
        )
        .at("data", "/data"));
    }
    Ok(text)
}

#[utoipa::path(get, path = "/records", tag = "records", operation_id = "list_records",
    summary = "List records", description = "The account's records, newest first, or one workspace's (`records:read`).",
    params(ListParams, RecordFilter),
    responses((status = 200, description = "A page of records", body = List<RecordOut>)),
    security(("bearerKey" = [])))]
pub async fn list_records(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Query(q): Q,
) -> ApiResult<Json<List<RecordOut>>> {
    let page = page_request(&q)?;
    let workspace = q.get("workspace_id").map(|w| WorkspaceId::from_input(w));
    let rows = data::list_records(&api.app, &key, workspace.as_ref(), &page).await?;
    for (param, cursor) in [
        ("starting_after", &page.starting_after),
        ("ending_before", &page.ending_before),
    ] {
        if let Some(cursor) = cursor {
            if data::record(&api.app, &key, &RecordId::from_input(cursor))
                .await
                .is_err()
            {
                return Err(ApiError::not_found("record").param(param));
            }
        }
    }
    Ok(Json(list_of(rows, resources::record)))
}

#[utoipa::path(post, path = "/records", tag = "records", operation_id = "create_record",
    summary = "Create a record", description = "A JSON object in a workspace (`records:write`); 404 `resource_missing` with param `workspace_id` for a workspace that is not the account's.",
    request_body = RecordInput,
    responses((status = 201, description = "Created", body = RecordOut)),
    security(("bearerKey" = [])))]
pub async fn create_record(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only_fields_of::<RecordInput>()?;
    let workspace_id = WorkspaceId::from_input(&body.name("workspace_id", 64)?);
    let data = record_data(&body)?;
    let record = data::create_record(&api.app, &key, workspace_id, data)
        .await
        .map_err(|stopped| match stopped {
            // The one field that names the missing workspace.
            Stopped::Refused(Refusal::NotFound(what)) => {
                ApiError::not_found(what).at("workspace_id", &pointer("workspace_id"))
            }
            other => other.into(),
        })?;
    let location = created_at("records", record.id.as_str());
    Ok((
        StatusCode::CREATED,
        location,
        Json(resources::record(&record)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/records/{id}", tag = "records", operation_id = "get_record",
    summary = "Get a record", description = "(`records:read`)",
    params(("id" = String, Path, description = "A record id (`rec_…`)")),
    responses((status = 200, description = "The record", body = RecordOut)),
    security(("bearerKey" = [])))]
pub async fn get_record(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordOut>> {
    let r = data::record(&api.app, &key, &RecordId::from_input(&id)).await?;
    Ok(Json(resources::record(&r)))
}

#[utoipa::path(patch, path = "/records/{id}", tag = "records", operation_id = "update_record",
    summary = "Replace a record's data", description = "(`records:write`)",
    params(("id" = String, Path, description = "A record id (`rec_…`)")),
    request_body = RecordUpdate,
    responses((status = 200, description = "Updated", body = RecordOut)),
    security(("bearerKey" = [])))]
pub async fn update_record(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<RecordOut>> {
    body.only_fields_of::<RecordUpdate>()?;
    let data = record_data(&body)?;
    let r = data::update_record(&api.app, &key, &RecordId::from_input(&id), &data).await?;
    Ok(Json(resources::record(&r)))
}

#[utoipa::path(delete, path = "/records/{id}", tag = "records", operation_id = "delete_record",
    summary = "Delete a record", description = "(`records:write`)",
    params(("id" = String, Path, description = "A record id (`rec_…`)")),
    responses((status = 204, description = "Deleted")),
    security(("bearerKey" = [])))]
pub async fn delete_record(
    State(api): State<ApiState>,
    Extension(key): Extension<KeyOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    data::delete_record(&api.app, &key, &RecordId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- API keys (admin session only) ---

#[utoipa::path(get, path = "/api_keys", tag = "api_keys", operation_id = "list_api_keys",
    summary = "List API keys", description = "Never their secrets (owners and admins).",
    params(ListParams),
    responses((status = 200, description = "A page of keys", body = List<resources::ApiKey>)),
    security(("adminSession" = [])))]
pub async fn list_api_keys(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Q,
) -> ApiResult<Json<List<resources::ApiKey>>> {
    let page = page_request(&q)?;
    // This instance's pending "last used" times first, so its own answers are fresh.
    api.last_used.flush(api.app.store.as_ref()).await?;
    let rows = key_flows::list(&api.app, &admin, &page)
        .await
        .map_err(on_cursor(&page))?;
    Ok(Json(list_of(rows, resources::api_key)))
}

fn parse_scopes(value: Option<&Value>) -> ApiResult<Option<Vec<Scope>>> {
    let Some(value) = value else { return Ok(None) };
    let Value::Array(items) = value else {
        return Err(ApiError::unprocessable(
            "parameter_invalid",
            "scopes must be an array of scope names",
        )
        .at("scopes", "/scopes"));
    };
    if items.is_empty() {
        return Err(ApiError::unprocessable(
            "parameter_invalid_empty",
            "scopes must name at least one scope; leave it out for full account access",
        )
        .at("scopes", "/scopes"));
    }
    let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str().and_then(Scope::parse).ok_or_else(|| {
                ApiError::unprocessable(
                    "parameter_invalid",
                    format!("Unknown scope. Known scopes: {}", names.join(", ")),
                )
                .at("scopes", &format!("/scopes/{i}"))
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Some)
}

/// The RFC 3339 time; whether it is in the future is the flow's rule.
fn parse_expiry(value: Option<&Value>) -> ApiResult<Option<Timestamp>> {
    let Some(value) = value else { return Ok(None) };
    let invalid = || {
        ApiError::unprocessable(
            "parameter_invalid",
            "expires_at must be a future RFC 3339 time, like 2030-01-31T00:00:00Z",
        )
        .at("expires_at", "/expires_at")
    };
    let text = value.as_str().ok_or_else(invalid)?;
    let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| invalid())?;
    Ok(Some(Timestamp(at.timestamp_millis())))
}

/// Creates a key; the only answer that ever contains `key`.
#[utoipa::path(post, path = "/api_keys", tag = "api_keys", operation_id = "create_api_key",
    summary = "Create an API key", description = "The only answer (with a roll's) that contains `key`: store it now (owners and admins, signed in within 10 minutes).",
    request_body = ApiKeyInput,
    responses((status = 201, description = "Created", body = resources::NewApiKey)),
    security(("adminSession" = [])))]
pub async fn create_api_key(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only_fields_of::<ApiKeyInput>()?;
    let name = body.name("name", MAX_NAME_CHARS)?;
    let new = key_flows::NewKey {
        name,
        expires_at: parse_expiry(body.get("expires_at"))?,
        scopes: parse_scopes(body.get("scopes"))?,
    };
    let (record, key) = key_flows::create(&api.app, &admin, new).await?;
    let out = resources::new_api_key(&record, key.expose());
    // The answer carries the secret: no cache may keep it.
    Ok((
        StatusCode::CREATED,
        created_at("api_keys", record.id.as_str()),
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(out),
    )
        .into_response())
}

/// Rolls a key: a new key with the same name and scopes (shown once, like at creation), and
/// the old one keeps working for `expires_in_hours` (0–168) more.
#[utoipa::path(post, path = "/api_keys/{id}/roll", tag = "api_keys", operation_id = "roll_api_key",
    summary = "Roll an API key",
    description = "A new key with the same name, scopes and expiry (its secret shown once); the old key keeps working for `expires_in_hours` more (0: it stops now), then gets 401. 409 `api_key_expired` for a key that has already stopped.",
    params(("id" = String, Path, description = "An API key id (`key_…`)")),
    request_body = RollInput,
    responses((status = 201, description = "Rolled", body = resources::RolledApiKey)),
    security(("adminSession" = [])))]
pub async fn roll_api_key(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only_fields_of::<RollInput>()?;
    let field = "expires_in_hours";
    let hours = match body.get(field) {
        None => {
            return Err(ApiError::unprocessable(
                "parameter_missing",
                "Missing required parameter: expires_in_hours",
            )
            .at(field, &pointer(field)))
        }
        Some(value) => value.as_i64().ok_or_else(|| {
            ApiError::unprocessable(
                "parameter_invalid",
                format!(
                    "expires_in_hours must be a whole number of hours from 0 to {}",
                    app::domain::api_keys::MAX_ROLL_HOURS
                ),
            )
            .at(field, &pointer(field))
        })?,
    };
    let hours = key_flows::roll_hours(hours)?;
    let rolled = key_flows::roll(&api.app, &admin, &ApiKeyId::from_input(&id), hours).await?;
    let out = resources::rolled_api_key(&rolled.new, rolled.key.expose(), &id, rolled.old_ends_at);
    Ok((
        StatusCode::CREATED,
        created_at("api_keys", rolled.new.id.as_str()),
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(out),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api_keys/{id}", tag = "api_keys", operation_id = "delete_api_key",
    summary = "Delete an API key", description = "Refused from the very next request, on every instance.",
    params(("id" = String, Path, description = "An API key id (`key_…`)")),
    responses((status = 204, description = "Deleted")),
    security(("adminSession" = [])))]
pub async fn delete_api_key(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    key_flows::delete(&api.app, &admin, &ApiKeyId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unknown routes under `/api/v1`.
pub async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// What `CatchPanicLayer` answers: never an HTML page or an empty body.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}
