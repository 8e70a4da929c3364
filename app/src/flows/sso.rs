//! Managing single sign-on connections: an owner connects an OpenID provider, claims email
//! domains under the rules of `domain::sso`, and switches enforcement. The client secret is
//! sealed before it is stored and never shown again.
use crate::domain::ids::new_id;
use crate::domain::roles::can_own;
use crate::domain::secret::Secret;
use crate::domain::sso::check_claim;
use crate::flows::members::Actor;
use crate::flows::FlowError;
use crate::ports::{AuditEvent, SsoConnection, SsoCreated, StoreError};
use crate::AppState;

/// What an owner submits.
#[derive(Debug)]
pub struct ConnectionInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: Vec<String>,
    pub enforced: bool,
}

/// A refused input: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

fn field(field: &'static str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoResult {
    Created(SsoConnection),
    Invalid(FieldError),
    /// Only owners manage single sign-on.
    NotAllowed,
}

/// One connection of an account, by id.
pub async fn connection(
    state: &AppState,
    account_id: &str,
    id: &str,
) -> Result<Option<SsoConnection>, StoreError> {
    Ok(state
        .store
        .sso_connections(account_id)
        .await?
        .into_iter()
        .find(|c| c.id == id))
}

/// The redirect URI to register at the identity provider.
pub fn redirect_uri(state: &AppState) -> String {
    state.config.link("/auth/oidc/callback")
}

/// An issuer must be https, except on loopback (for local providers and tests).
pub fn valid_issuer(input: &str) -> Option<String> {
    let issuer = input.trim().trim_end_matches('/');
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://127.0.0.1"))
        .or_else(|| issuer.strip_prefix("http://localhost"))?;
    let ok = issuer.len() <= 512
        && (issuer.starts_with("http://") || !rest.is_empty())
        && !issuer.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| issuer.to_owned())
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: ConnectionInput,
) -> Result<SsoResult, FlowError> {
    if !can_own(actor.role) {
        return Ok(SsoResult::NotAllowed);
    }
    let Some(issuer) = valid_issuer(&input.issuer) else {
        return Ok(SsoResult::Invalid(field(
            "issuer",
            "parameter_invalid",
            "Enter the issuer URL, like https://login.example.com",
        )));
    };
    let client_id = input.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 255 {
        return Ok(SsoResult::Invalid(field(
            "client_id",
            "parameter_invalid",
            "Enter the client id the identity provider gave you.",
        )));
    }
    let secret = input.client_secret.expose().trim();
    if secret.is_empty() || secret.len() > 1024 {
        return Ok(SsoResult::Invalid(field(
            "client_secret",
            "parameter_invalid",
            "Enter the client secret the identity provider gave you.",
        )));
    }
    if input.domains.is_empty() {
        return Ok(SsoResult::Invalid(field(
            "domains",
            "parameter_missing",
            "Claim at least one email domain.",
        )));
    }
    let owner = state.store.user_by_id(&actor.user_id).await?;
    let Some(owner) = owner else {
        return Ok(SsoResult::NotAllowed);
    };
    let mut domains = Vec::new();
    for d in &input.domains {
        match check_claim(d, &owner.email, owner.email_confirmed_at.is_some()) {
            Ok(d) if !domains.contains(&d) => domains.push(d),
            Ok(_) => {}
            Err(e) => {
                return Ok(SsoResult::Invalid(field(
                    "domains",
                    "domain_not_allowed",
                    e.to_string(),
                )))
            }
        }
    }
    let sealed = state
        .sealing
        .seal(&Secret::new(secret))
        .map_err(|e| StoreError(e.to_string()))?;
    let connection = SsoConnection {
        id: new_id("sso"),
        account_id: actor.account_id.clone(),
        issuer,
        client_id,
        client_secret_sealed: sealed,
        enforced: input.enforced,
        domains,
        created_at: state.clock.now(),
    };
    match state.store.create_sso_connection(&connection).await? {
        SsoCreated::DomainTaken(domain) => Ok(SsoResult::Invalid(field(
            "domains",
            "domain_taken",
            format!("{domain} is already claimed by another account."),
        ))),
        SsoCreated::Created => {
            audit(
                state,
                actor,
                "sso.connection_created",
                format!(
                    "{} for {}",
                    connection.issuer,
                    connection.domains.join(", ")
                ),
            )
            .await?;
            Ok(SsoResult::Created(connection))
        }
    }
}

/// `None` when not allowed; `Some(false)` when there is no such connection.
pub async fn set_enforced(
    state: &AppState,
    actor: &Actor,
    id: &str,
    enforced: bool,
) -> Result<Option<bool>, FlowError> {
    if !can_own(actor.role) {
        return Ok(None);
    }
    let done = state
        .store
        .set_sso_enforced(&actor.account_id, id, enforced, state.clock.now())
        .await?;
    if done {
        let action = if enforced {
            "sso.enforced"
        } else {
            "sso.not_enforced"
        };
        audit(state, actor, action, id.to_owned()).await?;
    }
    Ok(Some(done))
}

pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<Option<bool>, FlowError> {
    if !can_own(actor.role) {
        return Ok(None);
    }
    let done = state
        .store
        .delete_sso_connection(&actor.account_id, id)
        .await?;
    if done {
        audit(state, actor, "sso.connection_deleted", id.to_owned()).await?;
    }
    Ok(Some(done))
}

async fn audit(
    state: &AppState,
    actor: &Actor,
    action: &str,
    detail: String,
) -> Result<(), StoreError> {
    state
        .store
        .record_audit(AuditEvent {
            account_id: Some(actor.account_id.clone()),
            actor_user_id: Some(actor.user_id.clone()),
            action: action.into(),
            detail: Some(detail),
            at: state.clock.now(),
        })
        .await
}

/// Splits a comma- or whitespace-separated list of domains as typed in a form.
pub fn split_domains(input: &str) -> Vec<String> {
    input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert_eq!(
            valid_issuer("https://login.example.com/"),
            Some("https://login.example.com".into())
        );
        assert_eq!(
            valid_issuer("http://127.0.0.1:4000"),
            Some("http://127.0.0.1:4000".into())
        );
        assert_eq!(valid_issuer("http://login.example.com"), None);
        assert_eq!(valid_issuer("https://"), None);
        assert_eq!(valid_issuer("ftp://x"), None);
    }

    #[test]
    fn domains_split_on_commas_and_spaces() {
        assert_eq!(
            split_domains(" a.com, b.org  c.net,,"),
            vec!["a.com", "b.org", "c.net"]
        );
    }
}
