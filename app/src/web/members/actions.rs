//! The server functions of members's forms (under `/_fn`): each parses, calls its flow,
//! keeps the outcome in the session (a flash) and answers 303 to the next page.
use leptos::prelude::*;

use crate::domain::ids::{InvitationId, UserId};
use crate::paths;

use crate::auth::{self, NewSession, Notice, SignInMethod};
use crate::domain::roles::Role;
use crate::domain::secret::Secret;
use crate::domain::tokens::TokenPurpose;
use crate::flows::members::{self, Acceptance};
use crate::flows::policy;
use crate::flows::{Refusal, Stopped};
use crate::session::{self, SsoPurpose};
use crate::web::forms::{Ctx, Next, DEAD_LINK};
use crate::web::sso::actions::begin_sso;

#[server(prefix = "/_fn", endpoint = "invite_member")]
pub async fn invite_member(email: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_invite(&ctx, email, role).await;
    ctx.finish(result, paths::MEMBERS).await
}

#[server(prefix = "/_fn", endpoint = "change_member_role")]
pub async fn change_member_role(user_id: String, role: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_change_role(&ctx, user_id, role).await;
    ctx.finish(result, paths::MEMBERS).await
}

#[server(prefix = "/_fn", endpoint = "remove_member")]
pub async fn remove_member(user_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_remove(&ctx, user_id).await;
    ctx.finish(result, paths::MEMBERS).await
}

#[server(prefix = "/_fn", endpoint = "resend_invitation")]
pub async fn resend_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_resend_invitation(&ctx, id).await;
    ctx.finish(result, paths::MEMBERS).await
}

#[server(prefix = "/_fn", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_revoke_invitation(&ctx, id).await;
    ctx.finish(result, paths::MEMBERS).await
}

#[server(prefix = "/_fn", endpoint = "accept_invitation")]
pub async fn accept_invitation(#[server(default)] password: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_accept_invitation(&ctx, Secret::new(password)).await;
    ctx.finish(result, paths::INVITE).await
}

/// The owner's two-factor policy switch: `required` is "on" or "off".
#[server(prefix = "/_fn", endpoint = "set_second_factor_required")]
pub async fn set_second_factor_required(required: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_set_second_factor_required(&ctx, required).await;
    ctx.finish(result, paths::MEMBERS).await
}

/// An owner resets a member's second factors.
#[server(prefix = "/_fn", endpoint = "reset_member_second_factors")]
pub async fn reset_member_second_factors(user_id: String) -> Result<(), ServerFnError> {
    let ctx = Ctx::load().await?;
    let result = handle_reset_member_second_factors(&ctx, user_id).await;
    ctx.finish(result, paths::MEMBERS).await
}

pub async fn handle_set_second_factor_required(ctx: &Ctx, required: String) -> Next {
    let owner = ctx.owner(MEMBERS).await?;
    let on = required.trim() == "on";
    let done = policy::set_second_factor_required(&ctx.state, &owner, on).await;
    ctx.settle(done, MEMBERS).await?;
    let message = if on {
        "Two-factor authentication is now required in this account: members without it set it up before entering."
    } else {
        "Two-factor authentication is no longer required in this account."
    };
    ctx.notice(message, MEMBERS).await
}

pub async fn handle_reset_member_second_factors(ctx: &Ctx, user_id: String) -> Next {
    let owner = ctx.owner(MEMBERS).await?;
    let member = UserId::from_input(&user_id);
    let done = policy::reset_member_second_factors(&ctx.state, &owner, &member).await;
    ctx.settle(done, MEMBERS).await?;
    ctx.notice(
        "Their two-factor authentication was reset, and they were told by email: they sign in with their password alone now.",
        MEMBERS,
    )
    .await
}

/// The members page, where every form here comes back to.
const MEMBERS: &str = paths::MEMBERS;

/// The role picked in a form, or the refusal next to its field.
fn picked_role(role: &str) -> Result<Role, Stopped> {
    Role::parse(role.trim()).ok_or_else(|| Refusal::invalid("role", "Choose a role.").into())
}

pub async fn handle_invite(ctx: &Ctx, email: String, role: String) -> Next {
    let actor = ctx.admin(MEMBERS).await?;
    let typed = [("email", email.as_str())];
    let role = ctx
        .settle_keeping(picked_role(&role), MEMBERS, &typed)
        .await?;
    let invited = members::invite(&ctx.state, &actor, &email, role).await;
    let invitation = ctx.settle_keeping(invited, MEMBERS, &typed).await?;
    ctx.notice(format!("Invitation sent to {}.", invitation.email), MEMBERS)
        .await
}

pub async fn handle_change_role(ctx: &Ctx, user_id: String, role: String) -> Next {
    let actor = ctx.admin(MEMBERS).await?;
    let role = ctx.settle(picked_role(&role), MEMBERS).await?;
    let changed =
        members::change_role(&ctx.state, &actor, &UserId::from_input(&user_id), role).await;
    ctx.settle(changed, MEMBERS).await?;
    ctx.notice("The role was changed.", MEMBERS).await
}

pub async fn handle_remove(ctx: &Ctx, user_id: String) -> Next {
    let actor = ctx.member().await?;
    let user_id = UserId::from_input(&user_id);
    let leaving = user_id == *actor.user_id();
    let removed = members::remove(&ctx.state, &actor, &user_id).await;
    let back = if leaving {
        paths::ACCOUNT_SETTINGS
    } else {
        MEMBERS
    };
    ctx.settle(removed, back).await?;
    if leaving {
        session::set_current_account(&ctx.session, None).await?;
        return ctx.notice("You left the account.", paths::ACCOUNTS).await;
    }
    ctx.notice("The member was removed.", MEMBERS).await
}

pub async fn handle_resend_invitation(ctx: &Ctx, id: String) -> Next {
    let actor = ctx.admin(MEMBERS).await?;
    let resent = members::resend(&ctx.state, &actor, &InvitationId::from_input(&id)).await;
    ctx.settle(resent, MEMBERS).await?;
    ctx.notice("The invitation was sent again with a new link.", MEMBERS)
        .await
}

pub async fn handle_revoke_invitation(ctx: &Ctx, id: String) -> Next {
    let actor = ctx.admin(MEMBERS).await?;
    let revoked = members::revoke(&ctx.state, &actor, &InvitationId::from_input(&id)).await;
    ctx.settle(revoked, MEMBERS).await?;
    ctx.notice(
        "The invitation was revoked: its link no longer works.",
        MEMBERS,
    )
    .await
}

/// Accepts the invitation whose link was opened: as the signed-in user, or as a new user
/// with the password chosen here.
pub async fn handle_accept_invitation(ctx: &Ctx, password: Secret) -> Next {
    let Some(token) = session::link_token(&ctx.session, TokenPurpose::Invite).await? else {
        return ctx.error(DEAD_LINK, paths::INVITE).await;
    };
    let signed = ctx.signed().await?;
    let accepted = members::accept_invitation(&ctx.state, &token, signed.as_ref(), &password).await;
    let (user_id, account_id, account_name, new_user) =
        match ctx.settle(accepted, paths::INVITE).await? {
            Acceptance::Joined {
                user_id,
                account_id,
                account_name,
                new_user,
            } => (user_id, account_id, account_name, new_user),
            Acceptance::SignInFirst(email) => {
                session::set_return_to(&ctx.session, paths::INVITE).await?;
                session::set_sign_in_email(&ctx.session, email.as_str()).await?;
                return Ok(paths::SIGN_IN_PASSWORD.into());
            }
            Acceptance::ThroughSso {
                connection,
                invited,
            } => {
                // Enforced single sign-on: the provider signs them in, and the callback accepts
                // this invitation (the flow remembers which).
                let purpose = SsoPurpose::AcceptInvitation { token_hash: token };
                return begin_sso(ctx, &connection, invited.as_str(), purpose, paths::INVITE).await;
            }
        };
    session::forget_link_token(&ctx.session, TokenPurpose::Invite).await?;
    match new_user {
        Some(epoch) => {
            let new = NewSession::new(user_id, epoch, SignInMethod::Password, ctx.device())
                .in_account(Some(account_id))
                // A new person's first sign-in: nobody to tell.
                .with_notice(Notice::RecordOnly);
            auth::start_session(&ctx.state, &ctx.session, new).await?;
        }
        None => session::set_current_account(&ctx.session, Some(account_id)).await?,
    }
    ctx.notice(format!("Welcome to {account_name}."), paths::HOME)
        .await
}
