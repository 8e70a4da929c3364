//! `/api/v1/members` and `/api/v1/invitations`: the members API for owners' and admins'
//! sessions (keys get 403 before reaching here).
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::ids::{InvitationId, UserId};
use app::domain::members::{Invitation, MemberRecord};
use app::domain::roles::Role;
use app::flows::members;

use super::body::JsonObject;
use super::error::{ApiError, ApiResult};
use super::list::{list_body, page_request};
use super::ApiState;
use app::auth::AdminOf;

fn member_json(m: &MemberRecord) -> Value {
    json!({"id": m.user_id, "object": "member", "email": m.email, "role": m.role.as_str(), "since": m.since.to_rfc3339()})
}

fn invitation_json(i: &Invitation) -> Value {
    json!({"id": i.id, "object": "invitation", "email": i.email.as_str(), "role": i.role.as_str(),
           "created_at": i.created_at.to_rfc3339(), "expires_at": i.expires_at.to_rfc3339()})
}

fn role_param(body: &JsonObject) -> ApiResult<Role> {
    let invalid = || {
        ApiError::unprocessable(
            "parameter_invalid",
            "role must be one of owner, admin, member",
        )
        .at("role", "/role")
    };
    match body.get("role") {
        None => Err(ApiError::unprocessable(
            "parameter_missing",
            "Missing required parameter: role",
        )
        .at("role", "/role")),
        Some(v) => v.as_str().and_then(Role::parse).ok_or_else(invalid),
    }
}

pub async fn list_members(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = page_request(&q)?;
    let rows = members::list(&api.app, &admin, &page).await?;
    Ok(Json(list_body(rows, member_json)))
}

pub async fn update_member(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    body.only(&["role"])?;
    let role = role_param(&body)?;
    let member = members::change_role(&api.app, &admin, &UserId::from_input(&id), role).await?;
    Ok(Json(member_json(&member)))
}

pub async fn delete_member(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    members::remove(&api.app, &admin, &UserId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_invitations(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = page_request(&q)?;
    let rows = members::invitations(&api.app, &admin, &page).await?;
    Ok(Json(list_body(rows, invitation_json)))
}

pub async fn create_invitation(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only(&["email", "role"])?;
    let email = body.name("email", 254)?;
    let role = role_param(&body)?;
    let invitation = members::invite(&api.app, &admin, &email, role).await?;
    let location = super::handlers::created_at("invitations", invitation.id.as_str());
    Ok((
        StatusCode::CREATED,
        location,
        Json(invitation_json(&invitation)),
    )
        .into_response())
}

pub async fn delete_invitation(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    members::revoke(&api.app, &admin, &InvitationId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
