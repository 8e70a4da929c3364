//! The server functions of sign up's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::paths;

use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::sign_up::{self as sign_up_flow, Confirmed};
use crate::flows::{Refusal, Stopped};
use crate::session;
use crate::web::forms::{kept, refused, Ctx, Next};
use crate::web::sign_in::actions::start_first_password_session;

#[server(prefix = "/_fn", endpoint = "sign_up")]
pub async fn sign_up(#[server(default)] email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_sign_up(&ctx, email).await;
    ctx.finish(result, paths::SIGN_UP).await
}

/// "Resend the confirmation email": for the address typed on `/resend-confirmation`, or
/// the one this browser just signed up with (the button on "check your email").
#[server(prefix = "/_fn", endpoint = "resend_confirmation")]
pub async fn resend_confirmation(#[server(default)] email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend(&ctx, email).await;
    ctx.finish(result, paths::CHECK_EMAIL).await
}

/// The form behind the confirmation link: the password its opener chooses.
#[server(prefix = "/_fn", endpoint = "confirm_email")]
pub async fn confirm_email(#[server(default)] password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_confirm(&ctx, Secret::new(password)).await;
    ctx.finish(result, paths::CONFIRM).await
}

pub async fn handle_sign_up(ctx: &Ctx, email: String) -> Next {
    match sign_up_flow::sign_up(&ctx.state, &email).await {
        Ok(address) => {
            session::set_pending_email(&ctx.session, address.as_str()).await?;
            session::set_last_resend(&ctx.session, ctx.state.clock.now().millis()).await?;
            Ok(paths::CHECK_EMAIL.into())
        }
        Err(Stopped::Refused(refusal)) => {
            let flash = refused(&refusal).value("email", &kept(&email));
            session::set_flash(&ctx.session, flash).await?;
            Ok(paths::SIGN_UP.into())
        }
        Err(Stopped::Broken(err)) => Err(err.into()),
    }
}

pub async fn handle_resend(ctx: &Ctx, typed: String) -> Next {
    let back = paths::RESEND_CONFIRMATION;
    let address = if typed.trim().is_empty() {
        // The button on "check your email": the address this browser just signed up with.
        let remembered = session::pending_email(&ctx.session).await?;
        match remembered.and_then(|e| EmailAddress::parse(&e).ok()) {
            Some(address) => address,
            None => {
                let missing = Refusal::invalid("email", "Enter your email to continue.");
                return ctx.stopped(missing.into(), back).await;
            }
        }
    } else {
        let address = ctx.email_or_back(&typed, back).await?;
        session::set_pending_email(&ctx.session, address.as_str()).await?;
        address
    };
    let last = session::last_resend(&ctx.session).await?.map(Timestamp);
    let asked = sign_up_flow::resend_confirmation(&ctx.state, &address, last);
    ctx.settle(asked, paths::CHECK_EMAIL).await?;
    session::set_last_resend(&ctx.session, ctx.state.clock.now().millis()).await?;
    ctx.notice(
        format!("If {address} is waiting to be confirmed, we sent it a new link. Earlier links no longer work."),
        paths::CHECK_EMAIL,
    )
    .await
}

/// Uses the confirmation link whose token the session holds, with the password typed on its
/// page: creates the account and signs its owner in.
pub async fn handle_confirm(ctx: &Ctx, password: Secret) -> Next {
    let Some(hash) = session::link_token(&ctx.session, TokenPurpose::Confirm).await? else {
        return ctx
            .error(sign_up_flow::DEAD_CONFIRMATION, paths::CONFIRM)
            .await;
    };
    let confirmed = match sign_up_flow::confirm(&ctx.state, &hash, &password).await {
        Ok(confirmed) => confirmed,
        Err(stopped) => return ctx.stopped(stopped, paths::CONFIRM).await,
    };
    session::forget_link_token(&ctx.session, TokenPurpose::Confirm).await?;
    match confirmed {
        Confirmed::SignedIn {
            user_id,
            session_epoch,
        } => {
            let next = start_first_password_session(ctx, user_id, session_epoch).await?;
            ctx.notice("Your email is confirmed and your account is ready.", &next)
                .await
        }
        Confirmed::CreatedUseSso { email } => {
            session::set_sign_in_email(&ctx.session, &email).await?;
            ctx.notice(
                "Your email is confirmed and your account is ready. Your organisation signs you in with single sign-on: continue with your email.",
                paths::SIGN_IN,
            )
            .await
        }
        Confirmed::AlreadyUser { email } => {
            session::set_sign_in_email(&ctx.session, &email).await?;
            ctx.notice(
                "This email address already has an account. Sign in to continue.",
                paths::SIGN_IN,
            )
            .await
        }
    }
}
