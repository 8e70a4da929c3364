//! Which query parameters each `/api/v1` route takes, read from the OpenAPI document, and
//! the layer that refuses any other with `422 parameter_unknown` (so the check and the
//! reference cannot disagree).
use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::error::ApiError;
use super::openapi::document;

/// Each path template's operations: the method (as the document writes it, lower-case) and
/// the query parameters it documents.
type Operations = Vec<(String, Vec<String>)>;

/// The query parameters each operation documents, by method and path template (without the
/// `/api/v1` prefix): what [`refuse_unknown_params`] accepts, so the document and the
/// check cannot disagree. Looked up on every keyed request, so without allocating.
pub fn query_params(method: &str, path: &str) -> &'static [String] {
    static PARAMS: LazyLock<HashMap<String, Operations>> = LazyLock::new(|| {
        let mut all = HashMap::new();
        let Some(paths) = document().get("paths").and_then(Value::as_object) else {
            return all;
        };
        for (path, item) in paths {
            let Some(methods) = item.as_object() else {
                continue;
            };
            for (method, op) in methods {
                let names = op["parameters"]
                    .as_array()
                    .map(|params| {
                        params
                            .iter()
                            .filter(|p| p["in"] == "query")
                            .filter_map(|p| p["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                all.entry(path.clone())
                    .or_insert_with(Vec::new)
                    .push((method.clone(), names));
            }
        }
        all
    });
    PARAMS
        .get(path)
        .and_then(|operations| {
            operations
                .iter()
                .find(|(documented, _)| documented.eq_ignore_ascii_case(method))
        })
        .map(|(_, names)| names.as_slice())
        .unwrap_or(&[])
}

/// Refuses query parameters the route does not document ([`query_params`]) with
/// `422 parameter_unknown` rather than ignoring them (after authentication: a caller without a
/// key learns nothing from it).
pub async fn refuse_unknown_params(
    matched: Option<axum::extract::MatchedPath>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // (The route as matched, with or without the prefix the router is nested under.)
    let route = matched.as_ref().map(|m| m.as_str()).unwrap_or("");
    let route = route.strip_prefix("/api/v1").unwrap_or(route);
    let known = query_params(req.method().as_str(), route);
    let query = req.uri().query().unwrap_or("");
    let unknown = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !known.iter().any(|k| k == name));
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

#[cfg(test)]
mod tests {
    use super::query_params;

    #[test]
    fn each_route_takes_what_the_document_lists() {
        assert_eq!(
            query_params("GET", "/records"),
            ["limit", "starting_after", "ending_before", "workspace_id"]
        );
        assert_eq!(
            query_params("get", "/workspaces"),
            ["limit", "starting_after", "ending_before"]
        );
        assert!(query_params("POST", "/workspaces").is_empty());
        assert!(query_params("GET", "/sso_connections").is_empty());
        assert!(query_params("GET", "/nowhere").is_empty());
    }
}
