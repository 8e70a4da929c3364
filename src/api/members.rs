//! `/api/v1/members` and `/api/v1/invitations`: the members API for owners' and admins'
//! sessions (keys get 403 before reaching here).
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::members::{Invitation, MemberRecord};
use app::domain::roles::Role;
use app::flows::members::{self, Actor, ChangeResult, InviteResult, PendingInvitation};

use super::auth::Caller;
use super::body::JsonObject;
use super::error::{ApiError, ApiResult};
use super::list::{list_body, page_request};
use super::ApiState;

fn actor(caller: &Caller) -> ApiResult<Actor> {
    caller.actor().ok_or_else(|| {
        ApiError::permission(
            "admin_only",
            "Only owners' and admins' sessions can use this endpoint",
        )
    })
}

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

fn change_error(result: ChangeResult) -> ApiError {
    match result {
        ChangeResult::NotAMember => ApiError::not_found("member"),
        ChangeResult::NotAllowed => ApiError::permission("role_not_allowed", result.message()),
        ChangeResult::LastOwner => {
            let mut e = ApiError::unprocessable("last_owner", result.message());
            e.status = StatusCode::CONFLICT;
            e
        }
        ChangeResult::Done => ApiError::internal(),
    }
}

pub async fn list_members(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = page_request(&q)?;
    let mut all = api.app.store.members(&caller.account_id).await?;
    all.sort_by(|a, b| b.user_id.cmp(&a.user_id));
    let rows: Vec<_> = all
        .into_iter()
        .filter(|m| page.starting_after.as_ref().is_none_or(|c| &m.user_id < c))
        .take(page.limit as usize + 1)
        .collect();
    Ok(Json(list_body(rows, &page, member_json)))
}

pub async fn update_member(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Json<Value>> {
    body.only(&["role"])?;
    let role = role_param(&body)?;
    let result = members::change_role(&api.app, &actor(&caller)?, &id, role)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "changing a role failed");
            ApiError::internal()
        })?;
    if result != ChangeResult::Done {
        return Err(change_error(result));
    }
    let member = api
        .app
        .store
        .members(&caller.account_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == id)
        .ok_or_else(|| ApiError::not_found("member"))?;
    Ok(Json(member_json(&member)))
}

pub async fn delete_member(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let result = members::remove(&api.app, &actor(&caller)?, &id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "removing a member failed");
            ApiError::internal()
        })?;
    match result {
        ChangeResult::Done => Ok(StatusCode::NO_CONTENT),
        other => Err(change_error(other)),
    }
}

pub async fn list_invitations(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = page_request(&q)?;
    let rows: Vec<_> = api
        .app
        .store
        .invitations(&caller.account_id, api.app.clock.now())
        .await?
        .into_iter()
        .filter(|i| page.starting_after.as_ref().is_none_or(|c| &i.id < c))
        .take(page.limit as usize + 1)
        .collect();
    Ok(Json(list_body(rows, &page, invitation_json)))
}

pub async fn create_invitation(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: JsonObject,
) -> ApiResult<Response> {
    body.only(&["email", "role"])?;
    let email = body.name("email", 254)?;
    let role = role_param(&body)?;
    let result = members::invite(&api.app, &actor(&caller)?, &email, role)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "inviting failed");
            ApiError::internal()
        })?;
    match result {
        InviteResult::Sent(to) => {
            let now = api.app.clock.now();
            let invitation = api
                .app
                .store
                .invitations(&caller.account_id, now)
                .await?
                .into_iter()
                .find(|i| i.email == to)
                .ok_or_else(ApiError::internal)?;
            Ok((StatusCode::CREATED, Json(invitation_json(&invitation))).into_response())
        }
        InviteResult::InvalidEmail(message) => {
            Err(ApiError::unprocessable("parameter_invalid", message).at("email", "/email"))
        }
        InviteResult::AlreadyMember(who) => {
            let mut e = ApiError::unprocessable(
                "already_member",
                format!("{who} is already a member of this account"),
            )
            .at("email", "/email");
            e.status = StatusCode::CONFLICT;
            Err(e)
        }
        InviteResult::NotAllowed => Err(ApiError::permission(
            "role_not_allowed",
            "Your role does not allow inviting someone with that role",
        )),
        refused @ (InviteResult::RecipientThrottled(_) | InviteResult::DailyLimitReached) => {
            Err(invitation_refused(&refused))
        }
    }
}

/// 429 for an invitation the mail interval or the daily limit refuses.
fn invitation_refused(refused: &InviteResult) -> ApiError {
    let (code, retry) = match refused {
        InviteResult::DailyLimitReached => ("invitation_limit_reached", 3600),
        _ => ("recipient_recently_emailed", 60),
    };
    let mut e = ApiError::rate_limited(retry);
    e.code = Some(code);
    e.message = refused.message();
    e
}

pub async fn delete_invitation(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let outcome = members::revoke(&api.app, &actor(&caller)?, &id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "revoking failed");
            ApiError::internal()
        })?;
    match outcome {
        PendingInvitation::Done => Ok(StatusCode::NO_CONTENT),
        PendingInvitation::NotFound => Err(ApiError::not_found("invitation")),
        PendingInvitation::NotAllowed => Err(ApiError::permission(
            "role_not_allowed",
            "Your role does not allow managing an invitation with this role",
        )),
        PendingInvitation::Refused(refused) => Err(invitation_refused(&refused)),
    }
}
