//! The shapes of what `/api/v1` reads: request bodies and query parameters. A handler checks a
//! body's members one by one (for precise errors) against the fields of its type here
//! ([`super::body::JsonObject::only_fields_of`]), and the OpenAPI document derives each body's
//! schema and each list's parameters from the same types.
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::resources::{RoleName, ScopeName};

/// `POST /workspaces`, `PATCH /workspaces/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceInput {
    #[schema(min_length = 1, max_length = 100, example = "Production")]
    pub name: String,
}

/// `POST /records`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// A workspace of the key's account.
    #[schema(example = "ws_01936f0e6a7b7c3d9e8f0a1b2c3d4e5f")]
    pub workspace_id: String,
    /// Any JSON object of at most 256 KiB, stored and returned byte for byte.
    #[schema(value_type = Object, example = json!({"sku": "A-1", "qty": 3}))]
    pub data: Value,
}

/// `PATCH /records/{id}`: the record's new data (it replaces the old).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordUpdate {
    #[schema(value_type = Object, example = json!({"sku": "A-1", "qty": 4}))]
    pub data: Value,
}

/// `PATCH /account`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    #[schema(min_length = 1, max_length = 100, example = "Acme Corporation")]
    pub name: String,
}

/// `POST /api_keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// What will use the key.
    #[schema(min_length = 1, max_length = 100, example = "CI pipeline")]
    pub name: String,
    /// When the key stops working (in the future); leave out for no expiry.
    #[schema(value_type = String, required = false, format = DateTime, example = "2027-06-30T00:00:00Z")]
    pub expires_at: Option<String>,
    /// Leave out for full access to the account; write includes read.
    #[schema(value_type = Vec<ScopeName>, required = false, min_items = 1, example = json!(["records:read"]))]
    pub scopes: Option<Vec<ScopeName>>,
}

/// `POST /api_keys/{id}/roll`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollInput {
    /// How many more hours the old key keeps working (0: it stops now).
    #[schema(minimum = 0, maximum = 168, example = 24)]
    pub expires_in_hours: u32,
}

/// `PATCH /members/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: RoleName,
}

/// `POST /invitations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    #[schema(format = Email, max_length = 254, example = "bob@example.com")]
    pub email: String,
    pub role: RoleName,
}

/// `POST /domains`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    /// Not a public mail provider's (422 `public_mail_domain`).
    #[schema(min_length = 1, max_length = 300, example = "example.com")]
    pub domain: String,
}

/// `POST /sso_connections`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionInput {
    /// The provider's issuer URL (its discovery document is fetched before saving).
    #[schema(example = "https://login.example.com")]
    pub issuer: String,
    #[schema(example = "terminus-hub")]
    pub client_id: String,
    /// Sealed when stored and never returned.
    #[schema(write_only, example = "s3cr3t-from-the-provider")]
    pub client_secret: String,
    /// Verified domains of the account (422 `domain_not_verified` otherwise).
    #[schema(min_items = 1, example = json!(["example.com"]))]
    pub domains: Vec<String>,
    /// A new connection cannot start enforced (409 `test_sign_in_required`).
    #[schema(value_type = bool, required = false, default = false)]
    pub enforced: Option<bool>,
    /// Create users on first sign-in (off by default): on an invite-only server, a first
    /// sign-in through this connection creates a user for someone who was not invited.
    #[schema(value_type = bool, required = false, default = false)]
    pub create_users: Option<bool>,
}

/// `PATCH /sso_connections/{id}`: at least one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionUpdate {
    /// Turning it on needs a completed test sign-in (409 `test_sign_in_required`).
    #[schema(value_type = bool, required = false)]
    pub enforced: Option<bool>,
    /// Create users on first sign-in.
    #[schema(value_type = bool, required = false)]
    pub create_users: Option<bool>,
}

/// `POST /credentials/revoke`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialReport {
    /// Candidate keys; each checksum is checked before any lookup, so anything that is not a
    /// Terminus Hub key costs nothing.
    #[schema(min_items = 1, max_items = 100, example = json!(["thub_UDA9qK2mXb7LrT4vNc8ZpW1sYh3Je6Fg"]))]
    pub credentials: Vec<String>,
}

/// Paging of every list: newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many objects a page holds.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// An object id from the previous page: this page starts after it (older objects).
    #[param(min_length = 1, max_length = 64)]
    pub starting_after: Option<String>,
    /// An object id: this page ends before it (newer objects), for paging backwards. Not
    /// together with `starting_after`.
    #[param(min_length = 1, max_length = 64)]
    pub ending_before: Option<String>,
}

/// `GET /records`: only one workspace's records.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordFilter {
    /// Only this workspace's records.
    pub workspace_id: Option<String>,
}

/// What an event is about: the part of its action before the dot.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Account,
    Member,
    Invitation,
    ApiKey,
    Domain,
    Sso,
    Workspace,
    Record,
    SignIn,
    User,
}

/// `GET /events`: one kind of event, one person's.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only what this user (an id) did.
    pub actor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented kinds are the log's kinds (`AuditFilter::kind_of` decides what is
    /// accepted; the document must not offer one it refuses, nor hide one it takes).
    #[test]
    fn event_kinds_are_the_logs_kinds() {
        let kinds = app::domain::audit::KINDS;
        for (kind, _) in kinds.iter() {
            let parsed: Result<EventKind, _> =
                serde_json::from_value(Value::from(kind.to_string()));
            assert!(parsed.is_ok(), "{kind} is not documented");
        }
        let documented =
            serde_json::to_value(<EventKind as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(documented["enum"].as_array().unwrap().len(), kinds.len());
    }

    /// What a handler accepts (serde's field names) is what the document lists, for every
    /// body.
    #[test]
    fn every_body_accepts_exactly_its_documented_members() {
        fn check<'de, T: serde::Deserialize<'de> + utoipa::PartialSchema>(name: &str) {
            let schema = serde_json::to_value(T::schema()).unwrap();
            let mut documented: Vec<String> = schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let mut accepted: Vec<String> = crate::api::body::fields_of::<T>()
                .iter()
                .map(|f| f.to_string())
                .collect();
            documented.sort();
            accepted.sort();
            assert!(!accepted.is_empty(), "{name}");
            assert_eq!(accepted, documented, "{name}");
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
        check::<WorkspaceInput>("WorkspaceInput");
        check::<RecordInput>("RecordInput");
        check::<RecordUpdate>("RecordUpdate");
        check::<AccountUpdate>("AccountUpdate");
        check::<ApiKeyInput>("ApiKeyInput");
        check::<RollInput>("RollInput");
        check::<RoleInput>("RoleInput");
        check::<InvitationInput>("InvitationInput");
        check::<DomainInput>("DomainInput");
        check::<SsoConnectionInput>("SsoConnectionInput");
        check::<SsoConnectionUpdate>("SsoConnectionUpdate");
        check::<CredentialReport>("CredentialReport");
    }

    /// Optional members are optional, not nullable, in the document.
    #[test]
    fn optional_members_are_not_required() {
        let schema =
            serde_json::to_value(<SsoConnectionInput as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["required"],
            serde_json::json!(["issuer", "client_id", "client_secret", "domains"])
        );
        assert_eq!(schema["properties"]["create_users"]["type"], "boolean");
        let schema =
            serde_json::to_value(<ApiKeyInput as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["required"], serde_json::json!(["name"]));
        assert_eq!(schema["properties"]["scopes"]["type"], "array");
    }

    #[test]
    fn scope_names_are_the_scopes() {
        let scopes = app::domain::api_keys::Scope::ALL;
        for scope in scopes {
            let parsed: Result<ScopeName, _> = serde_json::from_value(Value::from(scope.as_str()));
            assert!(parsed.is_ok(), "{} is not documented", scope.as_str());
        }
        let documented =
            serde_json::to_value(<ScopeName as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(documented["enum"].as_array().unwrap().len(), scopes.len());
    }
}
