//! The passkey ceremonies' JSON endpoints (under `/auth/passkey/…`, not the REST API), called
//! by `public/passkeys.js`: each `…/options` starts a ceremony (its state stays on the server;
//! the browser gets a single-use handle and the options for `navigator.credentials`), each
//! `…/finish` ends it and answers where to go next. Refusals are mapped here, once, to
//! `{"error": message}` (with `"field"` for a form field and `"redirect"` where the browser
//! should go instead, e.g. "Confirm it's you").
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::auth::{self, Device, NewSession, SignInMethod};
use crate::domain::reauth;
use crate::flows::passkeys::{self, CeremonyStart};
use crate::flows::sign_in::IpReservation;
use crate::flows::{Refusal, Stopped};
use crate::paths;
use crate::session::{self, Flash};
use crate::web::device::DeviceCookie;
use crate::web::guards::ClientIp;
use crate::AppState;

type JsonResult = Result<Response, Response>;

/// Whether `path` is one of these endpoints (their refusals stay JSON on the way out).
pub fn is_passkey_path(path: &str) -> bool {
    path.starts_with("/auth/passkey/")
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn broken(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "passkey request failed");
    answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "error": "Something went wrong on our side. Please try again." }),
    )
}

/// The one refusal → JSON mapping of these endpoints.
fn refused(refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::NotAllowed { .. } | Refusal::MissingScope(_) => StatusCode::FORBIDDEN,
        Refusal::NotFound(_) => StatusCode::NOT_FOUND,
        Refusal::Conflict { .. } => StatusCode::CONFLICT,
        Refusal::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Invalid { .. } | Refusal::Unmet { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    let body = match refusal.field() {
        Some(field) => json!({ "error": refusal.message(), "field": field }),
        None => json!({ "error": refusal.message() }),
    };
    answer(status, body)
}

/// A flow's outcome, or the JSON answer for its refusal. A sensitive change with a stale
/// sign-in sends the browser to "Confirm it's you", then back to `back`.
async fn settle<T>(
    session: &Session,
    outcome: Result<T, Stopped>,
    back: &str,
) -> Result<T, Response> {
    match outcome {
        Ok(value) => Ok(value),
        Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
            let back = session::ReauthReturn {
                path: back.to_owned(),
                flash: Flash::notice(crate::web::forms::REAUTHENTICATED),
            };
            session::set_reauth_return(session, back)
                .await
                .map_err(broken)?;
            Err(answer(
                StatusCode::FORBIDDEN,
                json!({ "error": refusal.message(), "redirect": paths::REAUTHENTICATE }),
            ))
        }
        Err(Stopped::Refused(refusal)) => Err(refused(&refusal)),
        Err(Stopped::Broken(e)) => Err(broken(e)),
    }
}

fn started(start: &CeremonyStart) -> Response {
    answer(
        StatusCode::OK,
        json!({ "handle": start.handle.expose(), "options": start.options }),
    )
}

fn go(to: &str) -> Response {
    answer(StatusCode::OK, json!({ "redirect": to }))
}

fn not_signed_in() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({ "error": "Please sign in.", "redirect": paths::SIGN_IN }),
    )
}

fn device(headers: &HeaderMap, ip: Option<Extension<ClientIp>>) -> Device {
    let ip = ip.map(|Extension(ip)| ip.0).unwrap_or_default();
    Device::new(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        &ip,
    )
}

async fn signed(state: &AppState, session: &Session) -> Result<auth::Signed, Response> {
    match auth::signed_in(state, session).await {
        Ok(Some(signed)) => Ok(signed),
        Ok(None) => Err(not_signed_in()),
        Err(e) => Err(broken(e)),
    }
}

#[derive(Deserialize)]
pub struct RegisterOptions {
    #[serde(default)]
    name: String,
}

/// Starts registering a passkey named `name` for the signed-in person.
pub async fn register_options(
    State(state): State<AppState>,
    session: Session,
    Json(body): Json<RegisterOptions>,
) -> JsonResult {
    let signed = signed(&state, &session).await?;
    let outcome = passkeys::begin_registration(&state, &signed, &body.name).await;
    let start = settle(&session, outcome, paths::SECURITY_TWO_FACTOR).await?;
    Ok(started(&start))
}

#[derive(Deserialize)]
pub struct RegisterFinish {
    handle: String,
    credential: RegisterPublicKeyCredential,
}

/// Ends a registration: the passkey is stored; back to the two-factor page with a notice.
pub async fn register_finish(
    State(state): State<AppState>,
    session: Session,
    Json(body): Json<RegisterFinish>,
) -> JsonResult {
    let signed = signed(&state, &session).await?;
    let outcome =
        passkeys::finish_registration(&state, &signed, &body.handle, &body.credential).await;
    let added = settle(&session, outcome, paths::SECURITY_TWO_FACTOR).await?;
    if !added.recovery_codes.is_empty() {
        // The first second factor: its recovery codes, shown once by the next page.
        let text: Vec<&str> = added.recovery_codes.iter().map(|c| c.expose()).collect();
        let joined = crate::domain::secret::Secret::new(text.join("\n"));
        let codes_sealed = state.sealing.seal(&joined).map_err(broken)?;
        let codes = session::CodesToShow {
            user_id: signed.user_id().clone(),
            codes_sealed,
        };
        session::set_codes_to_show(&session, codes)
            .await
            .map_err(broken)?;
        return Ok(go(paths::SECURITY_NEW_RECOVERY_CODES));
    }
    let notice = Flash::notice(format!("Passkey \"{}\" added.", added.passkey.name));
    session::set_flash(&session, notice).await.map_err(broken)?;
    Ok(go(paths::SECURITY_TWO_FACTOR))
}

/// Starts a direct sign-in (the browser offers the passkeys it holds for this site).
pub async fn sign_in_options(State(state): State<AppState>, session: Session) -> JsonResult {
    let start = settle(
        &session,
        passkeys::begin_sign_in(&state).await,
        paths::SIGN_IN,
    )
    .await?;
    Ok(started(&start))
}

#[derive(Deserialize)]
pub struct AssertionFinish {
    handle: String,
    credential: PublicKeyCredential,
}

/// Ends a direct sign-in: a full sign-in (no second step), under a new session id.
pub async fn sign_in_finish(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    reservation: Option<Extension<IpReservation>>,
    device_cookie: Option<Extension<DeviceCookie>>,
    Json(body): Json<AssertionFinish>,
) -> JsonResult {
    let reservation = reservation.map(|Extension(r)| r);
    let outcome =
        passkeys::finish_sign_in(&state, &body.handle, &body.credential, reservation.as_ref())
            .await;
    let signed_in = settle(&session, outcome, paths::SIGN_IN).await?;
    let device =
        device(&headers, ip).with_cookie(device_cookie.map(|Extension(cookie)| cookie.id()));
    let new = NewSession::new(
        signed_in.user_id,
        signed_in.session_epoch,
        SignInMethod::Passkey,
        device,
    );
    let next = auth::start_session(&state, &session, new)
        .await
        .map_err(broken)?;
    Ok(go(&next))
}

async fn due(state: &AppState, session: &Session) -> Result<auth::SecondStepDue, Response> {
    match auth::second_step_due(state, session).await {
        Ok(Some(due)) => Ok(due),
        Ok(None) => Err(answer(
            StatusCode::CONFLICT,
            json!({
                "error": crate::flows::second_factors::SECOND_STEP_EXPIRED,
                "redirect": paths::SIGN_IN,
            }),
        )),
        Err(e) => Err(broken(e)),
    }
}

/// Starts the second step with a passkey, for the password the session checked.
pub async fn second_step_options(State(state): State<AppState>, session: Session) -> JsonResult {
    let due = due(&state, &session).await?;
    let outcome = passkeys::begin_second_step(&state, &due).await;
    let start = settle(&session, outcome, paths::SIGN_IN_SECOND_FACTOR).await?;
    Ok(started(&start))
}

/// Ends the second step with a passkey: the signed-in session starts.
pub async fn second_step_finish(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    device_cookie: Option<Extension<DeviceCookie>>,
    reservation: Option<Extension<IpReservation>>,
    Json(body): Json<AssertionFinish>,
) -> JsonResult {
    let due = due(&state, &session).await?;
    let reservation = reservation.map(|Extension(r)| r);
    let outcome = passkeys::finish_second_step(
        &state,
        &due,
        &body.handle,
        &body.credential,
        reservation.as_ref(),
    )
    .await;
    let done = settle(&session, outcome, paths::SIGN_IN_SECOND_FACTOR).await?;
    let device =
        device(&headers, ip).with_cookie(device_cookie.map(|Extension(cookie)| cookie.id()));
    let new = NewSession::new(
        done.signed_in.user_id,
        done.signed_in.session_epoch,
        SignInMethod::Password,
        device,
    );
    let next = auth::start_session(&state, &session, new)
        .await
        .map_err(broken)?;
    Ok(go(&next))
}

/// Starts "Confirm it's you" with one of the signed-in person's passkeys.
pub async fn reauthenticate_options(State(state): State<AppState>, session: Session) -> JsonResult {
    let signed = signed(&state, &session).await?;
    let outcome = passkeys::begin_reauthentication(&state, &signed).await;
    let start = settle(&session, outcome, paths::REAUTHENTICATE).await?;
    Ok(started(&start))
}

/// Ends "Confirm it's you" with a passkey: the session counts as recently authenticated, and
/// the browser goes back to the form that asked (with what was typed there).
pub async fn reauthenticate_finish(
    State(state): State<AppState>,
    session: Session,
    Json(body): Json<AssertionFinish>,
) -> JsonResult {
    let signed = signed(&state, &session).await?;
    let outcome =
        passkeys::finish_reauthentication(&state, &signed, &body.handle, &body.credential).await;
    settle(&session, outcome, paths::REAUTHENTICATE).await?;
    session::mark_reauthenticated(&session, state.clock.now())
        .await
        .map_err(broken)?;
    let back = crate::web::security::reauth::back_to_the_form(&session)
        .await
        .map_err(broken)?;
    Ok(go(&back))
}
