//! `GET /api/v1/events`: the account's activity log for its owners and admins (a session,
//! like the other admin routes), with the filters of the Activity page: `kind` (the part of
//! an action before its dot, e.g. `api_key`) and `actor` (a user id), newest first, paged by
//! `starting_after` (or backwards by `ending_before`).
use std::collections::HashMap;

use app::auth::AdminOf;
use app::domain::audit::{AuditFilter, KINDS};
use app::domain::ids::UserId;
use app::flows::members;
use axum::extract::{Query, State};
use axum::{Extension, Json};

use super::error::{ApiError, ApiResult};
use super::inputs::{EventFilter, ListParams};
use super::list::{list_of, page_request, List};
use super::resources::{self, Event};
use super::ApiState;

#[utoipa::path(get, path = "/events", tag = "events", operation_id = "list_events",
    summary = "The activity log", description = "The account's events, newest first (owners and admins): every change from the web app, the API and the operator's commands, and members' sign-ins.",
    params(ListParams, EventFilter),
    responses((status = 200, description = "A page of events", body = List<Event>)),
    security(("adminSession" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<List<Event>>> {
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
    Ok(Json(list_of(rows, resources::event)))
}
