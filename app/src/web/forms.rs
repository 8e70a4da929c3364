//! What every server function shares: the request context it runs in, and its
//! post/redirect/get answer (an infrastructure failure becomes a generic message with the
//! request id on the fallback page).
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Extension;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use crate::paths;

use crate::auth::{self, AdminOf, AuthError, Device, MemberOf, OwnerOf, Signed};
use crate::domain::email::EmailAddress;
use crate::domain::{policy, reauth};
use crate::flows::{FlowError, Refusal, Stopped};
use crate::session::{self, Flash, ReauthReturn};
use crate::web::device::DeviceCookie;
use crate::web::guards::ClientIp;
use crate::AppState;

/// What a person typed is kept for the next page, within reason.
const MAX_KEPT_INPUT: usize = 1024;

pub fn kept(input: &str) -> String {
    input.chars().take(MAX_KEPT_INPUT).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
}

impl From<AuthError> for ActionError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Store(e) => Self::Flow(FlowError::Store(e)),
            AuthError::Session(e) => Self::Session(e),
        }
    }
}

/// What the form says once the person is back from re-authenticating.
pub const REAUTHENTICATED: &str = "Thanks, that's you. Now submit the form again.";

/// The one mapping of a flow's refusal to what the next page shows: a message next to the
/// field it concerns, or at the top.
pub fn refused(refusal: &Refusal) -> Flash {
    if let Some(field) = refusal.field() {
        return Flash::default().field_error(field, Some(refusal.message()));
    }
    match refusal {
        Refusal::NotFound(what) => {
            Flash::error(format!("That {} no longer exists.", what.replace('_', " ")))
        }
        other => Flash::error(other.message()),
    }
}

/// Why a server function goes somewhere other than the page it was heading for: a page chosen
/// on the way (sign-in when signed out, back to the form with a refusal's message), or a
/// failure of the database or the session store. `?` leaves a handler early with either.
#[derive(Debug)]
pub enum Leave {
    To(String),
    Failed(ActionError),
}

impl<E: Into<ActionError>> From<E> for Leave {
    fn from(err: E) -> Self {
        Leave::Failed(err.into())
    }
}

/// Where to go next.
pub type Next = Result<String, Leave>;

/// Shorthand for "go to `path` instead".
pub fn leave<T>(path: impl Into<String>) -> Result<T, Leave> {
    Err(Leave::To(path.into()))
}

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub ip: ClientIp,
    pub request_id: String,
    /// The request's `User-Agent`, for the sessions list.
    pub user_agent: Option<String>,
    /// The browser's device cookie (for the new-device notice).
    pub device_cookie: Option<DeviceCookie>,
}

impl Ctx {
    /// The signed-in person, or `None`.
    pub async fn signed(&self) -> Result<Option<Signed>, ActionError> {
        Ok(auth::signed_in(&self.state, &self.session).await?)
    }

    /// The signed-in person; signed out, to sign in.
    pub async fn signed_or_sign_in(&self) -> Result<Signed, Leave> {
        self.signed()
            .await?
            .map_or_else(|| leave(paths::SIGN_IN), Ok)
    }

    /// The signed-in member in their current account (role read now); instead, sign-in when
    /// signed out, the picker when they are in no account, and the two-factor page when the
    /// account requires a second factor they have not set up.
    pub async fn member(&self) -> Result<MemberOf, Leave> {
        let signed = self.signed_or_sign_in().await?;
        let Some(account_id) = signed.current_account().cloned() else {
            return leave(paths::ACCOUNTS);
        };
        let member = auth::member_of(&self.state, &signed, &account_id)
            .await
            .map_err(FlowError::from)?;
        let Some(member) = member else {
            return leave(paths::ACCOUNTS);
        };
        if auth::second_factor_due_in(&self.state, &signed, &account_id)
            .await
            .map_err(FlowError::from)?
        {
            session::set_flash(&self.session, Flash::error(policy::MESSAGE)).await?;
            return leave(paths::SECURITY_TWO_FACTOR);
        }
        Ok(member)
    }

    /// An owner or admin of the current account; anyone else goes back to `back` with the one
    /// refusal.
    pub async fn admin(&self, back: &str) -> Result<AdminOf, Leave> {
        let member = self.member().await?;
        self.settle(member.admin().map_err(Stopped::from), back)
            .await
    }

    /// An owner of the current account; anyone else goes back to `back` with the one refusal.
    pub async fn owner(&self, back: &str) -> Result<OwnerOf, Leave> {
        let member = self.member().await?;
        self.settle(member.owner().map_err(Stopped::from), back)
            .await
    }

    /// The email typed into a form's `email` field; when it is not an address, back to `back`
    /// with the reason next to the field and what was typed kept.
    pub async fn email_or_back(&self, typed: &str, back: &str) -> Result<EmailAddress, Leave> {
        let parsed = EmailAddress::parse(typed)
            .map_err(|err| Stopped::from(Refusal::invalid("email", err.to_string())));
        self.settle_keeping(parsed, back, &[("email", typed)]).await
    }

    /// A flow's outcome: its value, or back to `back` with the one flash for its refusal (a
    /// failure stays a failure).
    pub async fn settle<T>(&self, outcome: Result<T, Stopped>, back: &str) -> Result<T, Leave> {
        self.settle_keeping(outcome, back, &[]).await
    }

    /// Like [`Ctx::settle`], keeping what was typed into `fields` for the form.
    pub async fn settle_keeping<T>(
        &self,
        outcome: Result<T, Stopped>,
        back: &str,
        fields: &[(&str, &str)],
    ) -> Result<T, Leave> {
        self.settle_keeping_up_to(outcome, back, fields, MAX_KEPT_INPUT)
            .await
    }

    /// Like [`Ctx::settle_keeping`] for a field that holds a document (a record's JSON): kept
    /// whole, up to `max_bytes`, so a refused edit loses nothing.
    pub async fn settle_keeping_text<T>(
        &self,
        outcome: Result<T, Stopped>,
        back: &str,
        field: (&str, &str),
        max_bytes: usize,
    ) -> Result<T, Leave> {
        self.settle_keeping_up_to(outcome, back, &[field], max_bytes)
            .await
    }

    async fn settle_keeping_up_to<T>(
        &self,
        outcome: Result<T, Stopped>,
        back: &str,
        fields: &[(&str, &str)],
        max_chars: usize,
    ) -> Result<T, Leave> {
        let kept = |value: &str| -> String { value.chars().take(max_chars).collect() };
        match outcome {
            Ok(value) => Ok(value),
            Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
                // Prove who you are first, then back to this form with what was typed.
                let flash = fields
                    .iter()
                    .fold(Flash::notice(REAUTHENTICATED), |f, (name, value)| {
                        f.value(name, &kept(value))
                    });
                let back = ReauthReturn {
                    path: back.to_owned(),
                    flash,
                };
                session::set_reauth_return(&self.session, back).await?;
                leave(paths::REAUTHENTICATE)
            }
            Err(Stopped::Refused(refusal)) => {
                let flash = fields.iter().fold(refused(&refusal), |f, (name, value)| {
                    f.value(name, &kept(value))
                });
                session::set_flash(&self.session, flash).await?;
                leave(back)
            }
            Err(Stopped::Broken(err)) => Err(err.into()),
        }
    }

    /// Where a flow that stopped short sends the person: back to `back` with the one flash
    /// for its refusal, or (a failure) to the generic error.
    pub async fn stopped(&self, stopped: Stopped, back: &str) -> Next {
        match self.settle::<()>(Err(stopped), back).await {
            Err(Leave::To(path)) => Ok(path),
            Err(failed) => Err(failed),
            Ok(()) => Ok(back.to_owned()),
        }
    }

    /// The browser this request came from, for a session that starts here (its device
    /// cookie is then set on the answer).
    pub fn device(&self) -> Device {
        Device::new(self.user_agent.as_deref(), &self.ip.0)
            .with_cookie(self.device_cookie.as_ref().map(DeviceCookie::id))
    }

    /// To `to`, with `message` as a notice there.
    pub async fn notice(&self, message: impl Into<String>, to: &str) -> Next {
        session::set_flash(&self.session, Flash::notice(message)).await?;
        Ok(to.to_owned())
    }

    /// To `to`, with `message` as the error there (a dead link, an unreachable provider:
    /// what stopped the step was not a flow's refusal).
    pub async fn error(&self, message: impl Into<String>, to: &str) -> Next {
        session::set_flash(&self.session, Flash::error(message)).await?;
        Ok(to.to_owned())
    }

    pub async fn load() -> Result<Self, ServerFnError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| ServerFnError::new("application state missing"))?;
        let session: Session = leptos_axum::extract().await?;
        let ip = leptos_axum::extract::<Option<Extension<ClientIp>>>()
            .await?
            .map(|Extension(ip)| ip)
            .unwrap_or_else(|| ClientIp("unknown".into()));
        let headers: HeaderMap = leptos_axum::extract().await?;
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let device_cookie = leptos_axum::extract::<Option<Extension<DeviceCookie>>>()
            .await?
            .map(|Extension(cookie)| cookie);
        Ok(Self {
            state,
            session,
            ip,
            request_id,
            user_agent,
            device_cookie,
        })
    }

    /// Answers 303 to the next page; an infrastructure failure becomes a generic message
    /// (with the request id, so support can find the log line) on the fallback page.
    pub async fn finish(&self, next: Next, fallback: &str) -> Result<(), ServerFnError> {
        let target = match next {
            Ok(target) | Err(Leave::To(target)) => target,
            Err(Leave::Failed(err)) => {
                tracing::error!(request_id = %self.request_id, error = %err, "form action failed");
                let flash = Flash::error(format!(
                    "Something went wrong on our side. Please try again. (Request id: {})",
                    self.request_id
                ));
                if let Err(e) = session::set_flash(&self.session, flash).await {
                    tracing::error!(error = %e, "could not store the error message");
                }
                fallback.to_owned()
            }
        };
        let options = expect_context::<ResponseOptions>();
        options.set_status(StatusCode::SEE_OTHER);
        if let Ok(location) = HeaderValue::from_str(&target) {
            options.insert_header(header::LOCATION, location);
        }
        Ok(())
    }
}

pub use crate::flows::recovery::DEAD_LINK;
