//! List parameters (`limit`, `starting_after`) and the list envelope.
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
