//! `/api/v1/sso_connections`: single sign-on connections, for owners' sessions only.
//! `client_secret` is accepted, sealed, and never returned.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::auth::OwnerOf;
use app::domain::secret::Secret;
use app::domain::sso::SsoConnection;
use app::flows::sso::{self, ConnectionInput, EnforceResult, SsoResult};

use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::ApiState;
use app::auth::AdminOf;

/// The admin as an owner of the account (the role rules decide), or 403 `owner_only`.
pub fn owner(admin: &AdminOf) -> ApiResult<OwnerOf> {
    admin
        .as_owner()
        .ok_or_else(|| ApiError::permission("owner_only", "Only owners can manage this"))
}

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

/// 409: enforcement waits for an owner's completed test sign-in (on the settings page).
fn test_sign_in_required() -> ApiError {
    let mut e = ApiError::unprocessable(
        "test_sign_in_required",
        "Complete a test sign-in through this provider (on the Single sign-on page) before enforcing it",
    );
    e.status = StatusCode::CONFLICT;
    e
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
) -> ApiResult<Json<Value>> {
    let owner = owner(&admin)?;
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
    let owner = owner(&admin)?;
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
    match body.get("enforced") {
        None | Some(Value::Bool(false)) => {}
        // A new connection has had no test sign-in: it cannot start out enforced.
        Some(Value::Bool(true)) => return Err(test_sign_in_required().at("enforced", "/enforced")),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "parameter_invalid",
                "enforced must be true or false",
            )
            .at("enforced", "/enforced"))
        }
    }
    let input = ConnectionInput {
        issuer: string(&body, "issuer")?,
        client_id: string(&body, "client_id")?,
        client_secret: Secret::new(string(&body, "client_secret")?),
        domains,
        create_users: flag(&body, "create_users")?.unwrap_or(false),
    };
    match sso::create(&api.app, &owner, input).await? {
        SsoResult::Created(c) => {
            Ok((StatusCode::CREATED, Json(connection_json(&api, &c))).into_response())
        }
        SsoResult::Invalid(e) => {
            let mut err = ApiError::unprocessable(e.code, e.message).at(e.field, &pointer(e.field));
            if e.code == "domain_taken" {
                err.status = StatusCode::CONFLICT;
            }
            Err(err)
        }
    }
}

/// `PATCH {"enforced"?, "create_users"?}`: at least one of them.
pub async fn update(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let owner = owner(&admin)?;
    body.only(&["enforced", "create_users"])?;
    let enforced = flag(&body, "enforced")?;
    let create_users = flag(&body, "create_users")?;
    if enforced.is_none() && create_users.is_none() {
        return Err(ApiError::unprocessable(
            "parameter_missing",
            "Give enforced, create_users or both",
        )
        .at("enforced", "/enforced"));
    }
    // Enforcement first: when it is refused (no test sign-in yet), nothing changes.
    if let Some(enforced) = enforced {
        match sso::set_enforced(&api.app, &owner, &id, enforced).await? {
            EnforceResult::Enforced { .. } | EnforceResult::Stopped => {}
            EnforceResult::NotFound => return Err(ApiError::not_found("sso_connection")),
            EnforceResult::TestSignInRequired => return Err(test_sign_in_required()),
        }
    }
    if let Some(create_users) = create_users {
        if !sso::set_create_users(&api.app, &owner, &id, create_users).await? {
            return Err(ApiError::not_found("sso_connection"));
        }
    }
    let c = sso::connection(&api.app, &admin.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("sso_connection"))?;
    Ok(Json(connection_json(&api, &c)))
}

pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = owner(&admin)?;
    if sso::delete(&api.app, &owner, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("sso_connection"))
    }
}
