//! The server functions of recovery's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::recovery::{self, ResetResult};
use crate::session::{self, Flash};
use crate::web::forms::{Ctx, Next, DEAD_LINK, DEAD_RESET_LINK};

#[server(prefix = "/_fn", endpoint = "unlock_account")]
pub async fn unlock_account() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_unlock(&ctx).await;
    ctx.finish(result, "/unlock").await
}

#[server(prefix = "/_fn", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_forgot(&ctx, email).await;
    ctx.finish(result, "/forgot").await
}

#[server(prefix = "/_fn", endpoint = "reset_password")]
pub async fn reset_password(password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reset(&ctx, Secret::new(password)).await;
    ctx.finish(result, "/reset").await
}

/// Uses the unlock link whose token the session holds.
pub async fn handle_unlock(ctx: &Ctx) -> Next {
    let used = match session::link_token(&ctx.session, TokenPurpose::Unlock).await? {
        Some(hash) => recovery::unlock(&ctx.state, &hash).await?,
        None => false,
    };
    if !used {
        session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
        return Ok("/unlock".into());
    }
    session::forget_link_token(&ctx.session, TokenPurpose::Unlock).await?;
    let done = "Your account is unlocked. Sign in to continue.";
    session::set_flash(&ctx.session, Flash::notice(done)).await?;
    Ok("/sign-in".into())
}

pub async fn handle_forgot(ctx: &Ctx, email: String) -> Next {
    let address = ctx.email_or_back(&email, "/forgot").await?;
    recovery::forgot_password(&ctx.state, &address);
    session::set_pending_email(&ctx.session, address.as_str()).await?;
    Ok("/forgot/sent".into())
}

pub async fn handle_reset(ctx: &Ctx, password: Secret) -> Next {
    let Some(token) = session::link_token(&ctx.session, TokenPurpose::Reset).await? else {
        session::set_flash(&ctx.session, Flash::error(DEAD_RESET_LINK)).await?;
        return Ok("/forgot".into());
    };
    match recovery::reset_password(&ctx.state, &token, &password).await? {
        ResetResult::Done => {
            session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
            let flash = Flash::notice("Your password was changed. Sign in with your new password.");
            session::set_flash(&ctx.session, flash).await?;
            Ok("/sign-in".into())
        }
        ResetResult::InvalidPassword(message) => {
            session::set_flash(
                &ctx.session,
                Flash::default().field_error("password", Some(message)),
            )
            .await?;
            Ok("/reset".into())
        }
        ResetResult::LinkDead => {
            session::forget_link_token(&ctx.session, TokenPurpose::Reset).await?;
            session::set_flash(&ctx.session, Flash::error(DEAD_RESET_LINK)).await?;
            Ok("/forgot".into())
        }
    }
}
