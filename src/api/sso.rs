//! `/api/v1/sso_connections`: single sign-on connections, for owners' sessions only.
//! `client_secret` is accepted, sealed, and never returned.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::secret::Secret;
use app::flows::members::Actor;
use app::flows::sso::{self, ConnectionInput, SsoResult};
use app::ports::SsoConnection;

use super::auth::Caller;
use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::ApiState;

fn owner(caller: &Caller) -> ApiResult<Actor> {
    match caller.actor() {
        Some(actor) if actor.role == app::ports::Role::Owner => Ok(actor),
        _ => Err(ApiError::permission(
            "owner_only",
            "Only owners can manage single sign-on",
        )),
    }
}

fn connection_json(api: &ApiState, c: &SsoConnection) -> Value {
    json!({
        "id": c.id, "object": "sso_connection", "issuer": c.issuer, "client_id": c.client_id,
        "domains": c.domains, "enforced": c.enforced, "redirect_uri": sso::redirect_uri(&api.app),
        "created_at": c.created_at.to_rfc3339(),
    })
}

fn flow_error(e: app::flows::FlowError) -> ApiError {
    tracing::error!(error = %e, "SSO settings failed");
    ApiError::internal()
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    owner(&caller)?;
    let rows = api.app.store.sso_connections(&caller.account_id).await?;
    let data: Vec<Value> = rows.iter().map(|c| connection_json(&api, c)).collect();
    Ok(Json(
        json!({"object": "list", "data": data, "has_more": false}),
    ))
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
    Extension(caller): Extension<Caller>,
    body: JsonObject,
) -> ApiResult<Response> {
    let actor = owner(&caller)?;
    body.only(&[
        "issuer",
        "client_id",
        "client_secret",
        "domains",
        "enforced",
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
    let enforced = match body.get("enforced") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "parameter_invalid",
                "enforced must be true or false",
            )
            .at("enforced", "/enforced"))
        }
    };
    let input = ConnectionInput {
        issuer: string(&body, "issuer")?,
        client_id: string(&body, "client_id")?,
        client_secret: Secret::new(string(&body, "client_secret")?),
        domains,
        enforced,
    };
    match sso::create(&api.app, &actor, input)
        .await
        .map_err(flow_error)?
    {
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
        SsoResult::NotAllowed => Err(ApiError::permission(
            "owner_only",
            "Only owners can manage single sign-on",
        )),
    }
}

pub async fn update(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    let actor = owner(&caller)?;
    body.only(&["enforced"])?;
    let Some(Value::Bool(enforced)) = body.get("enforced") else {
        return Err(
            ApiError::unprocessable("parameter_invalid", "enforced must be true or false")
                .at("enforced", "/enforced"),
        );
    };
    match sso::set_enforced(&api.app, &actor, &id, *enforced)
        .await
        .map_err(flow_error)?
    {
        Some(true) => {}
        Some(false) => return Err(ApiError::not_found("sso_connection")),
        None => {
            return Err(ApiError::permission(
                "owner_only",
                "Only owners can manage single sign-on",
            ))
        }
    }
    let c = sso::connection(&api.app, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("sso_connection"))?;
    Ok(Json(connection_json(&api, &c)))
}

pub async fn delete(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let actor = owner(&caller)?;
    match sso::delete(&api.app, &actor, &id)
        .await
        .map_err(flow_error)?
    {
        Some(true) => Ok(StatusCode::NO_CONTENT),
        Some(false) => Err(ApiError::not_found("sso_connection")),
        None => Err(ApiError::permission(
            "owner_only",
            "Only owners can manage single sign-on",
        )),
    }
}
