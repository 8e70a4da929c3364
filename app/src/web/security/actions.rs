//! The server functions of the Security page's forms (under `/_fn`).
use leptos::prelude::*;

use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::{second_factors, security};
use crate::paths;
use crate::session::{self, SsoPurpose};
use crate::web::forms::{leave, Ctx, Next};
use crate::web::security::reauth;
use crate::web::sso::actions::begin_sso;

#[server(prefix = "/_fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_change_password(
        &ctx,
        Secret::new(current_password),
        Secret::new(new_password),
    )
    .await;
    ctx.finish(result, paths::SECURITY).await
}

#[server(prefix = "/_fn", endpoint = "request_email_change")]
pub async fn request_email_change(
    new_email: String,
    current_password: String,
) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_request_email_change(&ctx, new_email, Secret::new(current_password)).await;
    ctx.finish(result, paths::SECURITY_EMAIL).await
}

/// The button behind the link mailed to the new address.
#[server(prefix = "/_fn", endpoint = "confirm_email_change")]
pub async fn confirm_email_change() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_confirm_email_change(&ctx).await;
    ctx.finish(result, paths::EMAIL_CHANGE).await
}

#[server(prefix = "/_fn", endpoint = "reauthenticate")]
pub async fn reauthenticate(
    password: String,
    #[server(default)] code: String,
) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reauthenticate(&ctx, Secret::new(password), code).await;
    ctx.finish(result, paths::REAUTHENTICATE).await
}

#[server(prefix = "/_fn", endpoint = "reauthenticate_sso")]
pub async fn reauthenticate_with_sso() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reauthenticate_with_sso(&ctx).await;
    ctx.finish(result, paths::REAUTHENTICATE).await
}

#[server(prefix = "/_fn", endpoint = "end_session")]
pub async fn end_session(session: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_end_session(&ctx, session).await;
    ctx.finish(result, paths::SECURITY).await
}

#[server(prefix = "/_fn", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_end_other_sessions(&ctx).await;
    ctx.finish(result, paths::SECURITY).await
}

/// The handle of the session this request came with (a signed-in one always has an id).
fn this_session(ctx: &Ctx) -> Result<String, crate::web::forms::Leave> {
    match session::handle_of(&ctx.session) {
        Some(handle) => Ok(handle),
        None => leave(paths::SIGN_IN),
    }
}

pub async fn handle_change_password(ctx: &Ctx, current: Secret, new: Secret) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let here = this_session(ctx)?;
    let changed = security::change_password(&ctx.state, &signed, &here, &current, &new).await;
    let epoch = ctx.settle(changed, paths::SECURITY).await?;
    session::renew_after_password_change(&ctx.session, signed.auth().clone(), epoch).await?;
    ctx.notice(
        "Your password was changed, and every other session was signed out.",
        paths::SECURITY,
    )
    .await
}

pub async fn handle_request_email_change(ctx: &Ctx, new_email: String, current: Secret) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let requested = security::request_email_change(&ctx.state, &signed, &current, &new_email).await;
    let address = ctx
        .settle_keeping(
            requested,
            paths::SECURITY_EMAIL,
            &[("new_email", &new_email)],
        )
        .await?;
    ctx.notice(
        format!("We sent a link to {address}. Your email changes when it is opened there (within 24 hours)."),
        paths::SECURITY,
    )
    .await
}

pub async fn handle_confirm_email_change(ctx: &Ctx) -> Next {
    let Some(token) = session::link_token(&ctx.session, TokenPurpose::EmailChange).await? else {
        return ctx
            .error(security::DEAD_EMAIL_CHANGE_LINK, paths::EMAIL_CHANGE)
            .await;
    };
    let changed = security::confirm_email_change(&ctx.state, &token).await;
    let change = ctx.settle(changed, paths::EMAIL_CHANGE).await?;
    session::forget_link_token(&ctx.session, TokenPurpose::EmailChange).await?;
    let signed_in_as_them = ctx
        .signed()
        .await?
        .is_some_and(|s| s.user_id() == &change.user_id);
    let next = if signed_in_as_them {
        paths::SECURITY
    } else {
        session::set_sign_in_email(&ctx.session, change.new_email.as_str()).await?;
        paths::SIGN_IN
    };
    ctx.notice(
        format!(
            "Your email is now {}. You sign in with it from now on.",
            change.new_email
        ),
        next,
    )
    .await
}

pub async fn handle_reauthenticate(ctx: &Ctx, password: Secret, code: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let confirmed = security::reauthenticate(&ctx.state, &signed, &password, &code).await;
    ctx.settle(confirmed, paths::REAUTHENTICATE).await?;
    session::mark_reauthenticated(&ctx.session, ctx.state.clock.now()).await?;
    Ok(reauth::back_to_the_form(&ctx.session).await?)
}

pub async fn handle_reauthenticate_with_sso(ctx: &Ctx) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let provider = security::reauthentication_provider(&ctx.state, &signed).await;
    let Some(connection) = ctx.settle(provider, paths::REAUTHENTICATE).await? else {
        return Ok(paths::REAUTHENTICATE.into());
    };
    let purpose = SsoPurpose::Reauthenticate {
        user_id: signed.user_id().clone(),
    };
    begin_sso(
        ctx,
        &connection,
        signed.email(),
        purpose,
        paths::REAUTHENTICATE,
    )
    .await
}

pub async fn handle_end_session(ctx: &Ctx, handle: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let here = this_session(ctx)?;
    let ended = security::end_session(&ctx.state, &signed, &here, handle.trim()).await;
    ctx.settle(ended, paths::SECURITY).await?;
    ctx.notice("That session was signed out.", paths::SECURITY)
        .await
}

pub async fn handle_end_other_sessions(ctx: &Ctx) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let here = this_session(ctx)?;
    let ended = security::end_other_sessions(&ctx.state, &signed, &here).await;
    let count = ctx.settle(ended, paths::SECURITY).await?;
    let message = match count {
        0 => "There were no other sessions.".to_owned(),
        1 => "Signed out of 1 other session.".to_owned(),
        n => format!("Signed out of {n} other sessions."),
    };
    ctx.notice(message, paths::SECURITY).await
}

/// Removes the authenticator app (and the recovery codes), given a current code or a
/// recovery code.
#[server(prefix = "/_fn", endpoint = "remove_two_factor")]
pub async fn remove_two_factor(code: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_remove_two_factor(&ctx, code).await;
    ctx.finish(result, paths::SECURITY_TWO_FACTOR).await
}

/// "Delete" beside a passkey.
#[server(prefix = "/_fn", endpoint = "delete_passkey")]
pub async fn delete_passkey(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_delete_passkey(&ctx, id).await;
    ctx.finish(result, paths::SECURITY_TWO_FACTOR).await
}

pub async fn handle_delete_passkey(ctx: &Ctx, id: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let id = crate::domain::ids::PasskeyId::from_input(&id);
    let deleted = crate::flows::passkeys::delete(&ctx.state, &signed, &id).await;
    ctx.settle(deleted, paths::SECURITY_TWO_FACTOR).await?;
    ctx.notice("Passkey deleted.", paths::SECURITY_TWO_FACTOR)
        .await
}

pub async fn handle_remove_two_factor(ctx: &Ctx, code: String) -> Next {
    let signed = ctx.signed_or_sign_in().await?;
    let removed = second_factors::remove(&ctx.state, &signed, &code).await;
    ctx.settle(removed, paths::SECURITY_TWO_FACTOR).await?;
    ctx.notice(
        "Two-factor authentication is off: the authenticator app and its recovery codes were removed.",
        paths::SECURITY,
    )
    .await
}
