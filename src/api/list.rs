//! List parameters (`limit`, `starting_after`, `ending_before`) and the list envelope.
use std::collections::HashMap;

use app::domain::paging::{Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

use super::resources::ListObject;

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

/// Maps a list flow's refusal: its "not found" means the cursor named nothing in the list,
/// so the answer names that parameter (`404 resource_missing`, `param: "starting_after"` or
/// `"ending_before"`).
pub fn on_cursor(page: &PageRequest) -> impl FnOnce(app::flows::Stopped) -> ApiError + '_ {
    move |stopped| {
        let missing = matches!(
            stopped,
            app::flows::Stopped::Refused(app::flows::Refusal::NotFound(_))
        );
        let err = ApiError::from(stopped);
        match page.cursor() {
            Some(_) if missing => err.param(if page.backwards() {
                "ending_before"
            } else {
                "starting_after"
            }),
            _ => err,
        }
    }
}

/// A page of a list: `{"object":"list","data":[…],"has_more":bool}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<R> {
    object: ListObject,
    /// The objects, newest first.
    data: Vec<R>,
    /// Whether more objects follow (after the last one, or with `ending_before` before the
    /// first).
    has_more: bool,
}

impl<R> List<R> {
    /// A list that is never paged: everything, on one page.
    pub fn whole(data: Vec<R>) -> Self {
        Self {
            object: ListObject::List,
            data,
            has_more: false,
        }
    }
}

/// The list of a page a flow answered, each item rendered.
pub fn list_of<T, R>(page: Page<T>, render: impl Fn(&T) -> R) -> List<R> {
    List {
        object: ListObject::List,
        data: page.items.iter().map(render).collect(),
        has_more: page.has_more,
    }
}
