//! The [`app::ports::OidcClient`] adapter: OpenID Connect with the `openidconnect` crate
//! (discovery, authorization code flow with PKCE S256, `state` and `nonce`, ID token checks of
//! signature, issuer, audience, expiry and nonce).
use std::time::Duration;

use app::domain::secret::Secret;
use app::ports::{OidcClient, SsoError, SsoIdentity, SsoStart};
use async_trait::async_trait;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};

pub struct OpenIdConnect {
    http: openidconnect::reqwest::Client,
}

impl OpenIdConnect {
    pub fn new() -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // The token endpoint must answer directly: following redirects there invites SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http })
    }

    async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, SsoError> {
        let issuer =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| SsoError::Unreachable(e.to_string()))?;
        CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SsoError::Unreachable(format!("discovery failed: {e}")))
    }
}

fn redirect(uri: &str) -> Result<RedirectUrl, SsoError> {
    RedirectUrl::new(uri.to_owned()).map_err(|e| SsoError::Unreachable(e.to_string()))
}

#[async_trait]
impl OidcClient for OpenIdConnect {
    async fn check(&self, issuer: &str) -> Result<String, SsoError> {
        let metadata = self.metadata(issuer).await?;
        Ok(metadata.authorization_endpoint().url().to_string())
    }

    async fn start(
        &self,
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<SsoStart, SsoError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata(issuer).await?,
            ClientId::new(client_id.to_owned()),
            None,
        )
        .set_redirect_uri(redirect(redirect_uri)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("login_hint", login_hint.to_owned())
            .url();
        Ok(SsoStart {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn finish(
        &self,
        issuer: &str,
        client_id: &str,
        client_secret: &Secret,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SsoIdentity, SsoError> {
        let client = CoreClient::from_provider_metadata(
            self.metadata(issuer).await?,
            ClientId::new(client_id.to_owned()),
            Some(ClientSecret::new(client_secret.expose().to_owned())),
        )
        .set_redirect_uri(redirect(redirect_uri)?);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Unreachable(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::Rejected(format!("code exchange failed: {e}")))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| SsoError::Rejected("the provider sent no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| SsoError::Rejected(format!("ID token: {e}")))?;
        Ok(SsoIdentity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
        })
    }
}
