//! Starting a signed-in session, the one way every sign-in does it (a password, a password
//! chosen behind a link, an invitation, single sign-on): a new session id, the account the
//! person lands in, and the page they go to.
use tower_sessions::Session;

use super::AuthError;
use crate::domain::ids::{AccountId, UserId};
use crate::flows::notices;
pub use crate::flows::notices::Notice;
use crate::paths;
use crate::session::{self, AuthState};
use crate::AppState;

/// How a session started (shown on the sessions list; enforced single sign-on ends only
/// password sessions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    Sso,
    Passkey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Sso => "sso",
            SignInMethod::Passkey => "passkey",
        }
    }
}

/// Where a person lands after signing in: the one account they belong to, or (with several,
/// or none) the account picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    Account(AccountId),
    Picker,
}

impl Landing {
    pub fn path(&self) -> &'static str {
        match self {
            Landing::Account(_) => paths::HOME,
            Landing::Picker => paths::ACCOUNTS,
        }
    }

    /// The account the session starts in.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Landing::Account(id) => Some(id.clone()),
            Landing::Picker => None,
        }
    }
}

/// The landing rule after any sign-in.
pub async fn landing(state: &AppState, user_id: &UserId) -> Result<Landing, AuthError> {
    let memberships = state.store.memberships(user_id).await?;
    Ok(match memberships.as_slice() {
        [one] => Landing::Account(one.account_id.clone()),
        _ => Landing::Picker,
    })
}

/// Who is signing in, and how.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    /// The user's session epoch now (a reset bumps it and ends this session).
    pub epoch: i64,
    pub method: SignInMethod,
    /// The account to start in (one just joined); `None`: by the landing rule.
    pub account_id: Option<AccountId>,
    /// Where the sign-in came from, for the person's sessions list.
    pub device: Device,
    /// Whether a device not seen before for this person mails them a notice (not for the
    /// very first sign-in of a new person).
    pub notice: Notice,
}

/// The browser a session starts in: its user agent (as kept: see
/// [`crate::domain::sessions::kept_user_agent`]) and the client's IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The browser's device cookie (see `web::device`), when the surface has one.
    pub cookie: Option<String>,
}

impl Device {
    pub fn new(user_agent: Option<&str>, ip: &str) -> Self {
        Self {
            user_agent: user_agent.and_then(crate::domain::sessions::kept_user_agent),
            ip: (!ip.is_empty() && ip != "unknown").then(|| ip.to_owned()),
            cookie: None,
        }
    }

    /// The same device, known by its device cookie's id.
    pub fn with_cookie(self, cookie: Option<String>) -> Self {
        Self { cookie, ..self }
    }
}

/// Starts a signed-in session under a new id (no session fixation) and answers the page to
/// go to: where a page asked to return to, else the landing page.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    new: NewSession,
) -> Result<String, AuthError> {
    let (account_id, path) = match new.account_id {
        Some(account_id) => (Some(account_id), paths::HOME),
        None => {
            let landing = landing(state, &new.user_id).await?;
            (landing.account(), landing.path())
        }
    };
    if let Some(cookie) = new.device.cookie.as_deref() {
        // The sign-in stands whatever happens to its notice: a failure is logged.
        let seen =
            notices::signed_in_from(state, &new.user_id, cookie, &new.device, new.notice).await;
        if let Err(err) = seen {
            tracing::error!(error = %err, "recording the sign-in's device failed");
        }
    }
    let auth = AuthState {
        user_id: new.user_id,
        account_id,
        epoch: new.epoch,
        signed_in_at: state.clock.now().millis(),
        method: Some(new.method.as_str().into()),
        user_agent: new.device.user_agent,
        ip: new.device.ip,
        reauthenticated_at: None,
    };
    session::sign_in(session, auth).await?;
    Ok(session::take_return_to(session)
        .await?
        .unwrap_or_else(|| path.to_owned()))
}
