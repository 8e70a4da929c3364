//! The OpenAPI 3.1 description of `/api/v1`, served at `/openapi.json`: generated from the
//! handlers' `#[utoipa::path]` attributes and the types they read and answer with
//! (`inputs`, `resources`, `error`), then completed once with what every operation shares.
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::{domains, events, handlers, members, report, sso};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Terminus Hub API",
        version = "1.0.0",
        description = "Account-scoped REST API. Authenticate with `Authorization: Bearer thub_…`. Admin-only routes need an owner's or admin's browser session and refuse API keys. Every error is one envelope, `{\"error\": {\"type\", \"code\", \"message\", \"param\", \"path\"}}`; lists page with `limit`, `starting_after` and `ending_before`; every `POST` takes an `Idempotency-Key`."
    ),
    servers((url = "/api/v1")),
    paths(
        handlers::get_account,
        handlers::update_account,
        handlers::list_workspaces,
        handlers::create_workspace,
        handlers::get_workspace,
        handlers::update_workspace,
        handlers::delete_workspace,
        handlers::list_records,
        handlers::create_record,
        handlers::get_record,
        handlers::update_record,
        handlers::delete_record,
        handlers::list_api_keys,
        handlers::create_api_key,
        handlers::roll_api_key,
        handlers::delete_api_key,
        events::list,
        members::list_members,
        members::update_member,
        members::delete_member,
        members::list_invitations,
        members::create_invitation,
        members::delete_invitation,
        domains::list,
        domains::create,
        domains::verify,
        domains::delete,
        sso::list,
        sso::create,
        sso::update,
        sso::delete,
        report::revoke,
    ),
    components(schemas(super::error::Envelope, super::inputs::EventKind)),
    tags(
        (name = "account", description = "The account a key belongs to"),
        (name = "workspaces", description = "Containers of records"),
        (name = "records", description = "JSON objects in workspaces"),
        (name = "api_keys", description = "Keys for scripts (owners' and admins' sessions)"),
        (name = "events", description = "The activity log (owners' and admins' sessions)"),
        (name = "members", description = "People in the account (owners' and admins' sessions)"),
        (name = "invitations", description = "Invitations to join (owners' and admins' sessions)"),
        (name = "domains", description = "Email domains proven by DNS (owners' sessions)"),
        (name = "sso_connections", description = "Single sign-on through OpenID providers (owners' sessions)"),
        (name = "credentials", description = "Reports of leaked keys (no authentication)"),
    )
)]
struct ApiDoc;

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// Routes of the document served outside `/api/v1` (with a `servers` of their own).
pub const OUTSIDE_API: &[(&str, &str)] = &[("post", "/credentials/revoke")];

/// What every operation shares, added once: the response headers every answer carries
/// (`x-request-id`, `RateLimit`, `RateLimit-Policy`; `Location` on a 201), the statuses every
/// body or `POST` can meet (413 and 415 for a body, 409 for an `Idempotency-Key` reused), and
/// the `Idempotency-Key` header on every `POST`.
fn enrich(doc: &mut Value) {
    let header =
        |description: &str| json!({"description": description, "schema": {"type": "string"}});
    let common_headers = json!({
        "x-request-id": header("This request's id (echoed when the request sent one): quote it when asking for help"),
        "RateLimit": header("limit=<the plan's quota a minute>, remaining=<requests that may come now>, reset=<seconds until that many are back>"),
        "RateLimit-Policy": header("<quota>;w=60;burst=<burst>: the account's plan"),
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (_path, item) in paths.iter_mut() {
        // A route outside /api/v1 (its own `servers`: the leak report) is not behind the API's
        // key, limits or idempotency.
        let outside = item.get("servers").is_some();
        let Some(methods) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in methods.iter_mut() {
            let Some(op) = operation.as_object_mut() else {
                continue;
            };
            let has_body = op.contains_key("requestBody");
            if method == "post" && !outside {
                let idempotency = json!({"name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "Do this POST once: a retry with the same key and request within 24 hours gets the first answer again (with `Idempotent-Replayed: true`)",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255}});
                if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                    params.push(idempotency);
                } else {
                    op.insert("parameters".into(), json!([idempotency]));
                }
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            if has_body {
                responses
                    .entry("413")
                    .or_insert_with(|| error_response("The body is too large"));
                responses
                    .entry("415")
                    .or_insert_with(|| error_response("The body is not sent as application/json"));
            }
            if method == "post" || method == "patch" || method == "delete" {
                responses.entry("409").or_insert_with(|| {
                    error_response("A conflict (e.g. `last_owner`, `idempotency_key_reused`, `idempotency_key_in_use`)")
                });
            }
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                let mut headers = common_headers.clone();
                if status == "201" {
                    if let Some(h) = headers.as_object_mut() {
                        h.insert(
                            "Location".into(),
                            header("/api/v1/<collection>/<id> of the created object"),
                        );
                    }
                }
                response.entry("headers").or_insert(headers);
            }
        }
    }
}

/// The document (built once): the generated one, with what every operation shares added.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        complete(&mut doc);
        doc
    });
    &DOCUMENT
}

/// Security schemes, the leak report's own `servers`, the errors every operation can meet,
/// and the response headers and `Idempotency-Key` (see `enrich`).
fn complete(doc: &mut Value) {
    let schemes = json!({
        "bearerKey": {"type": "http", "scheme": "bearer", "description": "thub_ + 26 random base62 characters + 6-character base62 CRC32 checksum"},
        "adminSession": {"type": "apiKey", "in": "cookie", "name": "__Host-thub_session", "description": "An owner's or admin's web session (thub_session on plain-http localhost)"},
    });
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        components.insert("securitySchemes".to_owned(), schemes);
    }
    for (_method, path) in OUTSIDE_API {
        if let Some(item) = doc
            .get_mut("paths")
            .and_then(|paths| paths.get_mut(*path))
            .and_then(Value::as_object_mut)
        {
            item.insert("servers".to_owned(), json!([{"url": "/"}]));
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            if item.get("servers").is_some() {
                continue;
            }
            let Some(methods) = item.as_object_mut() else {
                continue;
            };
            for op in methods.values_mut() {
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (status, description) in [
                    ("400", "Malformed request (`invalid_json`, `invalid_request`)"),
                    ("401", "Invalid API key: missing, malformed, unknown, revoked or expired (`code` is null)"),
                    ("403", "Permission error: a missing scope (`insufficient_scope`), an admin-only route, or a re-authentication needed (`reauthentication_required`)"),
                    ("404", "No such object in this account (`resource_missing`)"),
                    ("422", "A parameter is missing, unknown or invalid (`parameter_missing`, `parameter_unknown`, `parameter_invalid`…)"),
                    ("429", "Rate limited (`rate_limited`): see Retry-After"),
                    ("500", "Internal error (`internal_error`): quote x-request-id"),
                ] {
                    responses
                        .entry(status)
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
    enrich(doc);
}

/// `GET /openapi.json`: the document, as bytes written once.
pub async fn serve() -> axum::response::Response {
    static BYTES: LazyLock<Vec<u8>> =
        LazyLock::new(|| serde_json::to_vec(document()).unwrap_or_default());
    (
        [(header::CONTENT_TYPE, "application/json")],
        BYTES.as_slice(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_operation_has_an_id_a_tag_and_the_shared_headers() {
        let doc = super::document().clone();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method == "servers" {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "{id} twice ({method} {path})");
                assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()));
                for (status, response) in op["responses"].as_object().unwrap() {
                    let headers = &response["headers"];
                    assert!(
                        headers.get("x-request-id").is_some(),
                        "{method} {path} {status}"
                    );
                    assert_eq!(
                        headers.get("Location").is_some(),
                        status == "201",
                        "{method} {path} {status}"
                    );
                }
                let idempotent = op["parameters"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["name"] == "Idempotency-Key"));
                let outside = item.get("servers").is_some();
                assert_eq!(idempotent, method == "post" && !outside, "{method} {path}");
            }
        }
        assert!(ids.contains("list_workspaces") && ids.contains("create_record"));
    }

    #[test]
    fn document_lists_exactly_the_routes() {
        let doc = super::document().clone();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if method != "servers" {
                    documented.insert((method.clone(), path.clone()));
                }
            }
        }
        let served: BTreeSet<_> = crate::api::ROUTES
            .iter()
            .chain(super::OUTSIDE_API)
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, served);
    }
}
