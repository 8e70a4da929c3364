//! The page an invitation link opens: join as the signed-in user, sign in first, or set a
//! password (the link proves the email, so there is no separate confirmation); on a domain
//! that enforces single sign-on, continue with the identity provider instead.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::paths;
use crate::web::sign_in::actions::SignOut;

use crate::domain::tokens::{token_hash, TokenPurpose};
use crate::flows::{members, Stopped};
use crate::session::{self, take_flash};
use crate::web::members::actions::AcceptInvitation;
use crate::web::recovery::links::LinkQuery;
use crate::web::respond::{see_other, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::signed;
use crate::AppState;

pub async fn invite_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    if let Some(raw) = q.token() {
        session::set_link_token(&session, TokenPurpose::Invite, token_hash(raw)).await?;
        return Ok(see_other(paths::INVITE));
    }
    let flash = take_flash(&session).await?;
    let invitation = match session::link_token(&session, TokenPurpose::Invite).await? {
        Some(hash) => match members::invitation_for_link(&state, &hash).await {
            Ok(inv) => Some(inv),
            Err(Stopped::Refused(_)) => None,
            Err(Stopped::Broken(err)) => return Err(err.into()),
        },
        None => None,
    };
    let Some(inv) = invitation else {
        return Ok(render_page(StatusCode::OK, "Invitation", move || {
            view! {
                <AuthCard title="Invitation">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p role="alert" class="alert">
                        "This invitation link is invalid, has expired, was revoked or was already used. Ask the person who invited you for a new one."
                    </p>
                    <p>
                        <a href=paths::SIGN_IN>"Go to sign in"</a>
                    </p>
                </AuthCard>
            }
        }));
    };
    let signed_in = signed::signed_in(&state, &session).await?;
    let has_user = members::invited_has_user(&state, &inv).await?;
    let through_sso = members::accepted_through_sso(&state, &inv).await?;
    let title = format!("Join {}", inv.account_name);
    Ok(render_page(StatusCode::OK, &title.clone(), move || {
        let intro = format!(
            "You are invited to join {} as {}.",
            inv.account_name,
            inv.role.as_str()
        );
        let body = match &signed_in {
            Some(user) if user.email() == inv.email.as_str() => view! {
                <form method="post" action=AcceptInvitation::PATH>
                    <button type="submit" class="primary">
                        "Join account"
                    </button>
                </form>
            }
            .into_any(),
            Some(user) => view! {
                <p role="alert" class="alert">
                    {format!(
                        "This invitation is for {}, but you are signed in as {}. Sign out, then open the link again.",
                        inv.email,
                        user.email(),
                    )}
                </p>
                <form method="post" action=SignOut::PATH>
                    <button type="submit" class="secondary">
                        "Sign out"
                    </button>
                </form>
            }
            .into_any(),
            None if through_sso => view! {
                <p>
                    {format!(
                        "{} signs in with your organization's single sign-on: continue with your identity provider to join.",
                        inv.email,
                    )}
                </p>
                <form method="post" action=AcceptInvitation::PATH>
                    <button type="submit" class="primary">
                        "Continue with single sign-on"
                    </button>
                </form>
            }
            .into_any(),
            None if has_user => view! {
                <p>{format!("Sign in as {} to accept.", inv.email)}</p>
                <form method="post" action=AcceptInvitation::PATH>
                    <button type="submit" class="primary">
                        "Sign in to accept"
                    </button>
                </form>
            }
            .into_any(),
            None => view! {
                <form method="post" action=AcceptInvitation::PATH novalidate=true>
                    <Field
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="username"
                        value=Some(inv.email.to_string())
                        readonly=true
                    />
                    <Field
                        label="Choose a password"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        error=flash.field("password")
                        autofocus=true
                        hint=Some(
                            "At least 8 characters. A few unrelated words make a strong password.",
                        )
                    />
                    <button type="submit" class="primary">
                        "Join account"
                    </button>
                </form>
            }
            .into_any(),
        };
        view! {
            <AuthCard title="You are invited">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>{intro}</p>
                {body}
            </AuthCard>
        }
    }))
}
