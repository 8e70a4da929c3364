//! List parameters (`limit`, `starting_after`, `ending_before`) and the list envelope.
use std::collections::HashMap;

use app::domain::paging::{Page, PageRequest};
use serde::Serialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

pub fn page_request(query: &HashMap<String, String>) -> ApiResult<PageRequest> {
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::unprocessable(
                    "parameter_invalid",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
                .param("limit"))
            }
        },
    };
    let cursor = |name: &str| match query.get(name) {
        Some(id) if id.is_empty() || id.len() > 64 => Err(ApiError::unprocessable(
            "parameter_invalid",
            format!("{name} must be an object id"),
        )
        .param(name)),
        other => Ok(other.cloned()),
    };
    let starting_after = cursor("starting_after")?;
    let ending_before = cursor("ending_before")?;
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::unprocessable(
            "parameter_invalid",
            "Give starting_after or ending_before, not both",
        )
        .param("ending_before"));
    }
    Ok(PageRequest {
        limit,
        starting_after,
        ending_before,
    })
}

/// `{"object":"list","data":[…],"has_more":bool}` for a page a flow answered.
pub fn list_body<T>(page: Page<T>, render: impl Fn(&T) -> Value) -> Value {
    json!({
        "object": "list",
        "data": page.items.iter().map(render).collect::<Vec<_>>(),
        "has_more": page.has_more,
    })
}

/// The same envelope as a struct, for objects that must be written as they are (a record's
/// `data` is raw JSON text, which a `Value` would re-parse).
#[derive(Debug, Serialize)]
pub struct List<R> {
    object: &'static str,
    data: Vec<R>,
    has_more: bool,
}

pub fn list_of<T, R>(page: Page<T>, render: impl Fn(&T) -> R) -> List<R> {
    List {
        object: "list",
        data: page.items.iter().map(render).collect(),
        has_more: page.has_more,
    }
}

/// The query parameters each route takes (`GET` lists: paging, and their filters); any other
/// is refused with `422 parameter_unknown` rather than ignored.
fn known_params(method: &axum::http::Method, route: &str) -> &'static [&'static str] {
    const PAGING: &[&str] = &["limit", "starting_after", "ending_before"];
    if method != axum::http::Method::GET {
        return &[];
    }
    match route {
        "/records" => &["limit", "starting_after", "ending_before", "workspace_id"],
        "/events" => &["limit", "starting_after", "ending_before", "kind", "actor"],
        "/workspaces" | "/api_keys" | "/members" | "/invitations" | "/domains"
        | "/sso_connections" => PAGING,
        _ => &[],
    }
}

/// Refuses query parameters the route does not take (after authentication: a caller without
/// a key learns nothing from it).
pub async fn refuse_unknown_params(
    matched: Option<axum::extract::MatchedPath>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // (The route as matched, with or without the prefix the router is nested under.)
    let route = matched.as_ref().map(|m| m.as_str()).unwrap_or("");
    let route = route.strip_prefix("/api/v1").unwrap_or(route);
    let known = known_params(req.method(), route);
    let query = req.uri().query().unwrap_or("");
    let unknown = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name.into_owned())
        .find(|name| !known.contains(&name.as_str()));
    if let Some(name) = unknown {
        let allowed = if known.is_empty() {
            "this endpoint takes no query parameters".to_owned()
        } else {
            format!("this endpoint takes {}", known.join(", "))
        };
        return ApiError::unprocessable(
            "parameter_unknown",
            format!("Received unknown parameter: {name} ({allowed})"),
        )
        .param(&name)
        .into_response();
    }
    next.run(req).await
}
