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

/// Who is signing in, and how. Fields private: made by [`NewSession::new`] where a sign-in
/// flow has just proved who the person is, and read only by [`start_session`].
#[derive(Debug, Clone)]
pub struct NewSession {
    user_id: UserId,
    /// The user's session epoch now (a reset bumps it and ends this session).
    epoch: i64,
    method: SignInMethod,
    /// The account to start in (one just joined); `None`: by the landing rule.
    account_id: Option<AccountId>,
    /// Where the sign-in came from, for the person's sessions list.
    device: Device,
    /// Whether a device not seen before for this person mails them a notice (not for the
    /// very first sign-in of a new person).
    notice: Notice,
}

impl NewSession {
    /// A sign-in of `user_id` at session `epoch`, by `method`, from `device`: it lands by the
    /// landing rule and a device not seen before is noticed.
    pub fn new(user_id: UserId, epoch: i64, method: SignInMethod, device: Device) -> Self {
        Self {
            user_id,
            epoch,
            method,
            account_id: None,
            device,
            notice: Notice::Send,
        }
    }

    /// Starts in `account_id` (one just joined) instead of by the landing rule.
    pub fn in_account(self, account_id: Option<AccountId>) -> Self {
        Self { account_id, ..self }
    }

    /// What a device not seen before does (see [`Notice`]).
    pub fn with_notice(self, notice: Notice) -> Self {
        Self { notice, ..self }
    }
}

/// The browser a session starts in: its user agent (as kept: see
/// [`crate::domain::sessions::kept_user_agent`]) and the client's IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    user_agent: Option<String>,
    ip: Option<String>,
    /// The browser's device cookie (see `web::device`), when the surface has one.
    cookie: Option<String>,
}

impl Device {
    pub fn new(user_agent: Option<&str>, ip: &str) -> Self {
        Self {
            user_agent: user_agent.and_then(crate::domain::sessions::kept_user_agent),
            ip: (!ip.is_empty() && ip != "unknown").then(|| ip.to_owned()),
            cookie: None,
        }
    }

    /// Its user agent, as kept.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The client's IP, when known.
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The same device, known by its device cookie's id.
    pub fn with_cookie(self, cookie: Option<String>) -> Self {
        Self { cookie, ..self }
    }
}

/// What a person the operator disabled reads instead of being signed in.
pub const DISABLED: &str =
    "This user is disabled: signing in is not possible. Ask the hub's operator.";

/// Starts a signed-in session under a new id (no session fixation) and answers the page to
/// go to: where a page asked to return to, else the landing page. A user the operator
/// disabled (`terminus-hub admin user disable`) gets no session, whichever way they proved
/// who they are: back to the sign-in page with [`DISABLED`].
pub async fn start_session(
    state: &AppState,
    session: &Session,
    new: NewSession,
) -> Result<String, AuthError> {
    if state.store.user_disabled_at(&new.user_id).await?.is_some() {
        tracing::warn!(event = "sign_in.disabled", user_id = %new.user_id, "a disabled user proved who they are: no session");
        session::set_flash(session, session::Flash::error(DISABLED)).await?;
        return Ok(paths::SIGN_IN.to_owned());
    }
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
    let method = match new.method {
        SignInMethod::Password => "a password",
        SignInMethod::Sso => "single sign-on",
        SignInMethod::Passkey => "a passkey",
    };
    let device = new
        .device
        .user_agent
        .as_deref()
        .map(crate::domain::sessions::device_label)
        .unwrap_or_default();
    let ip = new.device.ip.clone().unwrap_or_default();
    // Written before the session starts (a success has no timing to hide): the log shows
    // the sign-in as soon as the signed-in page does.
    crate::flows::sign_in_log::record_now(
        state,
        &new.user_id,
        "sign_in.succeeded",
        crate::flows::sign_in_log::how_and_where(method, &ip, &device),
    )
    .await;
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
