//! The server functions of members's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::roles::Role;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::members::{self, Acceptance};
use crate::flows::Stopped;
use crate::session::{self, AuthState, Flash, SsoPurpose};
use crate::web::forms::{kept, refused, Ctx, Next, DEAD_LINK};
use crate::web::sso::actions::begin_sso;

#[server(prefix = "/_fn", endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_invite(&ctx, email, role).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "change_member_role")]
pub async fn change_member_role(user_id: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_change_role(&ctx, user_id, role).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_remove(&ctx, user_id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "resend_invitation")]
pub async fn resend_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend_invitation(&ctx, id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_revoke_invitation(&ctx, id).await;
    ctx.finish(result, "/settings/members").await
}

#[server(prefix = "/_fn", endpoint = "accept_invitation")]
pub async fn accept_invitation(#[server(default)] password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_accept_invitation(&ctx, Secret::new(password)).await;
    ctx.finish(result, "/invite").await
}

/// The members page, where every form here comes back to.
const MEMBERS: &str = "/settings/members";
const NOT_ADMIN: &str = "Only owners and admins of this account can manage members.";

fn parse_role(role: &str) -> Option<Role> {
    Role::parse(role.trim())
}

pub async fn handle_invite(ctx: &Ctx, email: String, role: String) -> Next {
    let actor = match ctx.admin(MEMBERS, NOT_ADMIN).await? {
        Ok(a) => a,
        Err(path) => return Ok(path),
    };
    let Some(role) = parse_role(&role) else {
        let flash = Flash::default()
            .field_error("role", Some("Choose a role.".into()))
            .value("email", &kept(&email));
        session::set_flash(&ctx.session, flash).await?;
        return Ok("/settings/members".into());
    };
    let flash = match members::invite(&ctx.state, &actor, &email, role).await {
        Ok(to) => Flash::notice(format!("Invitation sent to {to}.")),
        Err(Stopped::Refused(refusal)) => refused(&refusal).value("email", &kept(&email)),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    session::set_flash(&ctx.session, flash).await?;
    Ok(MEMBERS.into())
}

/// Back to the members page with `done`, or the refusal's message.
async fn settle(ctx: &Ctx, outcome: Result<(), Stopped>, done: &str) -> Next {
    match outcome {
        Ok(()) => {
            session::set_flash(&ctx.session, Flash::notice(done)).await?;
            Ok(MEMBERS.into())
        }
        Err(stopped) => ctx.stopped(stopped, MEMBERS).await,
    }
}

pub async fn handle_change_role(ctx: &Ctx, user_id: String, role: String) -> Next {
    let actor = match ctx.admin(MEMBERS, NOT_ADMIN).await? {
        Ok(a) => a,
        Err(path) => return Ok(path),
    };
    let Some(role) = parse_role(&role) else {
        session::set_flash(&ctx.session, Flash::error("Choose a role.")).await?;
        return Ok("/settings/members".into());
    };
    let outcome = members::change_role(&ctx.state, &actor, &user_id, role).await;
    settle(ctx, outcome, "The role was changed.").await
}

pub async fn handle_remove(ctx: &Ctx, user_id: String) -> Next {
    let actor = match ctx.member().await? {
        Ok(m) => m,
        Err(path) => return Ok(path),
    };
    let outcome = members::remove(&ctx.state, &actor, &user_id).await;
    if outcome.is_ok() && user_id == actor.user_id {
        session::set_current_account(&ctx.session, None).await?;
        session::set_flash(&ctx.session, Flash::notice("You left the account.")).await?;
        return Ok("/accounts".into());
    }
    settle(ctx, outcome, "The member was removed.").await
}

pub async fn handle_resend_invitation(ctx: &Ctx, id: String) -> Next {
    let actor = match ctx.admin(MEMBERS, NOT_ADMIN).await? {
        Ok(a) => a,
        Err(path) => return Ok(path),
    };
    let outcome = members::resend(&ctx.state, &actor, &id).await;
    settle(
        ctx,
        outcome,
        "The invitation was sent again with a new link.",
    )
    .await
}

pub async fn handle_revoke_invitation(ctx: &Ctx, id: String) -> Next {
    let actor = match ctx.admin(MEMBERS, NOT_ADMIN).await? {
        Ok(a) => a,
        Err(path) => return Ok(path),
    };
    let outcome = members::revoke(&ctx.state, &actor, &id).await;
    settle(
        ctx,
        outcome,
        "The invitation was revoked: its link no longer works.",
    )
    .await
}

/// Accepts the invitation whose link was opened: as the signed-in user, or as a new user
/// with the password chosen here.
pub async fn handle_accept_invitation(ctx: &Ctx, password: Secret) -> Next {
    let Some(token) = session::link_token(&ctx.session, TokenPurpose::Invite).await? else {
        session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
        return Ok("/invite".into());
    };
    let signed = ctx.signed().await?;
    let acceptance =
        members::accept_invitation(&ctx.state, &token, signed.as_ref(), &password).await?;
    let (user_id, account_id, account_name, new_user) = match acceptance {
        Acceptance::Joined {
            user_id,
            account_id,
            account_name,
            new_user,
        } => (user_id, account_id, account_name, new_user),
        Acceptance::DeadLink => {
            session::set_flash(&ctx.session, Flash::error(DEAD_LINK)).await?;
            return Ok("/invite".into());
        }
        Acceptance::SignedInAsSomeoneElse {
            invited,
            signed_in_as,
        } => {
            let message = format!(
                "This invitation is for {invited}, but you are signed in as {signed_in_as}. Sign out, then open the link again."
            );
            session::set_flash(&ctx.session, Flash::error(message)).await?;
            return Ok("/invite".into());
        }
        Acceptance::SignInFirst(email) => {
            session::set_return_to(&ctx.session, "/invite").await?;
            session::set_sign_in_email(&ctx.session, email.as_str()).await?;
            return Ok("/sign-in/password".into());
        }
        Acceptance::InvalidPassword(message) => {
            let flash = Flash::default().field_error("password", Some(message));
            session::set_flash(&ctx.session, flash).await?;
            return Ok("/invite".into());
        }
        Acceptance::ThroughSso {
            connection,
            invited,
        } => {
            // Enforced single sign-on: the provider signs them in, and the callback accepts
            // this invitation (the flow remembers which).
            let purpose = SsoPurpose::AcceptInvitation { token_hash: token };
            return begin_sso(ctx, &connection, invited.as_str(), purpose, "/invite").await;
        }
    };
    session::forget_link_token(&ctx.session, TokenPurpose::Invite).await?;
    match new_user {
        Some(epoch) => {
            let auth = AuthState {
                user_id,
                account_id: Some(account_id),
                epoch,
                signed_in_at: ctx.state.clock.now().millis(),
                method: Some("password".into()),
            };
            session::sign_in(&ctx.session, auth).await?;
        }
        None => session::set_current_account(&ctx.session, Some(account_id)).await?,
    }
    let flash = Flash::notice(format!("Welcome to {account_name}."));
    session::set_flash(&ctx.session, flash).await?;
    Ok("/home".into())
}
