//! The server functions of recovery's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::paths;

use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::{notices, recovery};
use crate::flows::{Refusal, Stopped};
use crate::session;
use crate::web::forms::{Ctx, Next};

#[server(prefix = "/_fn", endpoint = "unlock_account")]
pub async fn unlock_account() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_unlock(&ctx).await;
    ctx.finish(result, paths::UNLOCK).await
}

/// "This wasn't me", pressed on the page behind a new-device notice's link.
#[server(prefix = "/_fn", endpoint = "disown_sign_in")]
pub async fn disown_sign_in() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_disown(&ctx).await;
    ctx.finish(result, paths::NOT_ME).await
}

#[server(prefix = "/_fn", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_forgot(&ctx, email).await;
    ctx.finish(result, paths::FORGOT).await
}

#[server(prefix = "/_fn", endpoint = "reset_password")]
pub async fn reset_password(password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reset(&ctx, Secret::new(password)).await;
    ctx.finish(result, paths::RESET).await
}

/// Uses the unlock link whose token the session holds.
pub async fn handle_unlock(ctx: &Ctx) -> Next {
    let unlocked = match session::link_token(&ctx.session, TokenPurpose::Unlock).await? {
        Some(hash) => recovery::unlock(&ctx.state, &hash).await,
        None => Err(Refusal::conflict("link_dead", recovery::DEAD_LINK).into()),
    };
    let email = ctx.settle(unlocked, paths::UNLOCK).await?;
    session::forget_link_token(&ctx.session, TokenPurpose::Unlock).await?;
    // The sign-in page starts with the email the link proved: nobody retypes it.
    session::set_sign_in_email(&ctx.session, email.as_str()).await?;
    ctx.notice(
        "Your account is unlocked. Sign in to continue.",
        paths::SIGN_IN,
    )
    .await
}

/// Uses the "This wasn't me" link whose token the session holds: every session of the
/// person ends (this one too, if it was theirs), and a fresh session carries the answer.
pub async fn handle_disown(ctx: &Ctx) -> Next {
    let purpose = TokenPurpose::SignInNotice;
    let disowned = match session::link_token(&ctx.session, purpose).await? {
        Some(hash) => notices::disown_sign_in(&ctx.state, &hash).await,
        None => Err(Refusal::conflict("link_dead", notices::DEAD_NOT_ME_LINK).into()),
    };
    ctx.settle(disowned, paths::NOT_ME).await?;
    session::sign_out(&ctx.session).await?;
    ctx.notice(notices::DISOWNED, paths::SIGN_IN).await
}

pub async fn handle_forgot(ctx: &Ctx, email: String) -> Next {
    let address = ctx.email_or_back(&email, paths::FORGOT).await?;
    recovery::forgot_password(&ctx.state, &address);
    session::set_pending_email(&ctx.session, address.as_str()).await?;
    Ok(paths::FORGOT_SENT.into())
}

pub async fn handle_reset(ctx: &Ctx, password: Secret) -> Next {
    let reset = match session::link_token(&ctx.session, TokenPurpose::Reset).await? {
        Some(token) => recovery::reset_password(&ctx.state, &token, &password).await,
        None => Err(Refusal::conflict("link_dead", recovery::DEAD_RESET_LINK).into()),
    };
    match reset {
        // A password the policy refuses: back to the form, the link still good.
        Err(Stopped::Refused(refusal)) if refusal.field().is_some() => {
            ctx.stopped(Stopped::Refused(refusal), paths::RESET).await
        }
        Err(Stopped::Broken(err)) => Err(err.into()),
        // A dead link: ask for a new one.
        Err(stopped) => {
            session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
            ctx.stopped(stopped, paths::FORGOT).await
        }
        Ok(email) => {
            session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
            session::set_sign_in_email(&ctx.session, email.as_str()).await?;
            ctx.notice(
                "Your password was changed. Sign in with your new password.",
                paths::SIGN_IN,
            )
            .await
        }
    }
}
