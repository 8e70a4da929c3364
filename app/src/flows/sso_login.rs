//! Signing in through single sign-on: the email step's decision, starting the OpenID Connect
//! flow, and checking what comes back before anyone is signed in or provisioned.
use crate::domain::email::EmailAddress;
use crate::domain::ids::{self, new_id};
use crate::domain::sso::DomainPolicy;
use crate::flows::FlowError;
use crate::ports::{AuditEvent, SsoConnection, SsoError, StoreError, UserRecord};
use crate::AppState;

/// How long a started SSO sign-in may take before its callback is refused.
pub const FLOW_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// The email step's decision for an address: by the connection claiming its domain.
pub async fn policy_for(
    state: &AppState,
    email: &EmailAddress,
) -> Result<(DomainPolicy, Option<SsoConnection>), FlowError> {
    Ok(match state.store.sso_for_domain(email.domain()).await? {
        None => (DomainPolicy::Unclaimed, None),
        Some(c) if c.enforced => (DomainPolicy::Enforced, Some(c)),
        Some(c) => (DomainPolicy::Offered, Some(c)),
    })
}

/// Why a callback did not sign anyone in; each has its own page text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// No flow in the session, a wrong `state`, a replayed or an expired callback.
    FlowInvalid,
    /// The provider answered with `error=…` (e.g. the person cancelled).
    ProviderRefused,
    Unreachable,
    /// Code exchange or ID token checks failed (signature, audience, nonce, …).
    NotVerified,
    EmailUnverified,
    /// The ID token's email is not on a domain this connection claims.
    WrongDomain,
    /// The connection was deleted meanwhile.
    NoConnection,
}

impl SsoFailure {
    pub fn message(self) -> &'static str {
        match self {
            SsoFailure::FlowInvalid => {
                "This sign-in attempt expired or was already used. Please start again."
            }
            SsoFailure::ProviderRefused => "Your identity provider did not sign you in.",
            SsoFailure::Unreachable => {
                "We could not reach your identity provider. Please try again in a moment."
            }
            SsoFailure::NotVerified => {
                "The answer from your identity provider could not be verified."
            }
            SsoFailure::EmailUnverified => {
                "Your identity provider has not verified your email address."
            }
            SsoFailure::WrongDomain => {
                "Your email address is not on a domain that uses this single sign-on."
            }
            SsoFailure::NoConnection => "Single sign-on is no longer set up for your domain.",
        }
    }
}

impl From<SsoError> for SsoFailure {
    fn from(e: SsoError) -> Self {
        tracing::warn!(error = %e, "SSO callback refused");
        match e {
            SsoError::Unreachable(_) => SsoFailure::Unreachable,
            SsoError::Rejected(_) => SsoFailure::NotVerified,
        }
    }
}

/// Exchanges the code, checks the identity against the connection, and provisions or links
/// the user with a member role. Returns the user and the connection's account.
pub async fn complete(
    state: &AppState,
    connection_id: &str,
    account_id: &str,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
) -> Result<Result<(UserRecord, String), SsoFailure>, FlowError> {
    let Some(connection) = crate::flows::sso::connection(state, account_id, connection_id).await?
    else {
        return Ok(Err(SsoFailure::NoConnection));
    };
    let secret = state
        .sealing
        .open(&connection.client_secret_sealed)
        .map_err(|e| StoreError(e.to_string()))?;
    let redirect = crate::flows::sso::redirect_uri(state);
    let identity = match state
        .oidc
        .finish(
            &connection.issuer,
            &connection.client_id,
            &secret,
            &redirect,
            code,
            pkce_verifier,
            nonce,
        )
        .await
    {
        Ok(identity) => identity,
        Err(e) => return Ok(Err(e.into())),
    };
    if !identity.email_verified {
        return Ok(Err(SsoFailure::EmailUnverified));
    }
    let Some(email) = identity
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
    else {
        return Ok(Err(SsoFailure::EmailUnverified));
    };
    if !connection.domains.iter().any(|d| d == email.domain()) {
        return Ok(Err(SsoFailure::WrongDomain));
    }
    let now = state.clock.now();
    let user = state
        .store
        .provision_sso_user(&email, &new_id(ids::USER), &connection.account_id, now)
        .await?;
    state
        .store
        .record_audit(AuditEvent {
            account_id: Some(connection.account_id.clone()),
            actor_user_id: Some(user.id.clone()),
            action: "sso.sign_in".into(),
            detail: Some(format!("{email} via {}", connection.issuer)),
            at: now,
        })
        .await?;
    Ok(Ok((user, connection.account_id)))
}
