//! Comparison routes for the benchmark (built only with `--features bench`, and served only
//! with `TERMINUS_BENCH_ROUTES=1`): the same JSON as
//! `GET /api/v1/workspaces`, from the same handler code, without authentication, so the cost
//! of the key check can be measured side by side.
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use app::domain::ids::AccountId;

use super::error::{ApiError, ApiResult};
use super::list::{list_of, page_request, List};
use super::resources;
use super::ApiState;

async fn workspaces(
    State(api): State<ApiState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<List<resources::WorkspaceOut>>> {
    let account_id = q.get("account_id").ok_or_else(|| {
        ApiError::bad_request("parameter_missing", "account_id is required").param("account_id")
    })?;
    let page = page_request(&q)?;
    let account_id = AccountId::from_input(account_id);
    let rows = api.app.store.list_workspaces(&account_id, &page).await?;
    let rows = app::domain::paging::Page::from_fetched(rows, &page);
    Ok(Json(list_of(rows, resources::workspace)))
}

pub fn router(api: ApiState) -> Router {
    Router::new()
        .route("/_bench/workspaces", get(workspaces))
        .with_state(api)
}
