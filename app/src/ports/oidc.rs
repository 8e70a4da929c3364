//! The OpenID Connect relying party single sign-on needs.
use async_trait::async_trait;

/// The start of an OpenID Connect sign-in: where to send the browser, and what to keep in
/// the session to check the answer (never shown to anyone).
pub struct SsoStart {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// Discovery or the token endpoint could not be reached or made no sense. The message is
    /// written by the adapter and safe to show an owner: it never carries fetched content.
    #[error("identity provider unreachable: {0}")]
    Unreachable(String),
    /// The issuer's host resolves to an address single sign-on may not use.
    #[error("the issuer resolves to a loopback, private or reserved address")]
    ForbiddenAddress,
    /// The code exchange or the ID token checks (signature, issuer, audience, expiry, nonce) failed.
    #[error("sign-in could not be verified: {0}")]
    Rejected(String),
}

/// An OpenID Connect relying party (authorization code flow with PKCE, state and nonce).
#[async_trait]
pub trait OidcClient: Send + Sync + 'static {
    /// Fetches the discovery document (and keys); `Ok` names the authorization endpoint.
    async fn check(&self, issuer: &str) -> Result<String, SsoError>;
    async fn start(
        &self,
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<SsoStart, SsoError>;
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        issuer: &str,
        client_id: &str,
        client_secret: &crate::domain::secret::Secret,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SsoIdentity, SsoError>;
}
