//! The server functions of sign up's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::domain::users::ConfirmOutcome;
use crate::flows::sign_up::{self as sign_up_flow, SignUpResult};
use crate::session::{self, Flash};
use crate::web::forms::{kept, Ctx, Next, DEAD_LINK};

#[server(prefix = "/_fn", endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_up(&ctx, email, Secret::new(password)).await;
    ctx.finish(result, "/sign-up").await
}

/// "Resend the confirmation email": for the address typed on `/resend-confirmation`, or
/// the one this browser just signed up with (the button on "check your email").
#[server(prefix = "/_fn", endpoint = "resend_confirmation")]
pub async fn resend_confirmation(#[server(default)] email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend(&ctx, email).await;
    ctx.finish(result, "/check-email").await
}

#[server(prefix = "/_fn", endpoint = "confirm_email")]
pub async fn confirm_email() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_confirm(&ctx).await;
    ctx.finish(result, "/confirm").await
}

pub async fn handle_sign_up(ctx: &Ctx, email: String, password: Secret) -> Next {
    match sign_up_flow::sign_up(&ctx.state, &email, &password).await? {
        SignUpResult::Invalid(errors) => {
            let flash = Flash::default()
                .field_error("email", errors.email)
                .field_error("password", errors.password)
                .value("email", &kept(&email));
            session::set_flash(&ctx.session, flash).await?;
            Ok("/sign-up".into())
        }
        SignUpResult::Closed => {
            session::set_flash(&ctx.session, Flash::error(sign_up_flow::CLOSED_MESSAGE)).await?;
            Ok("/sign-up".into())
        }
        SignUpResult::CheckEmail(address) => {
            session::set_pending_email(&ctx.session, address.as_str()).await?;
            session::set_last_resend(&ctx.session, ctx.state.clock.now().millis()).await?;
            Ok("/check-email".into())
        }
    }
}

pub async fn handle_resend(ctx: &Ctx, typed: String) -> Next {
    let email = if typed.trim().is_empty() {
        session::pending_email(&ctx.session).await?
    } else {
        match EmailAddress::parse(&typed) {
            Ok(address) => {
                session::set_pending_email(&ctx.session, address.as_str()).await?;
                Some(address.to_string())
            }
            Err(err) => {
                let flash = Flash::default()
                    .field_error("email", Some(err.to_string()))
                    .value("email", &kept(&typed));
                session::set_flash(&ctx.session, flash).await?;
                return Ok("/resend-confirmation".into());
            }
        }
    };
    let Some(email) = email else {
        session::set_flash(&ctx.session, Flash::error("Enter your email to continue.")).await?;
        return Ok("/resend-confirmation".into());
    };
    let now = ctx.state.clock.now();
    let interval = ctx.state.config.mail_interval.as_millis() as i64;
    if let Some(last) = session::last_resend(&ctx.session).await? {
        if now.millis().saturating_sub(last) < interval {
            let flash = Flash::error("We sent an email less than a minute ago. Please wait a minute before asking for another one.");
            session::set_flash(&ctx.session, flash).await?;
            return Ok("/check-email".into());
        }
    }
    session::set_last_resend(&ctx.session, now.millis()).await?;
    if let Ok(address) = EmailAddress::parse(&email) {
        sign_up_flow::resend_confirmation(&ctx.state, &address);
    }
    session::set_flash(
        &ctx.session,
        Flash::notice(format!(
            "If {email} is waiting to be confirmed, we sent it a new link. Earlier links no longer work."
        )),
    )
    .await?;
    Ok("/check-email".into())
}

/// Uses the confirmation link whose token the session holds: creates the account.
pub async fn handle_confirm(ctx: &Ctx) -> Next {
    let outcome = match session::link_token(&ctx.session, TokenPurpose::Confirm).await? {
        Some(hash) => sign_up_flow::confirm(&ctx.state, &hash).await?,
        None => ConfirmOutcome::Dead,
    };
    let flash = match outcome {
        ConfirmOutcome::Dead => {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/confirm".into());
        }
        ConfirmOutcome::Created { .. } => {
            Flash::notice("Your email is confirmed and your account is ready. Sign in to continue.")
        }
        ConfirmOutcome::AlreadyUser => {
            Flash::notice("This email address already has an account. Sign in to continue.")
        }
    };
    session::forget_link_token(&ctx.session, TokenPurpose::Confirm).await?;
    session::set_flash(&ctx.session, flash).await?;
    Ok("/sign-in".into())
}
