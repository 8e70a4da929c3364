//! `GET /api/v1/events`: the account's activity log for its owners and admins (a session,
//! like the other admin routes), with the filters of the Activity page: `kind` (the part of
//! an action before its dot, e.g. `api_key`) and `actor` (a user id), newest first, paged by
//! `starting_after` (or backwards by `ending_before`).
use std::collections::HashMap;

use app::auth::AdminOf;
use app::domain::audit::{describe, AuditEntry, AuditFilter, KINDS};
use app::domain::ids::UserId;
use app::flows::members;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::list::page_request;
use super::ApiState;

fn event_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "object": "event",
        "action": e.event.action,
        "description": describe(&e.event.action),
        "actor": e.event.actor_user_id,
        "detail": e.event.detail,
        "ip": e.ip,
        "device": e.device,
        "created_at": e.event.at.to_rfc3339(),
    })
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = page_request(&q)?;
    let kind = match q.get("kind") {
        None => None,
        Some(k) => Some(AuditFilter::kind_of(k).ok_or_else(|| {
            let kinds: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            ApiError::unprocessable(
                "parameter_invalid",
                format!("kind must be one of: {}", kinds.join(", ")),
            )
            .param("kind")
        })?),
    };
    let filter = AuditFilter {
        kind,
        actor: q.get("actor").map(|a| UserId::from_input(a)),
    };
    let rows = members::activity(&api.app, &admin, &filter, &page).await?;
    let data: Vec<Value> = rows.items.iter().map(event_json).collect();
    Ok(Json(
        json!({"object": "list", "data": data, "has_more": rows.has_more}),
    ))
}
