//! `/auth/oidc/callback`: where the identity provider sends the browser back. The answer must
//! match the flow this session started (state, then nonce and PKCE in the code exchange); the
//! flow is used once. Every failure is a page with a way back, never a 500.
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use leptos::prelude::*;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::ids::UserId;
use crate::paths;

use crate::auth::{self, Device, NewSession, SignInMethod};
use crate::domain::tokens::TokenPurpose;
use crate::flows::sso_login::{self, Callback, SsoFailure, FLOW_LIFETIME_MS};
use crate::flows::{Refusal, Stopped};
use crate::session::{self, Flash, SsoPurpose};
use crate::web::device::DeviceCookie;
use crate::web::guards::ClientIp;
use crate::web::respond::{see_other, PageError, PageResult};
use crate::web::shell::{render_page, AuthCard};
use crate::web::signed;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn failure_page(failure: impl Into<Refusal>, provider_error: Option<String>) -> Response {
    let refusal: Refusal = failure.into();
    let status = match &refusal {
        Refusal::Unavailable { .. } => StatusCode::BAD_GATEWAY,
        Refusal::NotAllowed { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = refusal.message();
    render_page(status, "Single sign-on", move || {
        view! {
            <AuthCard title="Single sign-on">
                <p role="alert" class="alert">
                    {message.clone()}
                </p>
                {provider_error
                    .clone()
                    .map(|e| view! { <p class="muted">{format!("The provider said: {e}")}</p> })}
                <p>
                    <a href=paths::SIGN_IN>"Back to sign in"</a>
                </p>
            </AuthCard>
        }
    })
}

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    ip: Option<Extension<ClientIp>>,
    device_cookie: Option<Extension<DeviceCookie>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let device = Device::new(user_agent, ip.as_ref().map_or("", |Extension(ip)| &ip.0));
    // Only a sign-in uses (and so sets) the device cookie.
    let signing_in = |device: Device| {
        device.with_cookie(device_cookie.as_ref().map(|Extension(cookie)| cookie.id()))
    };
    // Only the flow whose `state` matches is taken out: a forged or unknown `state` leaves
    // every flow in progress untouched.
    let flow = match q.state.as_deref() {
        Some(s) => session::take_sso_flow(&session, s).await?,
        None => None,
    };
    let Some(flow) = flow else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    let fresh = state.clock.now().millis().saturating_sub(flow.started_at) <= FLOW_LIFETIME_MS;
    if !fresh {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    }
    if let Some(error) = q.error {
        let shown: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Ok(failure_page(SsoFailure::ProviderRefused, Some(shown)));
    }
    let Some(code) = q.code else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    let cb = Callback {
        connection_id: &flow.connection_id,
        account_id: &flow.account_id,
        code: &code,
        pkce_verifier: &flow.pkce_verifier,
        nonce: &flow.nonce,
    };
    match &flow.purpose {
        SsoPurpose::SignIn => sign_in(&state, &session, cb, None, signing_in(device)).await,
        SsoPurpose::AcceptInvitation { token_hash } => {
            let device = signing_in(device);
            sign_in(&state, &session, cb, Some(token_hash), device).await
        }
        SsoPurpose::Test { owner_user_id } => test(&state, &session, owner_user_id, cb).await,
        SsoPurpose::Reauthenticate { user_id } => {
            reauthenticate(&state, &session, user_id, cb).await
        }
    }
}

/// Said when a sign-in that was to accept an invitation signed someone in without it.
const INVITATION_NOT_ACCEPTED: &str = "You are signed in, but the invitation was not accepted: it is for another address, or it is no longer valid. Ask the person who invited you for a new one.";

/// Signs in whoever the provider signed in; with `invitation` (an invitation link's token
/// hash), accepts that invitation and lands in its account.
async fn sign_in(
    state: &AppState,
    session: &Session,
    cb: Callback<'_>,
    invitation: Option<&str>,
    device: Device,
) -> PageResult {
    let signed = match sso_login::complete(state, cb, invitation).await {
        Ok(v) => v,
        Err(Stopped::Refused(refusal)) => return Ok(failure_page(refusal, None)),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    let user = signed.user;
    let (account_id, flash) = match (signed.joined, invitation) {
        (Some(joined), _) => (
            Some(joined.account_id),
            Some(Flash::notice(format!(
                "Welcome to {}.",
                joined.account_name
            ))),
        ),
        (None, invitation) => (
            None,
            invitation.map(|_| Flash::error(INVITATION_NOT_ACCEPTED)),
        ),
    };
    let new = NewSession::new(user.id, user.session_epoch, SignInMethod::Sso, device)
        .in_account(account_id);
    let path = auth::start_session(state, session, new).await?;
    if invitation.is_some() {
        session::forget_link_token(session, TokenPurpose::Invite).await?;
    }
    if let Some(flash) = flash {
        session::set_flash(session, flash).await?;
    }
    Ok(see_other(&path))
}

/// The end of a re-authentication through the provider: the session must still be signed in
/// as the person who started it, and the provider must have signed in their identity.
async fn reauthenticate(
    state: &AppState,
    session: &Session,
    user_id: &UserId,
    cb: Callback<'_>,
) -> PageResult {
    let signed = signed::signed_in(state, session)
        .await?
        .filter(|s| s.user_id() == user_id);
    let Some(signed) = signed else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    match sso_login::complete_reauthentication(state, &signed, cb).await {
        Ok(()) => {}
        Err(Stopped::Refused(refusal)) => return Ok(failure_page(refusal, None)),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    }
    session::mark_reauthenticated(session, state.clock.now()).await?;
    let back = crate::web::security::reauth::back_to_the_form(session).await?;
    Ok(see_other(&back))
}

/// The end of an owner's test sign-in: back to the settings, which may now enforce.
async fn test(
    state: &AppState,
    session: &Session,
    owner_user_id: &UserId,
    cb: Callback<'_>,
) -> PageResult {
    let owner = match signed::member(state, session).await {
        Ok(m) => Some(m.member)
            .filter(|a| a.user_id() == owner_user_id && a.account_id() == cb.account_id)
            .and_then(|a| a.as_owner()),
        Err(PageError::Instead(_)) => None,
        Err(failed) => return Err(failed),
    };
    let Some(owner) = owner else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    let flash = match sso_login::complete_test(state, &owner, cb).await {
        Ok(email) => Flash::notice(format!(
            "Test sign-in succeeded: the provider signed in {email}. You can now enforce single sign-on."
        )),
        Err(Stopped::Refused(refusal)) => {
            Flash::error(format!("The test sign-in failed: {}", refusal.message()))
        }
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    session::set_flash(session, flash).await?;
    Ok(see_other(paths::SSO))
}
