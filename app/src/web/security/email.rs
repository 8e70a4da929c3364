//! Changing one's email: the form on the person's settings, and the page behind the link
//! mailed to the new address (opening it moves the token into the session, and a button press
//! uses it, so a mail scanner fetching the link changes nothing).
use axum::extract::{Query, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::domain::tokens::{token_hash, TokenPurpose};
use crate::flows::security;
use crate::flows::Stopped;
use crate::paths;
use crate::session::{self, take_flash};
use crate::web::recovery::links::LinkQuery;
use crate::web::respond::{see_other, PageResult};
use crate::web::security::actions::{ConfirmEmailChange, RequestEmailChange};
use crate::web::shell::{render_page, AuthCard, Field, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn email_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let has_password = security::has_password(&state, &member.signed).await?;
    let email = member.signed.email().to_owned();
    let chrome = member.chrome();
    Ok(render_page(
        StatusCode::OK,
        "Change your email",
        move || {
            let body = if has_password {
                let first_error = flash.field("new_email").is_some();
                view! {
                    <form
                        method="post"
                        action=RequestEmailChange::PATH
                        class="stack"
                        novalidate=true
                    >
                        <Field
                            label="New email"
                            name="new_email"
                            kind="email"
                            autocomplete="email"
                            value=flash.value_of("new_email")
                            error=flash.field("new_email")
                            autofocus=first_error || flash.field("current_password").is_none()
                        />
                        <Field
                            label="Current password"
                            name="current_password"
                            kind="password"
                            autocomplete="current-password"
                            error=flash.field("current_password")
                            autofocus=!first_error && flash.field("current_password").is_some()
                        />
                        <button type="submit" class="primary">
                            "Send the link"
                        </button>
                    </form>
                }
                .into_any()
            } else {
                view! { <p>{security::NO_PASSWORD_YET}</p> }.into_any()
            };
            view! {
                <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                    <p class="eyebrow">
                        <a href=paths::SECURITY>"Security"</a>
                    </p>
                    <h1>"Change your email"</h1>
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p>
                        "You sign in with " <strong>{email.clone()}</strong>
                        ". We send a link to the new address; your email changes when it is opened there, and we tell this address."
                    </p>
                    {body}
                </SignedIn>
            }
        },
    ))
}

/// The page behind the link mailed to the new address.
pub async fn confirm_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    if let Some(raw) = q.token() {
        session::set_link_token(&session, TokenPurpose::EmailChange, token_hash(raw)).await?;
        return Ok(see_other(paths::EMAIL_CHANGE));
    }
    let flash = take_flash(&session).await?;
    let change = match session::link_token(&session, TokenPurpose::EmailChange).await? {
        Some(hash) => match security::email_change_for_link(&state, &hash).await {
            Ok(change) => Some(change),
            Err(Stopped::Refused(_)) => None,
            Err(Stopped::Broken(err)) => return Err(err.into()),
        },
        None => None,
    };
    Ok(render_page(
        StatusCode::OK,
        "Confirm your new email",
        move || {
            let body = match &change {
                Some(change) => view! {
                    <p>
                        "Use " <strong>{change.new_email.to_string()}</strong>
                        " as the email of the Terminus Hub account that is now "
                        <strong>{change.old_email.to_string()}</strong> "?"
                    </p>
                    <form method="post" action=ConfirmEmailChange::PATH>
                        <button type="submit" class="primary">
                            "Use this address"
                        </button>
                    </form>
                }
                .into_any(),
                None => view! {
                    <p role="alert" class="alert">
                        {security::DEAD_EMAIL_CHANGE_LINK}
                    </p>
                    <p>
                        <a href=paths::SIGN_IN>"Sign in"</a>
                    </p>
                }
                .into_any(),
            };
            view! {
                <AuthCard title="Confirm your new email">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    {body}
                </AuthCard>
            }
        },
    ))
}
