//! `/api/v1/domains`: an account's domains, proven by DNS TXT records. Owners' sessions only.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::domains::AccountDomain;
use app::domain::ids::DomainId;
use app::flows::domains;

use super::body::JsonObject;
use super::error::ApiResult;
use super::list::{list_body, page_request};
use super::ApiState;
use app::auth::AdminOf;

fn domain_json(d: &AccountDomain) -> Value {
    let record = domains::record_for(d);
    json!({
        "id": d.id, "object": "domain", "domain": d.domain,
        "verified": d.verified_at.is_some(),
        "verified_at": d.verified_at.map(|t| t.to_rfc3339()),
        "dns_record": {"type": "TXT", "name": record.name, "value": record.value},
        "created_at": d.created_at.to_rfc3339(),
    })
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let owner = admin.owner()?;
    let page = page_request(&q)?;
    let rows = domains::list(&api.app, &owner, &page).await?;
    Ok(Json(list_body(rows, domain_json)))
}

pub async fn create(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    let owner = admin.owner()?;
    body.only(&["domain"])?;
    let input = body.name("domain", 300)?;
    let d = domains::add(&api.app, &owner, &input).await?;
    let location = super::handlers::created_at("domains", d.id.as_str());
    Ok((StatusCode::CREATED, location, Json(domain_json(&d))).into_response())
}

pub async fn verify(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let owner = admin.owner()?;
    let d = domains::verify(&api.app, &owner, &DomainId::from_input(&id)).await?;
    Ok(Json(domain_json(&d)))
}

pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = admin.owner()?;
    domains::delete(&api.app, &owner, &DomainId::from_input(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
