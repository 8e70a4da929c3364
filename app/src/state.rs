//! The application state shared by every request: the ports, the clock, the password
//! hasher and the settings the web layer needs.
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use tokio_util::task::TaskTracker;

use crate::domain::clock::Clock;
use crate::domain::lockout::{IpThrottlePolicy, LockoutPolicy};
use crate::domain::sso::IssuerPolicy;
use crate::hashing::Passwords;
use crate::ports::{DnsTxt, Mailer, OutgoingEmail, Store};

/// Settings of the web layer, filled from the process configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Absolute base URL without a trailing slash, e.g. `https://hub.example.com`.
    pub public_url: String,
    pub lockout: LockoutPolicy,
    pub ip_throttle: IpThrottlePolicy,
    /// At most one email of a kind per address in this interval.
    pub mail_interval: Duration,
    /// A signed-in session ends this long after sign-in, however active it is.
    pub session_absolute: Duration,
    /// How recent a sign-in (or re-authentication) must be for sensitive changes.
    pub reauth_window: Duration,
    /// Peers whose `X-Forwarded-For` is believed (a load balancer). Empty: use the socket peer.
    pub trusted_proxies: Vec<IpAddr>,
    /// Which networks single sign-on issuers may be on.
    pub issuer_policy: IssuerPolicy,
    /// Invitations an account may send in a day.
    pub invitations_per_day: u32,
    /// Per-client, per-domain and per-person limits on what floods mailboxes.
    pub floods: crate::domain::floods::FloodPolicy,
    /// `Strict-Transport-Security` on every response (the public URL is https).
    pub hsts: bool,
    /// Who may create a user by signing up.
    pub signup: SignUpPolicy,
    /// The plans accounts can be on, and the one new accounts get.
    pub plans: crate::plans::Plans,
}

/// `signup = "open" | "invite_only"`: whether anyone may sign up, or only invitations (and the
/// operator's command line) create users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignUpPolicy {
    #[default]
    Open,
    InviteOnly,
}

impl SignUpPolicy {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "open" => Some(Self::Open),
            "invite_only" | "invite-only" => Some(Self::InviteOnly),
            _ => None,
        }
    }
}

impl WebConfig {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            lockout: LockoutPolicy::default(),
            ip_throttle: IpThrottlePolicy::default(),
            mail_interval: Duration::from_secs(60),
            session_absolute: Duration::from_secs(14 * 24 * 3600),
            reauth_window: crate::domain::reauth::DEFAULT_WINDOW,
            trusted_proxies: Vec::new(),
            issuer_policy: IssuerPolicy::default(),
            invitations_per_day: 50,
            floods: crate::domain::floods::FloodPolicy::default(),
            hsts: false,
            signup: SignUpPolicy::Open,
            plans: crate::plans::Plans::default(),
        }
    }

    /// The origin (`scheme://host[:port]`) of the public URL, compared with `Origin` headers.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => &self.public_url[..after_scheme + slash],
            None => &self.public_url,
        }
    }

    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}

/// Everything a request handler needs, in one shared allocation: axum clones the state
/// several times per request, and a clone is then one reference-count increment instead of
/// one per field (the per-field clones and drops showed up in the API's profile).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    /// Seals secrets that must be read back (SSO client secrets).
    pub sealing: Arc<crate::sealing::SealingKey>,
    pub config: Arc<WebConfig>,
    /// The OpenID Connect relying party used for single sign-on.
    pub oidc: Arc<dyn crate::ports::OidcClient>,
    /// DNS lookups for domain verification.
    pub dns: Arc<dyn DnsTxt>,
    /// Work that runs after the answer was sent (mail, and the part of a flow whose timing
    /// must not depend on whether an account exists). Shutdown waits for it.
    pub background: TaskTracker,
}

impl AppState {
    /// Sends an email in the background: a response never waits for (or reveals, by its
    /// timing) whether a mail was sent. Failures are logged without the message body.
    pub fn send_mail_later(&self, email: OutgoingEmail) {
        let mailer = self.mailer.clone();
        self.background.spawn(async move {
            if let Err(err) = mailer.send(&email).await {
                tracing::error!(subject = %email.subject, error = %err, "email not delivered");
            }
        });
    }

    /// Runs `work` after the answer: for flows whose answer must not depend, even by its
    /// timing, on whether an account exists. A failure is logged with `what`.
    pub fn after_answer<E: std::fmt::Display>(
        &self,
        what: &'static str,
        work: impl Future<Output = Result<(), E>> + Send + 'static,
    ) {
        self.background.spawn(async move {
            if let Err(err) = work.await {
                tracing::error!(error = %err, "{what} failed after the answer was sent");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::WebConfig;

    #[test]
    fn origin_of_public_url() {
        assert_eq!(
            WebConfig::new("http://127.0.0.1:3000/").public_origin(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            WebConfig::new("https://hub.example.com/base").public_origin(),
            "https://hub.example.com"
        );
        assert_eq!(
            WebConfig::new("https://hub.example.com/base").link("/confirm?token=x"),
            "https://hub.example.com/base/confirm?token=x"
        );
    }
}
