//! The [`app::ports::OidcClient`] adapter: OpenID Connect with the `openidconnect` crate
//! (discovery, authorization code flow with PKCE S256, `state` and `nonce`, ID token checks of
//! signature, issuer, audience, expiry and nonce).
//!
//! Every request it makes goes through one guard: the URL's scheme and any IP-literal host
//! are checked against the issuer policy, and host names are resolved by a resolver that
//! drops every address the policy forbids, at connection time (no DNS rebinding). Errors
//! shown to an owner are fixed sentences: never anything the other side sent.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use app::domain::secret::Secret;
use app::domain::sso::{classify, AddressClass, IssuerPolicy};
use app::ports::{OidcClient, SsoError, SsoIdentity, SsoStart};
use async_trait::async_trait;

use crate::dns::HickoryDns;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::reqwest;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, DiscoveryError, HttpRequest,
    HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};

/// Discovery documents, keys and token answers are small; more is refused.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

pub struct OpenIdConnect {
    http: GuardedHttp,
}

/// The HTTP client every OpenID request goes through (see the module's doc).
#[derive(Clone)]
struct GuardedHttp {
    client: reqwest::Client,
    policy: IssuerPolicy,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for GuardedHttp {
    type Error = FetchError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, FetchError>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// Why the guard refused or a request failed (logged; owners see fixed sentences).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the address is on a network single sign-on may not use")]
    Forbidden,
    #[error("plain http is only allowed on loopback")]
    NotHttps,
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("invalid request or response: {0}")]
    Http(#[from] openidconnect::http::Error),
}

/// Resolves host names (through the hub's nameservers) and keeps only the addresses the
/// policy allows: checked at connection time, so a name cannot pass the check and then
/// rebind to a forbidden address.
struct PolicyResolver {
    policy: IssuerPolicy,
    dns: Arc<HickoryDns>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let dns = self.dns.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = dns.ips(&host).await?;
            if found.is_empty() {
                return Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host} has no address"),
                ))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| policy.allows_address(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                return Err(
                    Box::new(FetchError::Forbidden) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A transport error whose cause is the resolver's refusal becomes that refusal.
fn refused_or(e: reqwest::Error) -> FetchError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(c) = cause {
        if matches!(c.downcast_ref::<FetchError>(), Some(FetchError::Forbidden)) {
            return FetchError::Forbidden;
        }
        cause = c.source();
    }
    FetchError::Transport(e)
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => classify(ip) == AddressClass::Loopback,
        Err(_) => bare == "localhost" || bare.ends_with(".localhost"),
    }
}

impl OpenIdConnect {
    pub fn new(policy: IssuerPolicy, dns: Arc<HickoryDns>) -> anyhow::Result<Self> {
        let client = reqwest::ClientBuilder::new()
            // The token endpoint must answer directly: following redirects there invites SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(PolicyResolver { policy, dns }))
            .build()?;
        Ok(Self {
            http: GuardedHttp { client, policy },
        })
    }

    async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, SsoError> {
        let issuer = IssuerUrl::new(issuer.to_owned())
            .map_err(|_| SsoError::Unreachable("the issuer URL is not valid".into()))?;
        CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "OIDC discovery failed");
                discovery_problem(&e)
            })
    }
}

impl GuardedHttp {
    /// The one way out: checks the URL against the policy, sends, and reads a bounded body.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().to_owned();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if !self.policy.allows_address(ip) {
                return Err(FetchError::Forbidden);
            }
        }
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.policy.allow_loopback && is_loopback_host(&host) => {}
            _ => return Err(FetchError::NotHttps),
        }
        let request = reqwest::Request::try_from(request)?;
        let mut response = self.client.execute(request).await.map_err(refused_or)?;
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(builder.body(body)?)
    }
}

/// A fixed sentence for each way discovery fails: what the other side sent stays out of it.
fn discovery_problem(e: &DiscoveryError<FetchError>) -> SsoError {
    let reason = match e {
        DiscoveryError::Request(FetchError::Forbidden) => return SsoError::ForbiddenAddress,
        DiscoveryError::Request(FetchError::NotHttps) => {
            "its discovery document or keys are not served over https".to_owned()
        }
        DiscoveryError::Request(FetchError::TooLarge) => {
            "it answered with more data than a discovery document holds".to_owned()
        }
        DiscoveryError::Request(_) => "it could not be reached".to_owned(),
        DiscoveryError::Response(status, _, _) => format!(
            "its discovery document or keys answered HTTP {}",
            status.as_u16()
        ),
        DiscoveryError::Parse(_) => {
            "its /.well-known/openid-configuration is not an OpenID discovery document".to_owned()
        }
        DiscoveryError::Validation(_) => {
            "its discovery document does not match the issuer URL (check for a missing or extra path)"
                .to_owned()
        }
        DiscoveryError::UrlParse(_) | DiscoveryError::Other(_) => {
            "its discovery document could not be used".to_owned()
        }
        _ => "its discovery document could not be used".to_owned(),
    };
    SsoError::Unreachable(reason)
}

fn redirect(uri: &str) -> Result<RedirectUrl, SsoError> {
    RedirectUrl::new(uri.to_owned())
        .map_err(|_| SsoError::Unreachable("the redirect URI is not valid".into()))
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
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if !login_hint.is_empty() {
            request = request.add_extra_param("login_hint", login_hint.to_owned());
        }
        let (url, state, nonce) = request.url();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("127.0.0.1.evil.test"));
        assert!(!is_loopback_host("localhost.evil.test"));
    }
}
