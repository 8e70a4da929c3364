//! The OpenAPI 3.1 description of `/api/v1`, served at `/openapi.json`.
use axum::Json;
use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn op(
    summary: &str,
    security: &str,
    params: Vec<Value>,
    body: Option<&str>,
    status: &str,
    response: Value,
) -> Value {
    let mut responses = json!({
        "400": error_response("Malformed request"),
        "401": error_response("Invalid API key (missing, malformed, unknown, revoked or expired)"),
        "403": error_response("Permission error (missing scope, or an admin-only route)"),
        "404": error_response("No such object in this account"),
        "422": error_response("A parameter is invalid"),
        "429": error_response("Rate limited: see Retry-After"),
        "500": error_response("Internal error: quote x-request-id"),
    });
    if let Some(all) = responses.as_object_mut() {
        all.insert(status.to_owned(), response);
    }
    let mut o = json!({
        "summary": summary,
        "security": [{security: []}],
        "parameters": params,
        "responses": responses,
    });
    if let Some(schema) = body {
        let request_body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        if let Some(operation) = o.as_object_mut() {
            operation.insert("requestBody".to_owned(), request_body);
        }
    }
    o
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})
}

fn list_params(extra: Option<Value>) -> Vec<Value> {
    let mut p = vec![
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}),
        json!({"name": "starting_after", "in": "query", "schema": {"type": "string"}, "description": "An object id: the page starts after it (newest first)"}),
    ];
    p.extend(extra);
    p
}

fn list_of(item: &str) -> Value {
    json!({"type": "object", "required": ["object", "data", "has_more"], "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "has_more": {"type": "boolean"}}})
}

/// What "create users on first sign-in" does, for the schemas that carry it.
const CREATE_USERS: &str = "Create users on first sign-in (the owner's choice, off by default): on a server whose sign-up is invite-only, a first sign-in through this connection creates a user for someone who was not invited (a member of this account). Without it only invited people and people who have a user already get in. On an open server the provider's people are created either way";

fn no_content() -> Value {
    json!({"description": "Deleted"})
}

/// `POST /credentials/revoke`, served outside `/api/v1` (so its own `servers`), with no
/// authentication at all.
fn report_path() -> Value {
    json!({
        "servers": [{"url": "/"}],
        "post": {
            "summary": "Report leaked API keys: every live key among them is revoked and its account's owners and admins are mailed (name and hint, never the key). No key and no session; limited per client network. For secret-scanning services: keys match thub_[0-9A-Za-z]{32}",
            "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialReport"}}}},
            "responses": {
                "202": {"description": "Accepted: the same answer whatever was found", "content": {"application/json": {"schema": {"type": "object", "properties": {"object": {"const": "credential_report"}, "status": {"const": "accepted"}, "message": {"type": "string"}}}}}},
                "400": error_response("Malformed JSON"),
                "415": error_response("Not JSON"),
                "422": error_response("credentials is not an array of 1 to 100 strings"),
                "429": error_response("Too many reports from this client network: see Retry-After"),
            },
        },
    })
}

/// Routes of the document served outside `/api/v1` (with a `servers` of their own).
pub const OUTSIDE_API: &[(&str, &str)] = &[("post", "/credentials/revoke")];

/// The document, with what every operation shares added once: an `operationId`
/// (`list_workspaces`, `post_workspaces`, `get_workspace`…) and a tag (the first path
/// segment), the response headers every answer carries (`x-request-id`, `RateLimit`,
/// `RateLimit-Policy`; `Location` on a 201), the statuses every body or `POST` can meet (413
/// and 415 for a body, 409 for an `Idempotency-Key` reused), and the `Idempotency-Key`
/// header on every `POST`.
pub fn document() -> Value {
    let mut doc = described();
    enrich(&mut doc);
    doc
}

fn operation_id(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.starts_with('{'))
        .collect();
    let one = path.ends_with('}');
    let noun = parts.join("_");
    match (method, one) {
        ("get", false) => format!("list_{noun}"),
        ("get", true) => format!("get_{}", noun.trim_end_matches('s')),
        ("post", false) => format!("create_{}", noun.trim_end_matches('s')),
        ("post", true) => format!(
            "{}_{}",
            parts.last().copied().unwrap_or("act"),
            parts.first().copied().unwrap_or("")
        ),
        ("patch", _) => format!("update_{}", noun.trim_end_matches('s')),
        ("delete", _) => format!("delete_{}", noun.trim_end_matches('s')),
        _ => format!("{method}_{noun}"),
    }
}

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
    for (path, item) in paths.iter_mut() {
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
            op.entry("operationId")
                .or_insert_with(|| json!(operation_id(method, path)));
            let tag = path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("api")
                .to_owned();
            op.entry("tags").or_insert_with(|| json!([tag]));
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

fn described() -> Value {
    let key = "bearerKey";
    let admin = "adminSession";
    let ts = json!({"type": "string", "format": "date-time"});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Terminus Hub API", "version": "1.0.0",
                 "description": "Account-scoped REST API. Authenticate with `Authorization: Bearer thub_…`. Admin-only routes need an owner's or admin's browser session and refuse API keys."},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/account": {"get": op("The key's account", key, vec![], None, "200", ok("The account", "Account"))},
            "/workspaces": {
                "get": op("List workspaces", key, list_params(None), None, "200", ok("A page of workspaces", "WorkspaceList")),
                "post": op("Create a workspace", key, vec![], Some("WorkspaceInput"), "201", ok("Created", "Workspace")),
            },
            "/workspaces/{id}": {
                "get": op("Get a workspace", key, vec![id_param()], None, "200", ok("The workspace", "Workspace")),
                "patch": op("Rename a workspace", key, vec![id_param()], Some("WorkspaceInput"), "200", ok("Updated", "Workspace")),
                "delete": op("Delete a workspace and its records (workspaces:write; a workspace that has records also needs records:write, else 403 insufficient_scope with param records:write)", key, vec![id_param()], None, "204", no_content()),
            },
            "/records": {
                "get": op("List records", key, list_params(Some(json!({"name": "workspace_id", "in": "query", "schema": {"type": "string"}}))), None, "200", ok("A page of records", "RecordList")),
                "post": op("Create a record", key, vec![], Some("RecordInput"), "201", ok("Created", "Record")),
            },
            "/records/{id}": {
                "get": op("Get a record", key, vec![id_param()], None, "200", ok("The record", "Record")),
                "patch": op("Replace a record's data", key, vec![id_param()], Some("RecordUpdate"), "200", ok("Updated", "Record")),
                "delete": op("Delete a record", key, vec![id_param()], None, "204", no_content()),
            },
            "/api_keys": {
                "get": op("List API keys (never their secrets)", admin, list_params(None), None, "200", ok("A page of keys", "ApiKeyList")),
                "post": op("Create an API key; the only response that contains `key`", admin, vec![], Some("ApiKeyInput"), "201", ok("Created", "NewApiKey")),
            },
            "/api_keys/{id}": {
                "delete": op("Delete an API key: refused from the very next request", admin, vec![id_param()], None, "204", no_content()),
            },
            "/events": {
                "get": op("The account's activity log, newest first (owners and admins): `kind` narrows to one kind of event (account, member, invitation, api_key, domain, sso, workspace, record, sign_in, user), `actor` to one person's", admin, list_params(Some(json!({"name": "kind", "in": "query", "schema": {"enum": ["account", "member", "invitation", "api_key", "domain", "sso", "workspace", "record", "sign_in", "user"]}}))).into_iter().chain([json!({"name": "actor", "in": "query", "schema": {"type": "string"}, "description": "A user id"})]).collect(), None, "200", ok("A page of events", "EventList")),
            },
            "/api_keys/{id}/roll": {
                "post": op("Roll an API key: a new key with the same name, scopes and expiry (the only other response that contains `key`); the old key keeps working for expires_in_hours more (0: it stops now), then gets 401 (409 api_key_expired for a key that has already stopped)", admin, vec![id_param()], Some("RollInput"), "201", ok("Rolled", "RolledApiKey")),
            },
            "/members": {
                "get": op("List the account's members", admin, list_params(None), None, "200", ok("A page of members", "MemberList")),
            },
            "/members/{id}": {
                "patch": op("Change a member's role (409 last_owner if it would leave no owner)", admin, vec![id_param()], Some("RoleInput"), "200", ok("Updated", "Member")),
                "delete": op("Remove a member (409 last_owner for the last owner)", admin, vec![id_param()], None, "204", no_content()),
            },
            "/invitations": {
                "get": op("List pending invitations", admin, list_params(None), None, "200", ok("A page of invitations", "InvitationList")),
                "post": op("Invite an email with a role (409 already_member)", admin, vec![], Some("InvitationInput"), "201", ok("Created", "Invitation")),
            },
            "/domains": {
                "get": op("List the account's domains (owners)", admin, list_params(None), None, "200", ok("A page of domains", "DomainList")),
                "post": op("Add a domain: publish its dns_record, then verify (owners; 422 public_mail_domain, 409 domain_exists)", admin, vec![], Some("DomainInput"), "201", ok("Added, not yet verified", "Domain")),
            },
            "/domains/{id}/verify": {
                "post": op("Look the TXT record up and mark the domain verified (owners; 422 dns_record_not_found, 409 domain_verified_elsewhere)", admin, vec![id_param()], None, "200", ok("Verified", "Domain")),
            },
            "/domains/{id}": {
                "delete": op("Delete a domain: single sign-on stops serving it (owners)", admin, vec![id_param()], None, "204", no_content()),
            },
            "/sso_connections": {
                "get": op("List single sign-on connections (owners; never the client secret)", admin, vec![], None, "200", ok("The connections", "SsoConnectionList")),
                "post": op("Connect an OpenID provider for verified domains of the account (owners; discovery is checked first: 422 issuer_unreachable, 422 domain_not_verified, 409 domain_taken)", admin, vec![], Some("SsoConnectionInput"), "201", ok("Created", "SsoConnection")),
            },
            "/sso_connections/{id}": {
                "patch": op("Switch enforcement (409 test_sign_in_required until an owner completed a test sign-in on the page) or \"create users on first sign-in\"", admin, vec![id_param()], Some("SsoConnectionUpdate"), "200", ok("Updated", "SsoConnection")),
                "delete": op("Delete a connection: its domains no longer use single sign-on", admin, vec![id_param()], None, "204", no_content()),
            },
            "/invitations/{id}": {
                "delete": op("Revoke a pending invitation", admin, vec![id_param()], None, "204", no_content()),
            },
            "/credentials/revoke": report_path(),
        },
        "components": {
            "securitySchemes": {
                key: {"type": "http", "scheme": "bearer", "description": "thub_ + 26 random base62 characters + 6-character base62 CRC32 checksum"},
                admin: {"type": "apiKey", "in": "cookie", "name": "__Host-thub_session", "description": "An owner's or admin's web session (thub_session on plain-http localhost)"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["type", "code", "message", "param", "path"], "properties": {
                    "type": {"enum": ["authentication_error", "permission_error", "invalid_request_error", "rate_limit_error", "api_error"]},
                    "code": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "path": {"type": ["string", "null"], "description": "JSON Pointer to the offending value in the body"}}}}},
                "Account": {"type": "object", "required": ["id", "object", "name", "plan", "limits", "created_at"], "properties": {"id": {"type": "string"}, "object": {"const": "account"}, "name": {"type": "string"}, "plan": {"type": "string", "description": "The plan the account is on (an account on a plan the server's configuration no longer defines is on its default plan)"}, "limits": {"type": "object", "description": "The plan's rate limit: per_minute requests a minute sustained, burst at once", "required": ["per_minute", "burst"], "properties": {"per_minute": {"type": "integer", "minimum": 1}, "burst": {"type": "integer", "minimum": 1}}}, "created_at": ts}},
                "Workspace": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "workspace"}, "name": {"type": "string"}, "created_at": ts}},
                "WorkspaceInput": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}}},
                "WorkspaceList": list_of("Workspace"),
                "Record": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "record"}, "workspace_id": {"type": "string"}, "data": {"type": "object"}, "created_at": ts, "updated_at": ts}},
                "RecordInput": {"type": "object", "required": ["workspace_id", "data"], "additionalProperties": false, "properties": {"workspace_id": {"type": "string"}, "data": {"type": "object", "description": "At most 256 KiB of JSON"}}},
                "RecordUpdate": {"type": "object", "required": ["data"], "additionalProperties": false, "properties": {"data": {"type": "object"}}},
                "RecordList": list_of("Record"),
                "ApiKey": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "api_key"}, "name": {"type": "string"}, "hint": {"type": "string"},
                    "scopes": {"type": ["array", "null"], "items": {"enum": ["workspaces:read", "workspaces:write", "records:read", "records:write"]}},
                    "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "When the key stops working (a rolled key: the end of its grace)"}, "last_used_at": {"type": ["string", "null"], "format": "date-time"},
                    "last_used_ip": {"type": ["string", "null"], "description": "The client IP of the latest request (written in batches, like last_used_at)"},
                    "usage": {"type": "array", "description": "Requests per day (UTC) of the last 30 days, oldest first; days without requests are left out", "items": {"type": "object", "required": ["date", "requests"], "properties": {"date": {"type": "string", "format": "date"}, "requests": {"type": "integer", "minimum": 1}}}},
                    "created_at": ts}},
                "RolledApiKey": {"allOf": [{"$ref": "#/components/schemas/NewApiKey"}, {"type": "object", "required": ["rolled_from"], "properties": {"rolled_from": {"type": "object", "required": ["id", "expires_at"], "properties": {"id": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time", "description": "When the old key stops working"}}}}}]},
                "RollInput": {"type": "object", "required": ["expires_in_hours"], "additionalProperties": false, "properties": {"expires_in_hours": {"type": "integer", "minimum": 0, "maximum": 168, "description": "How long the old key keeps working"}}},
                "CredentialReport": {"type": "object", "required": ["credentials"], "additionalProperties": false, "properties": {"credentials": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string", "maxLength": 1000}, "description": "Candidate keys; each checksum is checked before any lookup, so anything that is not a Terminus Hub key costs nothing"}}},
                "NewApiKey": {"allOf": [{"$ref": "#/components/schemas/ApiKey"}, {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}}]},
                "ApiKeyInput": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "scopes": {"type": "array", "minItems": 1, "items": {"enum": ["workspaces:read", "workspaces:write", "records:read", "records:write"]}, "description": "Leave out for full account access; write includes read"}}},
                "ApiKeyList": list_of("ApiKey"),
                "Member": {"type": "object", "properties": {"id": {"type": "string", "description": "The user's id"}, "object": {"const": "member"}, "email": {"type": "string"}, "role": {"enum": ["owner", "admin", "member"]}, "since": ts}},
                "MemberList": list_of("Member"),
                "Event": {"type": "object", "required": ["id", "object", "action", "description", "created_at"], "properties": {"id": {"type": "string"}, "object": {"const": "event"}, "action": {"type": "string", "description": "What happened, as a stable code such as `api_key.created`"}, "description": {"type": "string", "description": "The same in words, after the actor's name"}, "actor": {"type": ["string", "null"], "description": "The user who did it; null for the operator or an API key (whose id then leads `detail`)"}, "detail": {"type": ["string", "null"]}, "ip": {"type": ["string", "null"], "description": "The client IP of the request that made it"}, "device": {"type": ["string", "null"], "description": "Its device, from the User-Agent"}, "created_at": ts}},
                "EventList": list_of("Event"),
                "RoleInput": {"type": "object", "required": ["role"], "additionalProperties": false, "properties": {"role": {"enum": ["owner", "admin", "member"]}}},
                "Invitation": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "invitation"}, "email": {"type": "string"}, "role": {"enum": ["owner", "admin", "member"]}, "created_at": ts, "expires_at": ts}},
                "InvitationList": list_of("Invitation"),
                "Domain": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "domain"}, "domain": {"type": "string", "description": "ASCII (IDNA) form, lower-case"},
                    "verified": {"type": "boolean"}, "verified_at": {"type": ["string", "null"], "format": "date-time"},
                    "dns_record": {"type": "object", "properties": {"type": {"const": "TXT"}, "name": {"type": "string"}, "value": {"type": "string"}}}, "created_at": ts}},
                "DomainList": list_of("Domain"),
                "DomainInput": {"type": "object", "required": ["domain"], "additionalProperties": false, "properties": {"domain": {"type": "string"}}},
                "SsoConnection": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "sso_connection"}, "issuer": {"type": "string"}, "client_id": {"type": "string"},
                    "domains": {"type": "array", "items": {"type": "object", "properties": {"domain": {"type": "string"}, "verified": {"type": "boolean"}}}},
                    "enforced": {"type": "boolean"}, "create_users": {"type": "boolean", "description": CREATE_USERS}, "tested_at": {"type": ["string", "null"], "format": "date-time", "description": "When an owner last completed a test sign-in"},
                    "redirect_uri": {"type": "string", "description": "Register this at the identity provider"}, "created_at": ts}},
                "SsoConnectionList": list_of("SsoConnection"),
                "SsoConnectionInput": {"type": "object", "required": ["issuer", "client_id", "client_secret", "domains"], "additionalProperties": false, "properties": {"issuer": {"type": "string", "format": "uri"}, "client_id": {"type": "string"}, "client_secret": {"type": "string", "writeOnly": true}, "domains": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Verified domains of the account"}, "enforced": {"const": false, "description": "A new connection cannot start enforced (409 test_sign_in_required)"}, "create_users": {"type": "boolean", "default": false, "description": CREATE_USERS}}},
                "SsoConnectionUpdate": {"type": "object", "minProperties": 1, "additionalProperties": false, "properties": {"enforced": {"type": "boolean"}, "create_users": {"type": "boolean", "description": CREATE_USERS}}},
                "InvitationInput": {"type": "object", "required": ["email", "role"], "additionalProperties": false, "properties": {"email": {"type": "string", "format": "email"}, "role": {"enum": ["owner", "admin", "member"]}}},
            }
        }
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_operation_has_an_id_a_tag_and_the_shared_headers() {
        let doc = super::document();
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
        let doc = super::document();
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
