//! `/api/v1/members` and `/api/v1/invitations`: the members API for owners' and admins'
//! sessions (keys get 403 before reaching here).
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use app::domain::ids::{InvitationId, UserId};
use app::domain::roles::Role;
use app::flows::members;

use super::body::JsonObject;
use super::error::{ApiError, ApiResult};
use super::inputs::{InvitationInput, ListParams, RoleInput};
use super::list::{list_of, on_cursor, page_request, List};
use super::resources::{self, Invitation, Member};
use super::ApiState;
use app::auth::AdminOf;

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

#[utoipa::path(get, path = "/members", tag = "members", operation_id = "list_members",
    summary = "List the account's members", description = "Owners and admins.",
    params(ListParams),
    responses((status = 200, description = "A page of members", body = List<Member>)),
    security(("adminSession" = [])))]
pub async fn list_members(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<List<Member>>> {
    let page = page_request(&q)?;
    let rows = members::list(&api.app, &admin, &page)
        .await
        .map_err(on_cursor(&page))?;
    Ok(Json(list_of(rows, resources::member)))
}

#[utoipa::path(patch, path = "/members/{id}", tag = "members", operation_id = "update_member",
    summary = "Change a member's role", description = "409 `last_owner` if it would leave no owner; admins cannot make owners (403 `role_not_allowed`).",
    params(("id" = String, Path, description = "A user id (`usr_…`)")),
    request_body = RoleInput,
    responses((status = 200, description = "Updated", body = Member)),
    security(("adminSession" = [])))]
pub async fn update_member(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Member>> {
    body.only_fields_of::<RoleInput>()?;
    let role = role_param(&body)?;
    let member = members::change_role(&api.app, &admin, &UserId::from_input(&id), role).await?;
    Ok(Json(resources::member(&member)))
}

#[utoipa::path(delete, path = "/members/{id}", tag = "members", operation_id = "delete_member",
    summary = "Remove a member", description = "409 `last_owner` for the last owner; needs a sign-in within 10 minutes.",
    params(("id" = String, Path, description = "A user id (`usr_…`)")),
    responses((status = 204, description = "Removed")),
    security(("adminSession" = [])))]
pub async fn delete_member(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    members::remove(&api.app, &admin, &UserId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/invitations", tag = "invitations", operation_id = "list_invitations",
    summary = "List pending invitations", description = "Owners and admins.",
    params(ListParams),
    responses((status = 200, description = "A page of invitations", body = List<Invitation>)),
    security(("adminSession" = [])))]
pub async fn list_invitations(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<List<Invitation>>> {
    let page = page_request(&q)?;
    let rows = members::invitations(&api.app, &admin, &page)
        .await
        .map_err(on_cursor(&page))?;
    Ok(Json(list_of(rows, resources::invitation)))
}

#[utoipa::path(post, path = "/invitations", tag = "invitations", operation_id = "create_invitation",
    summary = "Invite someone", description = "Emails an invitation with a role (409 `already_member`).",
    request_body = InvitationInput,
    responses((status = 201, description = "Invited", body = Invitation)),
    security(("adminSession" = [])))]
pub async fn create_invitation(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only_fields_of::<InvitationInput>()?;
    let email = body.name("email", 254)?;
    let role = role_param(&body)?;
    let invitation = members::invite(&api.app, &admin, &email, role).await?;
    let location = super::handlers::created_at("invitations", invitation.id.as_str());
    Ok((
        StatusCode::CREATED,
        location,
        Json(resources::invitation(&invitation)),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/invitations/{id}", tag = "invitations", operation_id = "delete_invitation",
    summary = "Revoke a pending invitation",
    params(("id" = String, Path, description = "An invitation id (`inv_…`)")),
    responses((status = 204, description = "Revoked")),
    security(("adminSession" = [])))]
pub async fn delete_invitation(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    members::revoke(&api.app, &admin, &InvitationId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
