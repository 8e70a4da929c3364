//! `POST /credentials/revoke`: the public report of leaked API keys, for secret-scanning
//! services and anyone who found a key. Outside `/api/v1` (every route there needs a key)
//! and outside the session layer and the web app's guard: it needs no key and no session,
//! creates no session, and is not a session request, so no `Origin` is asked for. It is
//! limited per client network (an IPv4 address, an IPv6 /64) before anything is read, and
//! always answers the same `202` whatever was found.
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequest as _, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use app::domain::floods::Door;
use app::flows::{api_keys as key_flows, floods};
use app::web::guards::client_addr;

use super::body::{pointer, JsonObject};
use super::error::{ApiError, ApiResult};
use super::ApiState;

/// Where the report is posted.
pub const PATH: &str = "/credentials/revoke";

/// A candidate longer than this is not a key of any kind we know.
const MAX_CREDENTIAL_CHARS: usize = 1000;

/// A report is answered within this (its body included), else `408`.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Always `"credential_report"`.
#[derive(Debug, Serialize, ToSchema)]
pub enum ReportObject {
    #[serde(rename = "credential_report")]
    CredentialReport,
}

/// Always `"accepted"`, whatever was found.
#[derive(Debug, Serialize, ToSchema)]
pub enum ReportStatus {
    #[serde(rename = "accepted")]
    Accepted,
}

/// The one answer to every report that was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportAccepted {
    object: ReportObject,
    status: ReportStatus,
    message: &'static str,
}

fn accepted() -> Response {
    let body = ReportAccepted {
        object: ReportObject::CredentialReport,
        status: ReportStatus::Accepted,
        message: "Thank you. Every live Terminus Hub API key among these credentials is revoked, and its account's owners and admins are told.",
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// The route, to be served beside the health endpoints (outside sessions and the guard).
pub fn router(api: ApiState) -> Router {
    Router::new()
        .route(
            PATH,
            post(revoke).fallback(super::handlers::method_not_allowed),
        )
        .with_state(api)
}

/// Report leaked API keys.
#[utoipa::path(post, path = "/credentials/revoke", tag = "credentials", operation_id = "revoke_credentials",
    summary = "Report leaked API keys",
    description = "Every live key among them is revoked and its account's owners and admins are mailed (name and hint, never the key). No key and no session; limited per client network. For secret-scanning services: keys match `thub_[0-9A-Za-z]{32}`.",
    request_body = super::inputs::CredentialReport,
    responses(
        (status = 202, description = "Accepted: the same answer whatever was found", body = ReportAccepted),
        (status = 400, description = "Malformed JSON", body = super::error::Envelope),
        (status = 415, description = "Not JSON", body = super::error::Envelope),
        (status = 422, description = "`credentials` is not an array of 1 to 100 strings", body = super::error::Envelope),
        (status = 429, description = "Too many reports from this client network: see Retry-After", body = super::error::Envelope),
    ),
    security(()))]
pub async fn revoke(State(api): State<ApiState>, req: Request) -> Response {
    match tokio::time::timeout(TIMEOUT, report(&api, req)).await {
        Ok(Ok(res)) => res,
        Ok(Err(err)) => err.into_response(),
        Err(_) => ApiError::for_status(StatusCode::REQUEST_TIMEOUT).into_response(),
    }
}

async fn report(api: &ApiState, req: Request) -> ApiResult<Response> {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| {
            client_addr(addr.ip(), req.headers(), &api.app.config.trusted_proxies).to_string()
        })
        .unwrap_or_else(|| "unknown".to_owned());
    // Counted before the body is read or anything is looked up.
    floods::admit(&api.app, Door::CredentialReport, &client).await?;
    let body = JsonObject::from_request(req, &()).await?;
    let credentials = credentials(&body)?;
    key_flows::report_leaked(&api.app, &credentials).await?;
    Ok(accepted())
}

/// `{"credentials": [...]}`: 1 to 100 strings.
fn credentials(body: &JsonObject) -> ApiResult<Vec<String>> {
    body.only_fields_of::<super::inputs::CredentialReport>()?;
    let field = "credentials";
    let Some(value) = body.get(field) else {
        return Err(ApiError::unprocessable(
            "parameter_missing",
            "Missing required parameter: credentials",
        )
        .at(field, &pointer(field)));
    };
    let Value::Array(items) = value else {
        return Err(ApiError::unprocessable(
            "parameter_invalid",
            "credentials must be an array of strings",
        )
        .at(field, &pointer(field)));
    };
    if items.is_empty() || items.len() > key_flows::MAX_REPORTED {
        return Err(ApiError::unprocessable(
            if items.is_empty() {
                "parameter_invalid_empty"
            } else {
                "parameter_invalid"
            },
            format!(
                "credentials must hold 1 to {} strings",
                key_flows::MAX_REPORTED
            ),
        )
        .at(field, &pointer(field)));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.as_str() {
            Some(text) if text.chars().count() <= MAX_CREDENTIAL_CHARS => Ok(text.to_owned()),
            _ => Err(ApiError::unprocessable(
                "parameter_invalid",
                format!(
                    "Each credential must be a string of at most {MAX_CREDENTIAL_CHARS} characters"
                ),
            )
            .at(field, &format!("/credentials/{i}"))),
        })
        .collect()
}
