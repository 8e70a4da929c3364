//! List parameters (`limit`, `starting_after`) and the list envelope.
use std::collections::HashMap;

use app::domain::paging::PageRequest;
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
                return Err(ApiError::bad_request(
                    "parameter_invalid",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
                .param("limit"))
            }
        },
    };
    let starting_after = match query.get("starting_after") {
        Some(id) if id.is_empty() || id.len() > 64 => {
            return Err(ApiError::bad_request(
                "parameter_invalid",
                "starting_after must be an object id",
            )
            .param("starting_after"))
        }
        other => other.cloned(),
    };
    Ok(PageRequest {
        limit,
        starting_after,
    })
}

/// `{"object":"list","data":[…],"has_more":bool}` from up to `limit + 1` fetched rows.
pub fn list_body<T>(mut rows: Vec<T>, page: &PageRequest, render: impl Fn(&T) -> Value) -> Value {
    let has_more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    json!({
        "object": "list",
        "data": rows.iter().map(render).collect::<Vec<_>>(),
        "has_more": has_more,
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

pub fn list_of<T, R>(mut rows: Vec<T>, page: &PageRequest, render: impl Fn(&T) -> R) -> List<R> {
    let has_more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    List {
        object: "list",
        data: rows.iter().map(render).collect(),
        has_more,
    }
}
