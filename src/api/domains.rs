//! `/api/v1/domains`: an account's domains, proven by DNS TXT records. Owners' sessions only.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use app::domain::domains::AccountDomain;
use app::flows::domains::{self, AddResult, VerifyResult};

use super::body::JsonObject;
use super::error::{ApiError, ApiResult};
use super::list::{list_body, page_request};
use super::sso::owner;
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

fn conflict(code: &'static str, message: &str) -> ApiError {
    let mut e = ApiError::unprocessable(code, message);
    e.status = StatusCode::CONFLICT;
    e
}

pub async fn list(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let owner = owner(&admin)?;
    let page = page_request(&q)?;
    let rows: Vec<AccountDomain> = domains::list(&api.app, &owner)
        .await?
        .into_iter()
        .filter(|d| page.starting_after.as_ref().is_none_or(|c| &d.id > c))
        .take(page.limit as usize + 1)
        .collect();
    Ok(Json(list_body(rows, &page, domain_json)))
}

pub async fn create(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    body: JsonObject,
) -> ApiResult<Response> {
    let owner = owner(&admin)?;
    body.only(&["domain"])?;
    let input = body.name("domain", 300)?;
    match domains::add(&api.app, &owner, &input).await? {
        AddResult::Added(d) => Ok((StatusCode::CREATED, Json(domain_json(&d))).into_response()),
        AddResult::AlreadyAdded(d) => Err(conflict(
            "domain_exists",
            &format!("{} is already a domain of this account", d.domain),
        )
        .at("domain", "/domain")),
        AddResult::Invalid(e) => {
            Err(ApiError::unprocessable(e.code(), e.to_string()).at("domain", "/domain"))
        }
    }
}

pub async fn verify(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let owner = owner(&admin)?;
    match domains::verify(&api.app, &owner, &id).await? {
        VerifyResult::Verified(d) => Ok(Json(domain_json(&d))),
        VerifyResult::RecordNotFound(record) => Err(ApiError::unprocessable(
            "dns_record_not_found",
            format!(
                "No TXT record {} with the value {} was found. Publish it, then verify again.",
                record.name, record.value
            ),
        )),
        VerifyResult::HeldByAnotherAccount => Err(conflict(
            "domain_verified_elsewhere",
            "Another account has verified this domain",
        )),
        VerifyResult::DnsUnavailable => {
            let mut e = ApiError::internal();
            e.code = Some("dns_unavailable");
            e.message = "DNS did not answer; nothing was changed. Try again.".into();
            e.status = StatusCode::SERVICE_UNAVAILABLE;
            Err(e)
        }
        VerifyResult::NotFound => Err(ApiError::not_found("domain")),
    }
}

pub async fn delete(
    State(api): State<ApiState>,
    Extension(admin): Extension<AdminOf>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = owner(&admin)?;
    if domains::delete(&api.app, &owner, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("domain"))
    }
}
