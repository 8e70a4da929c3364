//! `/api/v1/domains`: an account's domains, proven by DNS TXT records. Owners' sessions only.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use app::domain::ids::DomainId;
use app::flows::domains;

use super::body::JsonObject;
use super::error::ApiResult;
use super::inputs::{DomainInput, ListParams};
use super::list::{list_of, on_cursor, page_request, List};
use super::resources::{self, Domain};
use super::ApiState;
use app::auth::AdminOf;

#[utoipa::path(get, path = "/domains", tag = "domains", operation_id = "list_domains",
    summary = "List the account's domains", description = "Owners.",
    params(ListParams),
    responses((status = 200, description = "A page of domains", body = List<Domain>)),
    security(("adminSession" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<List<Domain>>> {
    let owner = admin.owner()?;
    let page = page_request(&q)?;
    let rows = domains::list(&api.app, &owner, &page)
        .await
        .map_err(on_cursor(&page))?;
    Ok(Json(list_of(rows, resources::domain)))
}

#[utoipa::path(post, path = "/domains", tag = "domains", operation_id = "create_domain",
    summary = "Add a domain", description = "Publish its `dns_record`, then verify it (owners; 422 `public_mail_domain`, 409 `domain_exists`).",
    request_body = DomainInput,
    responses((status = 201, description = "Added, not yet verified", body = Domain)),
    security(("adminSession" = [])))]
pub async fn create(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    let owner = admin.owner()?;
    body.only_fields_of::<DomainInput>()?;
    let input = body.name("domain", 300)?;
    let d = domains::add(&api.app, &owner, &input).await?;
    let location = super::handlers::created_at("domains", d.id.as_str());
    Ok((StatusCode::CREATED, location, Json(resources::domain(&d))).into_response())
}

#[utoipa::path(post, path = "/domains/{id}/verify", tag = "domains", operation_id = "verify_domain",
    summary = "Verify a domain", description = "Looks the TXT record up and marks the domain verified (owners; 422 `dns_record_not_found`, 409 `domain_verified_elsewhere`).",
    params(("id" = String, Path, description = "A domain id (`dom_…`)")),
    responses((status = 200, description = "Verified", body = Domain)),
    security(("adminSession" = [])))]
pub async fn verify(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<Json<Domain>> {
    let owner = admin.owner()?;
    let d = domains::verify(&api.app, &owner, &DomainId::from_input(&id)).await?;
    Ok(Json(resources::domain(&d)))
}

#[utoipa::path(delete, path = "/domains/{id}", tag = "domains", operation_id = "delete_domain",
    summary = "Delete a domain", description = "Single sign-on stops serving it (owners).",
    params(("id" = String, Path, description = "A domain id (`dom_…`)")),
    responses((status = 204, description = "Deleted")),
    security(("adminSession" = [])))]
pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = admin.owner()?;
    domains::delete(&api.app, &owner, &DomainId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
