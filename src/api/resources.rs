//! The JSON shapes of the API's objects (RFC 3339 UTC timestamps, opaque string ids).
use app::domain::clock::Timestamp;
use app::ports::{Account, ApiKeyRecord, DataRecord, Workspace};
use serde_json::{json, Value};

fn time(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339())
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map(time).unwrap_or(Value::Null)
}

pub fn account(a: &Account) -> Value {
    json!({"id": a.id, "object": "account", "name": a.name, "plan": a.plan, "created_at": time(a.created_at)})
}

pub fn workspace(w: &Workspace) -> Value {
    json!({"id": w.id, "object": "workspace", "name": w.name, "created_at": time(w.created_at)})
}

pub fn record(r: &DataRecord) -> Value {
    let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
    json!({
        "id": r.id, "object": "record", "workspace_id": r.workspace_id, "data": data,
        "created_at": time(r.created_at), "updated_at": time(r.updated_at),
    })
}

/// An API key without its secret (the secret is added once, at creation).
pub fn api_key(k: &ApiKeyRecord) -> Value {
    json!({
        "id": k.id, "object": "api_key", "name": k.name, "hint": k.hint,
        "scopes": k.scopes.as_ref().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        "expires_at": opt_time(k.expires_at), "last_used_at": opt_time(k.last_used_at),
        "created_at": time(k.created_at),
    })
}
