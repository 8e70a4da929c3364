//! `/api/v1/sso_connections`: single sign-on connections, for owners' sessions only.
//! `client_secret` is accepted, sealed, and never returned.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::ids::ConnectionId;
use app::domain::secret::Secret;
use app::domain::sso::SsoConnection;
use app::flows::sso::{self, ConnectionChange, ConnectionInput};

use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::ApiState;
use app::auth::AdminOf;

fn connection_json(api: &ApiState, c: &SsoConnection) -> Value {
    json!({
        "id": c.id, "object": "sso_connection", "issuer": c.issuer, "client_id": c.client_id,
        "domains": c.domains.iter().map(|d| json!({"domain": d.domain, "verified": d.verified})).collect::<Vec<_>>(),
        "enforced": c.enforced,
        "create_users": c.create_users,
        "tested_at": c.tested_at.map(|t| t.to_rfc3339()),
        "redirect_uri": sso::redirect_uri(&api.app),
        "created_at": c.created_at.to_rfc3339(),
    })
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
) -> ApiResult<Json<Value>> {
    let owner = admin.owner()?;
    let rows = sso::list(&api.app, &owner).await?;
    let data: Vec<Value> = rows.iter().map(|c| connection_json(&api, c)).collect();
    Ok(Json(
        json!({"object": "list", "data": data, "has_more": false}),
    ))
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

pub async fn create(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    let owner = admin.owner()?;
    body.only(&[
        "issuer",
        "client_id",
        "client_secret",
        "domains",
        "enforced",
        "create_users",
    ])?;
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
    Ok((
        StatusCode::CREATED,
        location,
        Json(connection_json(&api, &c)),
    )
        .into_response())
}

/// `PATCH {"enforced"?, "create_users"?}`: at least one of them.
pub async fn update(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let owner = admin.owner()?;
    body.only(&["enforced", "create_users"])?;
    let change = ConnectionChange {
        enforced: flag(&body, "enforced")?,
        create_users: flag(&body, "create_users")?,
    };
    let c = sso::update(&api.app, &owner, &ConnectionId::from_input(&id), change).await?;
    Ok(Json(connection_json(&api, &c)))
}

pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = admin.owner()?;
    sso::delete(&api.app, &owner, &ConnectionId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
