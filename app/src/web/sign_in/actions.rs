//! The server functions of sign in's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use axum::Extension;
use leptos::prelude::*;

use crate::domain::ids::UserId;
use crate::paths;

use crate::auth::{self, NewSession, Notice, SignInMethod};
use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::flows::second_factors::{self, CodeInput, Proof};
use crate::flows::sign_in::{self, EmailStep, IpReservation, PasswordChecked};
use crate::session::{self, SsoPurpose};
use crate::web::forms::{kept, Ctx, Next};
use crate::web::sso::actions::begin_sso;

#[server(prefix = "/_fn", endpoint = "sign_in_email")]
pub async fn sign_in_email(email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_in_email(&ctx, email).await;
    ctx.finish(result, paths::SIGN_IN).await
}

/// "Continue with SSO" on the password step of a claimed (not enforced) domain.
#[server(prefix = "/_fn", endpoint = "start_sso")]
pub async fn start_sso() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_start_sso(&ctx).await;
    ctx.finish(result, paths::SIGN_IN).await
}

#[server(prefix = "/_fn", endpoint = "sign_in_password")]
pub async fn sign_in_password(email: String, password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_in_password(&ctx, email, Secret::new(password)).await;
    ctx.finish(result, paths::SIGN_IN_PASSWORD).await
}

/// The second step with a code from the authenticator app.
#[server(prefix = "/_fn", endpoint = "sign_in_code")]
pub async fn sign_in_code(code: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_second_step(&ctx, CodeInput::Totp(&code)).await;
    ctx.finish(result, paths::SIGN_IN_SECOND_FACTOR).await
}

/// The second step with a recovery code.
#[server(prefix = "/_fn", endpoint = "sign_in_recovery_code")]
pub async fn sign_in_recovery_code(recovery_code: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_second_step(&ctx, CodeInput::Recovery(&recovery_code)).await;
    ctx.finish(result, paths::SIGN_IN_SECOND_FACTOR).await
}

#[server(prefix = "/_fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_out(&ctx).await;
    ctx.finish(result, paths::SIGN_IN).await
}

pub async fn handle_sign_in_email(ctx: &Ctx, email: String) -> Next {
    let address = ctx.email_or_back(&email, paths::SIGN_IN).await?;
    session::set_sign_in_email(&ctx.session, address.as_str()).await?;
    match sign_in::decide_email_step(&ctx.state, &address).await? {
        EmailStep::Password | EmailStep::PasswordOrSso(_) => Ok(paths::SIGN_IN_PASSWORD.into()),
        EmailStep::Sso(connection) => {
            begin_sso(
                ctx,
                &connection,
                address.as_str(),
                SsoPurpose::SignIn,
                paths::SIGN_IN,
            )
            .await
        }
    }
}

pub async fn handle_start_sso(ctx: &Ctx) -> Next {
    let email = session::sign_in_email(&ctx.session).await?;
    let Some(address) = email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else {
        return Ok(paths::SIGN_IN.into());
    };
    match sign_in::decide_email_step(&ctx.state, &address).await? {
        EmailStep::PasswordOrSso(connection) | EmailStep::Sso(connection) => {
            begin_sso(
                ctx,
                &connection,
                address.as_str(),
                SsoPurpose::SignIn,
                paths::SIGN_IN,
            )
            .await
        }
        EmailStep::Password => Ok(paths::SIGN_IN_PASSWORD.into()),
    }
}

/// The attempt the per-IP gate in front of this server function counted, if any.
async fn ip_reservation() -> Option<IpReservation> {
    leptos_axum::extract::<Option<Extension<IpReservation>>>()
        .await
        .ok()
        .flatten()
        .map(|Extension(r)| r)
}

pub async fn handle_sign_in_password(ctx: &Ctx, email: String, password: Secret) -> Next {
    let reservation = ip_reservation().await;
    // Kept for the password step whatever happens (a success starts a new session anyway).
    session::set_sign_in_email(&ctx.session, &kept(email.trim())).await?;
    let outcome =
        sign_in::sign_in_with_password(&ctx.state, &email, &password, &ctx.ip.0, reservation).await;
    match ctx.settle(outcome, paths::SIGN_IN_PASSWORD).await? {
        PasswordChecked::SignedIn(signed_in) => {
            start_password_session(ctx, signed_in.user_id, signed_in.session_epoch).await
        }
        PasswordChecked::SecondStepDue(checked) => {
            let pending = session::SecondStepState {
                user_id: checked.user_id,
                epoch: checked.session_epoch,
                started_at: ctx.state.clock.now().millis(),
            };
            session::begin_second_step(&ctx.session, pending).await?;
            Ok(paths::SIGN_IN_SECOND_FACTOR.into())
        }
    }
}

/// The second step: a code (from the app, or a recovery code) for the password the session
/// checked; only then does the signed-in session start. Which field a failure belongs to is
/// the form it came from; the message is the one message.
pub async fn handle_second_step(ctx: &Ctx, input: CodeInput<'_>) -> Next {
    let Some(due) = auth::second_step_due(&ctx.state, &ctx.session).await? else {
        return ctx
            .error(second_factors::SECOND_STEP_EXPIRED, paths::SIGN_IN)
            .await;
    };
    let field = match input {
        CodeInput::Recovery(_) => "recovery_code",
        _ => "code",
    };
    let reservation = ip_reservation().await;
    let outcome = second_factors::second_step(&ctx.state, &due, input, reservation.as_ref()).await;
    let done = match outcome {
        Ok(done) => done,
        Err(crate::flows::Stopped::Refused(refusal)) if refusal.field().is_none() => {
            if matches!(
                refusal,
                crate::flows::Refusal::Conflict {
                    code: "second_step_expired",
                    ..
                }
            ) {
                session::end_second_step(&ctx.session).await?;
                return ctx.error(refusal.message(), paths::SIGN_IN).await;
            }
            let flash =
                crate::session::Flash::default().field_error(field, Some(refusal.message()));
            session::set_flash(&ctx.session, flash).await?;
            return Ok(paths::SIGN_IN_SECOND_FACTOR.into());
        }
        Err(stopped) => return ctx.stopped(stopped, paths::SIGN_IN_SECOND_FACTOR).await,
    };
    let next =
        start_password_session(ctx, done.signed_in.user_id, done.signed_in.session_epoch).await?;
    match done.proof {
        Proof::RecoveryCode { left } => {
            let message = match left {
                0 => "You used your last recovery code. Make new ones on your Security page now."
                    .to_owned(),
                1 => "You used a recovery code: 1 is left. Make new ones on your Security page."
                    .to_owned(),
                n => format!("You used a recovery code: {n} are left."),
            };
            ctx.notice(message, &next).await
        }
        Proof::Totp | Proof::Passkey => Ok(next),
    }
}

/// Starts a password session for a user whose password was just checked, and answers the
/// page to go to (a device not seen before for them mails a notice).
pub async fn start_password_session(ctx: &Ctx, user_id: UserId, session_epoch: i64) -> Next {
    password_session(ctx, user_id, session_epoch, Notice::Send).await
}

/// Starts the first session of a person who just chose their password (sign-up's
/// confirmation page): the device is recorded, nobody is told.
pub async fn start_first_password_session(ctx: &Ctx, user_id: UserId, session_epoch: i64) -> Next {
    password_session(ctx, user_id, session_epoch, Notice::RecordOnly).await
}

async fn password_session(ctx: &Ctx, user_id: UserId, session_epoch: i64, notice: Notice) -> Next {
    let new = NewSession::new(user_id, session_epoch, SignInMethod::Password, ctx.device())
        .with_notice(notice);
    Ok(auth::start_session(&ctx.state, &ctx.session, new).await?)
}

pub async fn handle_sign_out(ctx: &Ctx) -> Next {
    session::sign_out(&ctx.session).await?;
    ctx.notice("You have signed out.", paths::SIGN_IN).await
}
