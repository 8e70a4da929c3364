//! The JSON shapes of the API's objects (RFC 3339 UTC timestamps, opaque string ids). Each is a
//! type the handlers answer with, and the OpenAPI document's schema is derived from that same
//! type (`utoipa::ToSchema`), so the document cannot describe a field the answer lacks.
use app::domain::accounts::Account as AccountRow;
use app::domain::api_keys::ApiKeyRecord;
use app::domain::audit::{describe, AuditEntry};
use app::domain::clock::Timestamp;
use app::domain::domains::AccountDomain;
use app::domain::ids::{RecordId, WorkspaceId};
use app::domain::members::{Invitation as InvitationRow, MemberRecord};
use app::domain::sso::SsoConnection as ConnectionRow;
use app::domain::workspaces::{DataRecord, Workspace as WorkspaceRow};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// The `object` member of each resource: one fixed string per kind, an enum of one value in
/// the document.
macro_rules! object_kind {
    ($name:ident, $variant:ident) => {
        /// The kind of object (one fixed string).
        #[derive(Debug, Clone, Copy, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $variant,
        }
    };
}

object_kind!(AccountObject, Account);
object_kind!(WorkspaceObject, Workspace);
object_kind!(RecordObject, Record);
object_kind!(ApiKeyObject, ApiKey);
object_kind!(MemberObject, Member);
object_kind!(InvitationObject, Invitation);
object_kind!(DomainObject, Domain);
object_kind!(SsoConnectionObject, SsoConnection);
object_kind!(EventObject, Event);
object_kind!(ListObject, List);

/// A DNS record type: always `TXT`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TxtRecordType {
    #[serde(rename = "TXT")]
    Txt,
}

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// The rate limit of an account's plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct Limits {
    /// Requests a minute, sustained.
    #[schema(minimum = 1, example = 600)]
    per_minute: u32,
    /// Requests at once, after a quiet spell.
    #[schema(minimum = 1, example = 100)]
    burst: u32,
}

/// The account an API key belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    #[schema(example = "acct_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: AccountObject,
    #[schema(example = "Acme")]
    name: String,
    /// The plan the account is on (an account on a plan the server's configuration no longer
    /// defines is on its default plan).
    #[schema(example = "default")]
    plan: String,
    limits: Limits,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

/// An account with the plan it is on and that plan's limits.
pub fn account(a: &AccountRow, plans: &app::plans::Plans) -> Account {
    let (plan, limits) = plans.resolve(&a.plan);
    Account {
        id: a.id.to_string(),
        object: AccountObject::Account,
        name: a.name.clone(),
        plan: plan.to_owned(),
        limits: Limits {
            per_minute: limits.per_minute,
            burst: limits.burst,
        },
        created_at: time(a.created_at),
    }
}

/// A workspace: a named container of records. Struct rather than a `Value`: a list of them is
/// the busiest answer of the API, and a struct is written straight out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Workspace)]
pub struct WorkspaceOut {
    #[schema(value_type = String, example = "ws_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: WorkspaceId,
    object: WorkspaceObject,
    #[schema(example = "Main")]
    name: String,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

pub fn workspace(w: &WorkspaceRow) -> WorkspaceOut {
    WorkspaceOut {
        id: w.id.clone(),
        object: WorkspaceObject::Workspace,
        name: w.name.clone(),
        created_at: time(w.created_at),
    }
}

/// A record: a JSON object in a workspace. `data` goes out as the stored JSON text, byte for
/// byte, as it was sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Record)]
pub struct RecordOut {
    #[schema(value_type = String, example = "rec_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: RecordId,
    object: RecordObject,
    #[schema(value_type = String, example = "ws_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    workspace_id: WorkspaceId,
    /// The JSON object that was stored (at most 256 KiB).
    #[schema(value_type = Object, example = json!({"sku": "A-1", "qty": 3}))]
    data: Box<RawValue>,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-12-01T09:31:00Z")]
    updated_at: String,
}

pub fn record(r: &DataRecord) -> RecordOut {
    let data = RawValue::from_string(r.data.clone()).unwrap_or_else(|err| {
        tracing::error!(record = %r.id, error = %err, "stored record data is not JSON");
        RawValue::NULL.to_owned()
    });
    RecordOut {
        id: r.id.clone(),
        object: RecordObject::Record,
        workspace_id: r.workspace_id.clone(),
        data,
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
    }
}

/// What a key may do; a key without scopes has full access to its account. Write includes
/// read.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, ToSchema)]
pub enum ScopeName {
    #[serde(rename = "workspaces:read")]
    WorkspacesRead,
    #[serde(rename = "workspaces:write")]
    WorkspacesWrite,
    #[serde(rename = "records:read")]
    RecordsRead,
    #[serde(rename = "records:write")]
    RecordsWrite,
}

/// Requests one key made on one day (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyRequests {
    #[schema(format = Date, example = "2026-12-01")]
    date: String,
    #[schema(minimum = 1, example = 1200)]
    requests: u64,
}

/// An API key, never with its secret (that is shown once, at creation or roll).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(example = "key_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: ApiKeyObject,
    #[schema(example = "CI pipeline")]
    name: String,
    /// `thub_` and the key's first four characters.
    #[schema(example = "thub_UDA9")]
    hint: String,
    /// `null`: full access to the account.
    #[schema(required = true, value_type = Option<Vec<ScopeName>>)]
    scopes: Option<Vec<&'static str>>,
    /// When the key stops working (a rolled key: the end of its grace).
    #[schema(required = true, format = DateTime)]
    expires_at: Option<String>,
    /// At most a minute stale.
    #[schema(required = true, format = DateTime)]
    last_used_at: Option<String>,
    /// The client IP of the latest request (written in batches, like `last_used_at`).
    #[schema(required = true, example = "203.0.113.7")]
    last_used_ip: Option<String>,
    /// Requests per day (UTC) of the last 30 days, oldest first; days without requests are
    /// left out.
    usage: Vec<DailyRequests>,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

pub fn api_key(k: &ApiKeyRecord) -> ApiKey {
    ApiKey {
        id: k.id.to_string(),
        object: ApiKeyObject::ApiKey,
        name: k.name.clone(),
        hint: k.hint.clone(),
        scopes: k
            .scopes
            .as_ref()
            .map(|s| s.iter().map(|s| s.as_str()).collect()),
        expires_at: k.expires_at.map(time),
        last_used_at: k.last_used_at.map(time),
        last_used_ip: k.last_used_ip.clone(),
        usage: k
            .usage
            .iter()
            .map(|u| DailyRequests {
                date: u.date(),
                requests: u.requests,
            })
            .collect(),
        created_at: time(k.created_at),
    }
}

/// A new API key: the only answer (with a roll's) that contains the secret `key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    api_key: ApiKey,
    /// The secret: `thub_` and 32 base62 characters. Shown this once; store it now.
    #[schema(example = "thub_UDA9qK2mXb7LrT4vNc8ZpW1sYh3Je6Fg")]
    key: String,
}

pub fn new_api_key(record: &ApiKeyRecord, key: &str) -> NewApiKey {
    NewApiKey {
        api_key: api_key(record),
        key: key.to_owned(),
    }
}

/// The key a roll replaced.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolledFrom {
    #[schema(example = "key_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    /// When the old key stops working.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// A rolled key: its successor (secret shown once) and when the old one stops.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolledApiKey {
    #[serde(flatten)]
    new_key: NewApiKey,
    rolled_from: RolledFrom,
}

pub fn rolled_api_key(
    record: &ApiKeyRecord,
    key: &str,
    old_id: &str,
    old_ends_at: Timestamp,
) -> RolledApiKey {
    RolledApiKey {
        new_key: new_api_key(record, key),
        rolled_from: RolledFrom {
            id: old_id.to_owned(),
            expires_at: time(old_ends_at),
        },
    }
}

/// A role in an account.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Owner,
    Admin,
    Member,
}

impl RoleName {
    fn of(role: app::domain::roles::Role) -> Self {
        use app::domain::roles::Role;
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }

    pub fn role(self) -> app::domain::roles::Role {
        use app::domain::roles::Role;
        match self {
            Self::Owner => Role::Owner,
            Self::Admin => Role::Admin,
            Self::Member => Role::Member,
        }
    }
}

/// A person in the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    /// The user's id.
    #[schema(example = "usr_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: MemberObject,
    #[schema(example = "alice@example.com")]
    email: String,
    role: RoleName,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    since: String,
}

pub fn member(m: &MemberRecord) -> Member {
    Member {
        id: m.user_id.to_string(),
        object: MemberObject::Member,
        email: m.email.clone(),
        role: RoleName::of(m.role),
        since: time(m.since),
    }
}

/// An invitation that has not been accepted yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    #[schema(example = "inv_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: InvitationObject,
    #[schema(example = "bob@example.com")]
    email: String,
    role: RoleName,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-12-08T09:30:00Z")]
    expires_at: String,
}

pub fn invitation(i: &InvitationRow) -> Invitation {
    Invitation {
        id: i.id.to_string(),
        object: InvitationObject::Invitation,
        email: i.email.as_str().to_owned(),
        role: RoleName::of(i.role),
        created_at: time(i.created_at),
        expires_at: time(i.expires_at),
    }
}

/// The TXT record that proves control of a domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct DnsRecord {
    #[serde(rename = "type")]
    kind: TxtRecordType,
    #[schema(example = "_terminus-hub-challenge.example.com")]
    name: String,
    #[schema(example = "terminus-hub-verification=0f3c9a7d2b…")]
    value: String,
}

/// An email domain of the account, verified by DNS or waiting to be.
#[derive(Debug, Serialize, ToSchema)]
pub struct Domain {
    #[schema(example = "dom_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: DomainObject,
    /// ASCII (IDNA) form, lower-case.
    #[schema(example = "example.com")]
    domain: String,
    verified: bool,
    #[schema(required = true, format = DateTime)]
    verified_at: Option<String>,
    dns_record: DnsRecord,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

pub fn domain(d: &AccountDomain) -> Domain {
    let record = app::flows::domains::record_for(d);
    Domain {
        id: d.id.to_string(),
        object: DomainObject::Domain,
        domain: d.domain.clone(),
        verified: d.verified_at.is_some(),
        verified_at: d.verified_at.map(time),
        dns_record: DnsRecord {
            kind: TxtRecordType::Txt,
            name: record.name,
            value: record.value,
        },
        created_at: time(d.created_at),
    }
}

/// A domain a connection serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServedDomain {
    #[schema(example = "example.com")]
    domain: String,
    verified: bool,
}

/// A single sign-on connection to an OpenID provider. Never its client secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConnection {
    #[schema(example = "sso_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: SsoConnectionObject,
    #[schema(example = "https://login.example.com")]
    issuer: String,
    #[schema(example = "terminus-hub")]
    client_id: String,
    domains: Vec<ServedDomain>,
    /// Whether people of its domains must sign in through the provider (owners and admins
    /// may still use a password).
    enforced: bool,
    /// Create users on first sign-in (the owner's choice, off by default): on a server whose
    /// sign-up is invite-only, a first sign-in through this connection creates a user for
    /// someone who was not invited. On an open server the provider's people are created
    /// either way.
    create_users: bool,
    /// When an owner last completed a test sign-in.
    #[schema(required = true, format = DateTime)]
    tested_at: Option<String>,
    /// Register this at the identity provider.
    #[schema(example = "https://hub.example.com/auth/oidc/callback")]
    redirect_uri: String,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

pub fn sso_connection(c: &ConnectionRow, redirect_uri: String) -> SsoConnection {
    SsoConnection {
        id: c.id.to_string(),
        object: SsoConnectionObject::SsoConnection,
        issuer: c.issuer.clone(),
        client_id: c.client_id.clone(),
        domains: c
            .domains
            .iter()
            .map(|d| ServedDomain {
                domain: d.domain.clone(),
                verified: d.verified,
            })
            .collect(),
        enforced: c.enforced,
        create_users: c.create_users,
        tested_at: c.tested_at.map(time),
        redirect_uri,
        created_at: time(c.created_at),
    }
}

/// One entry of the account's activity log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    #[schema(example = "evt_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    id: String,
    object: EventObject,
    /// What happened, as a stable code.
    #[schema(example = "api_key.created")]
    action: String,
    /// The same in words, after the actor's name.
    #[schema(example = "created an API key")]
    description: String,
    /// The user who did it; `null` for the operator or an API key (whose id then leads
    /// `detail`).
    #[schema(required = true, example = "usr_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    actor: Option<String>,
    #[schema(required = true, example = "CI pipeline")]
    detail: Option<String>,
    /// The client IP of the request that made it.
    #[schema(required = true, example = "203.0.113.7")]
    ip: Option<String>,
    /// Its device, from the User-Agent.
    #[schema(required = true, example = "Firefox on Linux")]
    device: Option<String>,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00Z")]
    created_at: String,
}

pub fn event(e: &AuditEntry) -> Event {
    Event {
        id: e.id.clone(),
        object: EventObject::Event,
        action: e.event.action.clone(),
        description: describe(&e.event.action).to_owned(),
        actor: e.event.actor_user_id.as_ref().map(|u| u.to_string()),
        detail: e.event.detail.clone(),
        ip: e.ip.clone(),
        device: e.device.clone(),
        created_at: time(e.event.at),
    }
}

#[cfg(test)]
mod tests {
    /// The document's example key has the shape of a key but is no key: its checksum fails,
    /// so it can never be mistaken for (or be) a real secret.
    #[test]
    fn the_example_key_is_shaped_like_a_key_and_is_not_one() {
        let schema =
            serde_json::to_value(<super::NewApiKey as utoipa::PartialSchema>::schema()).unwrap();
        let example = schema["allOf"][1]["properties"]["key"]["example"]
            .as_str()
            .unwrap();
        assert_eq!(example.len(), "thub_".len() + 32);
        assert!(example.starts_with("thub_"));
        assert!(!app::domain::api_keys::is_well_formed(example));
    }
}
