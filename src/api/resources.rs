//! The JSON shapes of the API's objects (RFC 3339 UTC timestamps, opaque string ids).
use app::domain::accounts::Account;
use app::domain::api_keys::ApiKeyRecord;
use app::domain::clock::Timestamp;
use app::domain::ids::{RecordId, WorkspaceId};
use app::domain::workspaces::{DataRecord, Workspace};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

fn time(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339())
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map(time).unwrap_or(Value::Null)
}

/// An account with the plan it is on and that plan's limits (an account stored on a plan the
/// configuration no longer defines is on the default plan, and says so).
pub fn account(a: &Account, plans: &app::plans::Plans) -> Value {
    let (plan, limits) = plans.resolve(&a.plan);
    json!({
        "id": a.id, "object": "account", "name": a.name, "plan": plan,
        "limits": {"per_minute": limits.per_minute, "burst": limits.burst},
        "created_at": time(a.created_at),
    })
}

/// A workspace as the API shows it. A struct rather than a `Value`: a list of them is the
/// busiest answer of the API, and a struct is written straight out, where a `Value` is first
/// built (a map and a string per field) and then written.
#[derive(Debug, Serialize)]
pub struct WorkspaceOut {
    id: WorkspaceId,
    object: &'static str,
    name: String,
    created_at: String,
}

pub fn workspace(w: &Workspace) -> WorkspaceOut {
    WorkspaceOut {
        id: w.id.clone(),
        object: "workspace",
        name: w.name.clone(),
        created_at: w.created_at.to_rfc3339(),
    }
}

/// A record as the API shows it. A struct rather than a `Value`: `data` goes out as the
/// stored JSON text, byte for byte, as it was sent.
#[derive(Debug, Serialize)]
pub struct RecordOut {
    id: RecordId,
    object: &'static str,
    workspace_id: WorkspaceId,
    data: Box<RawValue>,
    created_at: String,
    updated_at: String,
}

pub fn record(r: &DataRecord) -> RecordOut {
    let data = RawValue::from_string(r.data.clone()).unwrap_or_else(|err| {
        tracing::error!(record = %r.id, error = %err, "stored record data is not JSON");
        RawValue::NULL.to_owned()
    });
    RecordOut {
        id: r.id.clone(),
        object: "record",
        workspace_id: r.workspace_id.clone(),
        data,
        created_at: r.created_at.to_rfc3339(),
        updated_at: r.updated_at.to_rfc3339(),
    }
}

/// An API key without its secret (the secret is added once, at creation).
pub fn api_key(k: &ApiKeyRecord) -> Value {
    json!({
        "id": k.id, "object": "api_key", "name": k.name, "hint": k.hint,
        "scopes": k.scopes.as_ref().map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        "expires_at": opt_time(k.expires_at), "last_used_at": opt_time(k.last_used_at),
        "last_used_ip": k.last_used_ip,
        "usage": k.usage.iter().map(|u| json!({"date": u.date(), "requests": u.requests})).collect::<Vec<_>>(),
        "created_at": time(k.created_at),
    })
}
