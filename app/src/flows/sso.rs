//! Managing single sign-on connections, for owners: connect an OpenID provider for verified
//! domains of the account (discovery is checked before anything is saved), test it with a
//! sign-in, and only then enforce it. The client secret is sealed before it is stored and
//! never shown again.
use crate::auth::OwnerOf;
use crate::domain::ids::new_id;
use crate::domain::secret::Secret;
use crate::domain::sso::parse_issuer;
use crate::domain::sso::{EnforceOutcome, ServedDomain, SsoConnection, SsoCreated};
use crate::domain::text::clean_name;
use crate::flows::FlowError;
use crate::ports::{SsoError, StoreError};
use crate::AppState;

/// What an owner submits.
#[derive(Debug)]
pub struct ConnectionInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub domains: Vec<String>,
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

pub async fn list(state: &AppState, owner: &OwnerOf) -> Result<Vec<SsoConnection>, FlowError> {
    Ok(state.store.sso_connections(&owner.account_id).await?)
}

/// The account's verified domains that no connection serves yet (what a new connection may
/// take).
pub async fn unconnected_domains(
    state: &AppState,
    owner: &OwnerOf,
    connections: &[SsoConnection],
) -> Result<Vec<String>, FlowError> {
    Ok(state
        .store
        .domains(&owner.account_id)
        .await?
        .into_iter()
        .filter(|d| d.verified_at.is_some())
        .map(|d| d.domain)
        .filter(|d| {
            !connections
                .iter()
                .any(|c| c.domains.iter().any(|s| &s.domain == d))
        })
        .collect())
}

/// The redirect URI to register at the identity provider.
pub fn redirect_uri(state: &AppState) -> String {
    state.config.link("/auth/oidc/callback")
}

/// What an owner may be told about a provider that does not work: the adapter's messages
/// never carry what the provider (or whatever answered) sent.
pub fn provider_problem(issuer: &str, err: &SsoError) -> String {
    match err {
        SsoError::ForbiddenAddress => format!(
            "{issuer} resolves to a loopback, private or reserved network address, which single sign-on may not use."
        ),
        SsoError::Unreachable(reason) => {
            format!("{issuer} does not work as an OpenID provider yet: {reason}")
        }
        SsoError::Rejected(_) => format!("{issuer} refused the request."),
    }
}

pub async fn create(
    state: &AppState,
    owner: &OwnerOf,
    input: ConnectionInput,
) -> Result<SsoResult, FlowError> {
    let issuer = match parse_issuer(&input.issuer, state.config.issuer_policy) {
        Ok(issuer) => issuer,
        Err(e) => {
            return Ok(SsoResult::Invalid(field(
                "issuer",
                "parameter_invalid",
                e.to_string(),
            )))
        }
    };
    let client_id = match clean_name(&input.client_id, 255) {
        Ok(id) => id,
        Err(e) => {
            return Ok(SsoResult::Invalid(field(
                "client_id",
                e.code(),
                client_id_problem(e),
            )))
        }
    };
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
            "Choose at least one verified domain for this connection.",
        )));
    }
    let verified = state.store.domains(&owner.account_id).await?;
    let mut served: Vec<ServedDomain> = Vec::new();
    let mut domain_ids: Vec<String> = Vec::new();
    for input in &input.domains {
        let name =
            crate::domain::domains::normalise(input).unwrap_or_else(|_| input.trim().to_owned());
        let Some(d) = verified
            .iter()
            .find(|d| d.domain == name && d.verified_at.is_some())
        else {
            return Ok(SsoResult::Invalid(field(
                "domains",
                "domain_not_verified",
                format!("{name} is not a verified domain of this account: add it on the Domains page and verify it first."),
            )));
        };
        if !domain_ids.contains(&d.id) {
            domain_ids.push(d.id.clone());
            served.push(ServedDomain {
                domain: d.domain.clone(),
                verified: true,
            });
        }
    }
    if let Err(e) = state.oidc.check(&issuer).await {
        tracing::info!(error = %e, "SSO discovery check failed");
        return Ok(SsoResult::Invalid(field(
            "issuer",
            "issuer_unreachable",
            provider_problem(&issuer, &e),
        )));
    }
    let sealed = state
        .sealing
        .seal(&Secret::new(secret))
        .map_err(FlowError::from)?;
    let now = state.clock.now();
    let connection = SsoConnection {
        id: new_id("sso"),
        account_id: owner.account_id.clone(),
        issuer,
        client_id,
        client_secret_sealed: sealed,
        enforced: false,
        domains: served,
        tested_at: None,
        created_at: now,
    };
    let audit = owner.audit(
        "sso.connection_created",
        format!(
            "{} for {}",
            connection.issuer,
            connection.domain_names().join(", ")
        ),
        now,
    );
    match state
        .store
        .create_sso_connection(&connection, &domain_ids, audit)
        .await?
    {
        SsoCreated::DomainTaken(domain) => Ok(SsoResult::Invalid(field(
            "domains",
            "domain_taken",
            format!("{domain} is already served by another connection of this account."),
        ))),
        SsoCreated::Created => Ok(SsoResult::Created(connection)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforceResult {
    /// Enforced; the password sessions of this many sessions were ended.
    Enforced {
        sessions_ended: u64,
    },
    Stopped,
    /// Enforcement waits for an owner to complete a test sign-in through the provider.
    TestSignInRequired,
    NotFound,
}

/// What enforcing a connection would do: the connection and how many people it affects.
pub async fn enforcement_preview(
    state: &AppState,
    owner: &OwnerOf,
    id: &str,
) -> Result<Option<(SsoConnection, u64)>, FlowError> {
    let Some(c) = connection(state, &owner.account_id, id).await? else {
        return Ok(None);
    };
    let affected = state
        .store
        .sso_enforcement_affects(&owner.account_id, id)
        .await?;
    Ok(Some((c, affected)))
}

pub async fn set_enforced(
    state: &AppState,
    owner: &OwnerOf,
    id: &str,
    enforced: bool,
) -> Result<EnforceResult, FlowError> {
    let now = state.clock.now();
    if !enforced {
        let audit = owner.audit("sso.not_enforced", id, now);
        return Ok(
            if state
                .store
                .stop_enforcing_sso(&owner.account_id, id, now, audit)
                .await?
            {
                EnforceResult::Stopped
            } else {
                EnforceResult::NotFound
            },
        );
    }
    let audit = owner.audit("sso.enforced", id, now);
    Ok(
        match state
            .store
            .enforce_sso(&owner.account_id, id, now, audit)
            .await?
        {
            EnforceOutcome::Enforced { sessions_ended } => {
                EnforceResult::Enforced { sessions_ended }
            }
            EnforceOutcome::NotTested => EnforceResult::TestSignInRequired,
            EnforceOutcome::NotFound => EnforceResult::NotFound,
        },
    )
}

pub async fn delete(state: &AppState, owner: &OwnerOf, id: &str) -> Result<bool, FlowError> {
    let audit = owner.audit("sso.connection_deleted", id, state.clock.now());
    Ok(state
        .store
        .delete_sso_connection(&owner.account_id, id, audit)
        .await?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestConnection {
    /// Discovery and keys found: sign-in goes to this authorization endpoint.
    Works(String),
    /// What is wrong, in words safe to show (never a fetched body).
    Fails(String),
    NotFound,
}

/// Fetches the provider's discovery document and says plainly what is wrong, if anything.
pub async fn test_connection(
    state: &AppState,
    owner: &OwnerOf,
    id: &str,
) -> Result<TestConnection, FlowError> {
    let Some(c) = connection(state, &owner.account_id, id).await? else {
        return Ok(TestConnection::NotFound);
    };
    Ok(match state.oidc.check(&c.issuer).await {
        Ok(endpoint) => TestConnection::Works(endpoint),
        Err(e) => TestConnection::Fails(provider_problem(&c.issuer, &e)),
    })
}

/// Splits a comma- or whitespace-separated list of domains as typed in a form.
pub fn split_domains(input: &str) -> Vec<String> {
    input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What to do about a client id that is not a clean name, in one sentence (the name rules'
/// own messages speak of "a name").
fn client_id_problem(e: crate::domain::text::NameError) -> String {
    use crate::domain::text::NameError;
    match e {
        NameError::Empty => "Enter the client id the identity provider gave you.".into(),
        NameError::TooLong(max) => format!("A client id has at most {max} characters."),
        NameError::ForbiddenCharacter => "A client id cannot contain line breaks, control characters, or invisible or direction-changing characters.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_problems_are_one_sentence_about_the_client_id() {
        for (input, expected) in [
            ("   ", "Enter the client id the identity provider gave you."),
            ("a\nb", "A client id cannot contain line breaks, control characters, or invisible or direction-changing characters."),
        ] {
            let problem = client_id_problem(clean_name(input, 255).unwrap_err());
            assert_eq!(problem, expected);
            assert!(!problem.contains("name"), "{problem}");
        }
        let long = "x".repeat(256);
        assert_eq!(
            client_id_problem(clean_name(&long, 255).unwrap_err()),
            "A client id has at most 255 characters."
        );
    }

    #[test]
    fn domains_split_on_commas_and_spaces() {
        assert_eq!(
            split_domains(" a.com, b.org  c.net,,"),
            vec!["a.com", "b.org", "c.net"]
        );
    }
}
