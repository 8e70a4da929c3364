//! `/api/v1/sso_connections`: single sign-on connections, for owners' sessions only.
//! `client_secret` is accepted, sealed, and never returned.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use app::domain::ids::ConnectionId;
use app::domain::secret::Secret;
use app::domain::sso::SsoConnection;
use app::flows::sso::{self, ConnectionChange, ConnectionInput};

use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::inputs::{SsoConnectionInput, SsoConnectionUpdate};
use super::list::List;
use super::resources;
use super::ApiState;
use app::auth::AdminOf;

fn connection(api: &ApiState, c: &SsoConnection) -> resources::SsoConnection {
    resources::sso_connection(c, sso::redirect_uri(&api.app))
}

#[utoipa::path(get, path = "/sso_connections", tag = "sso_connections", operation_id = "list_sso_connections",
    summary = "List single sign-on connections", description = "Owners; never the client secret. All of them, on one page.",
    responses((status = 200, description = "The connections", body = List<resources::SsoConnection>)),
    security(("adminSession" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
) -> ApiResult<Json<List<resources::SsoConnection>>> {
    let owner = admin.owner()?;
    let rows = sso::list(&api.app, &owner).await?;
    Ok(Json(List::whole(
        rows.iter().map(|c| connection(&api, c)).collect(),
    )))
}

/// An optional boolean member; `None` when absent.
fn flag(body: &JsonObject, name: &str) -> ApiResult<Option<bool>> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::unprocessable(
            "parameter_invalid",
            format!("{name} must be true or false"),
        )
        .at(name, &pointer(name))),
    }
}

fn string(body: &JsonObject, name: &str) -> ApiResult<String> {
    match body.get(name) {
        None => Err(ApiError::unprocessable(
            "parameter_missing",
            format!("Missing required parameter: {name}"),
        )
        .at(name, &pointer(name))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ApiError::unprocessable(
            "parameter_invalid",
            format!("{name} must be a string"),
        )
        .at(name, &pointer(name))),
    }
}

#[utoipa::path(post, path = "/sso_connections", tag = "sso_connections", operation_id = "create_sso_connection",
    summary = "Connect an OpenID provider", description = "For verified domains of the account (owners). Discovery is checked first: 422 `issuer_unreachable`, 422 `domain_not_verified`, 409 `domain_taken`.",
    request_body = SsoConnectionInput,
    responses((status = 201, description = "Created", body = resources::SsoConnection)),
    security(("adminSession" = [])))]
pub async fn create(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    let owner = admin.owner()?;
    body.only_fields_of::<SsoConnectionInput>()?;
    let domains = match body.get("domains") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::unprocessable("parameter_invalid", "domains must be strings")
                        .at("domains", &format!("/domains/{i}"))
                })
            })
            .collect::<ApiResult<Vec<_>>>()?,
        Some(_) => {
            return Err(
                ApiError::unprocessable("parameter_invalid", "domains must be an array")
                    .at("domains", "/domains"),
            )
        }
        None => {
            return Err(ApiError::unprocessable(
                "parameter_missing",
                "Missing required parameter: domains",
            )
            .at("domains", "/domains"))
        }
    };
    let input = ConnectionInput {
        issuer: string(&body, "issuer")?,
        client_id: string(&body, "client_id")?,
        client_secret: Secret::new(string(&body, "client_secret")?),
        domains,
        create_users: flag(&body, "create_users")?.unwrap_or(false),
        enforced: flag(&body, "enforced")?.unwrap_or(false),
    };
    let c = sso::create(&api.app, &owner, input).await?;
    let location = super::handlers::created_at("sso_connections", c.id.as_str());
    Ok((StatusCode::CREATED, location, Json(connection(&api, &c))).into_response())
}

/// `PATCH {"enforced"?, "create_users"?}`: at least one of them.
#[utoipa::path(patch, path = "/sso_connections/{id}", tag = "sso_connections", operation_id = "update_sso_connection",
    summary = "Switch enforcement or user creation", description = "409 `test_sign_in_required` until an owner completed a test sign-in on the page.",
    params(("id" = String, Path, description = "A connection id (`sso_…`)")),
    request_body = SsoConnectionUpdate,
    responses((status = 200, description = "Updated", body = resources::SsoConnection)),
    security(("adminSession" = [])))]
pub async fn update(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<resources::SsoConnection>> {
    let owner = admin.owner()?;
    body.only_fields_of::<SsoConnectionUpdate>()?;
    let change = ConnectionChange {
        enforced: flag(&body, "enforced")?,
        create_users: flag(&body, "create_users")?,
    };
    let c = sso::update(&api.app, &owner, &ConnectionId::from_input(&id), change).await?;
    Ok(Json(connection(&api, &c)))
}

#[utoipa::path(delete, path = "/sso_connections/{id}", tag = "sso_connections", operation_id = "delete_sso_connection",
    summary = "Delete a connection", description = "Its domains no longer use single sign-on.",
    params(("id" = String, Path, description = "A connection id (`sso_…`)")),
    responses((status = 204, description = "Deleted")),
    security(("adminSession" = [])))]
pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = admin.owner()?;
    sso::delete(&api.app, &owner, &ConnectionId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
