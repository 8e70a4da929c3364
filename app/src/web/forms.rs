//! What every server function shares: the request context it runs in, and its
//! post/redirect/get answer (an infrastructure failure becomes a generic message with the
//! request id on the fallback page).
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Extension;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use crate::auth::{self, AdminOf, AuthError, MemberOf, OwnerOf, Signed};
use crate::domain::email::EmailAddress;
use crate::flows::{FlowError, Refusal, Stopped};
use crate::session::{self, Flash};
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

/// Where to go next.
pub type Next = Result<String, ActionError>;

pub struct Ctx {
    pub state: AppState,
    pub session: Session,
    pub ip: ClientIp,
    pub request_id: String,
}

impl Ctx {
    /// The signed-in person, or `None` (the caller sends them to sign in).
    pub async fn signed(&self) -> Result<Option<Signed>, ActionError> {
        Ok(auth::signed_in(&self.state, &self.session).await?)
    }

    /// The signed-in member in their current account (role read now), or the page to go to
    /// instead: sign-in when signed out, the picker when they are in no account.
    pub async fn member(&self) -> Result<Result<MemberOf, String>, ActionError> {
        let Some(signed) = self.signed().await? else {
            return Ok(Err("/sign-in".into()));
        };
        let Some(account_id) = signed.current_account().map(str::to_owned) else {
            return Ok(Err("/accounts".into()));
        };
        let member = auth::member_of(&self.state, &signed, &account_id)
            .await
            .map_err(FlowError::from)?;
        Ok(member.ok_or_else(|| "/accounts".to_owned()))
    }

    /// An owner or admin of the current account, or the page to go to instead (`back`, with
    /// `refused` as the message, for a member whose role does not allow it).
    pub async fn admin(
        &self,
        back: &str,
        refused: &str,
    ) -> Result<Result<AdminOf, String>, ActionError> {
        let member = match self.member().await? {
            Ok(m) => m,
            Err(path) => return Ok(Err(path)),
        };
        match member.as_admin() {
            Some(admin) => Ok(Ok(admin)),
            None => {
                session::set_flash(&self.session, Flash::error(refused)).await?;
                Ok(Err(back.to_owned()))
            }
        }
    }

    /// An owner of the current account, or the page to go to instead (`back`, with a message
    /// for a member who is not an owner).
    pub async fn owner(&self, back: &str) -> Result<Result<OwnerOf, String>, ActionError> {
        let member = match self.member().await? {
            Ok(m) => m,
            Err(path) => return Ok(Err(path)),
        };
        match member.as_owner() {
            Some(owner) => Ok(Ok(owner)),
            None => {
                let flash = Flash::error("Only owners of this account can do that.");
                session::set_flash(&self.session, flash).await?;
                Ok(Err(back.to_owned()))
            }
        }
    }

    /// The email typed into a form's `email` field, or (when it is not an address) the page to
    /// go back to, with the reason next to the field and what was typed kept.
    pub async fn email_or_back(
        &self,
        typed: &str,
        back: &str,
    ) -> Result<Result<EmailAddress, String>, ActionError> {
        match EmailAddress::parse(typed) {
            Ok(address) => Ok(Ok(address)),
            Err(err) => {
                let flash = Flash::default()
                    .field_error("email", Some(err.to_string()))
                    .value("email", &kept(typed));
                session::set_flash(&self.session, flash).await?;
                Ok(Err(back.to_owned()))
            }
        }
    }

    /// Where a flow that stopped short sends the person: back to `back` with the one flash
    /// for its refusal, or (a failure) to the generic error.
    pub async fn stopped(&self, stopped: Stopped, back: &str) -> Next {
        match stopped {
            Stopped::Refused(refusal) => {
                session::set_flash(&self.session, refused(&refusal)).await?;
                Ok(back.to_owned())
            }
            Stopped::Broken(err) => Err(err.into()),
        }
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
        Ok(Self {
            state,
            session,
            ip,
            request_id,
        })
    }

    /// Answers 303 to the next page; an infrastructure failure becomes a generic message
    /// (with the request id, so support can find the log line) on the fallback page.
    pub async fn finish(&self, next: Next, fallback: &str) -> Result<(), ServerFnError> {
        let target = match next {
            Ok(target) => target,
            Err(err) => {
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

pub const DEAD_LINK: &str = "This link is invalid, has expired or was already used.";
pub const DEAD_RESET_LINK: &str =
    "This reset link is invalid, has expired or was already used. Ask for a new one below.";
