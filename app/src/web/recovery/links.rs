//! The pages emailed links open: confirm, unlock and reset. Opening a link moves its token
//! (hashed) into the session and redirects, so the token leaves the address bar at once;
//! the page then asks for a button press, so a mail scanner fetching the link uses nothing.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use serde::Deserialize;
use tower_sessions::Session;

use crate::paths;

use crate::domain::tokens::{token_hash, TokenPurpose};
use crate::flows::recovery::link_is_live;
use crate::flows::sign_up::confirmation_email;
use crate::session::{self, take_flash, Flash};
use crate::web::recovery::actions::{DisownSignIn, ResetPassword, UnlockAccount};
use crate::web::respond::{see_other, PageError, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::sign_up::actions::ConfirmEmail;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

impl LinkQuery {
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

/// Shared first half of every link page: swallow `?token=` into the session, or find out
/// whether the token already there can still be used.
async fn link_state(
    state: &AppState,
    session: &Session,
    purpose: TokenPurpose,
    query: &LinkQuery,
    path: &str,
) -> Result<(bool, Flash), PageError> {
    if let Some(raw) = &query.token {
        session::set_link_token(session, purpose, token_hash(raw)).await?;
        return Err(PageError::Instead(see_other(path)));
    }
    let flash = take_flash(session).await?;
    let live = match session::link_token(session, purpose).await? {
        Some(hash) => link_is_live(state, purpose, &hash).await?,
        None => false,
    };
    Ok((live, flash))
}

fn dead_link(
    title: &'static str,
    flash: Flash,
    retry: &'static str,
    retry_label: &'static str,
) -> Response {
    render_page(StatusCode::OK, title, move || {
        view! {
            <AuthCard title=title>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p role="alert" class="alert">
                    "This link is invalid, has expired or was already used."
                </p>
                <p>
                    <a href=retry>{retry_label}</a>
                </p>
            </AuthCard>
        }
    })
}

/// The page behind a confirmation link: shows the address and asks its holder for the
/// password the new account will have.
pub async fn confirm_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    if let Some(raw) = &q.token {
        session::set_link_token(&session, TokenPurpose::Confirm, token_hash(raw)).await?;
        return Ok(see_other(paths::CONFIRM));
    }
    let flash = take_flash(&session).await?;
    let email = match session::link_token(&session, TokenPurpose::Confirm).await? {
        Some(hash) => confirmation_email(&state, &hash).await?,
        None => None,
    };
    let Some(email) = email else {
        return Ok(dead_link(
            "Confirm your email",
            flash,
            paths::SIGN_UP,
            "Sign up again to get a new link",
        ));
    };
    let email = email.to_string();
    Ok(render_page(
        StatusCode::OK,
        "Choose your password",
        move || {
            view! {
                <AuthCard title="Choose your password">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p>
                        "You are creating the account for " <strong>{email.clone()}</strong>
                        ". Choose the password you will sign in with."
                    </p>
                    <form method="post" action=ConfirmEmail::PATH novalidate=true>
                        // For password managers: the account the new password belongs to.
                        <input
                            type="email"
                            id="username"
                            autocomplete="username"
                            value=email.clone()
                            hidden=true
                            readonly=true
                        />
                        <Field
                            label="Password"
                            name="password"
                            kind="password"
                            autocomplete="new-password"
                            error=flash.field("password")
                            autofocus=true
                            hint=Some(
                                "8 to 128 characters, no other rules; common or easily guessed passwords are refused. A few unrelated words make a strong password.",
                            )
                        />
                        <button type="submit" class="primary">
                            "Create account"
                        </button>
                    </form>
                </AuthCard>
            }
        },
    ))
}

pub async fn unlock_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    let (live, flash) =
        link_state(&state, &session, TokenPurpose::Unlock, &q, paths::UNLOCK).await?;
    if !live {
        return Ok(dead_link(
            "Unlock your account",
            flash,
            paths::SIGN_IN,
            "Back to sign in",
        ));
    }
    Ok(render_page(
        StatusCode::OK,
        "Unlock your account",
        move || {
            view! {
                <AuthCard title="Unlock your account">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p>
                        "Your account was locked after too many failed sign-in attempts. Press the button to unlock it now."
                    </p>
                    <form method="post" action=UnlockAccount::PATH>
                        <button type="submit" class="primary">
                            "Unlock account"
                        </button>
                    </form>
                </AuthCard>
            }
        },
    ))
}

pub async fn reset_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    let (live, flash) = link_state(&state, &session, TokenPurpose::Reset, &q, paths::RESET).await?;
    if !live {
        return Ok(dead_link(
            "Choose a new password",
            flash,
            paths::FORGOT,
            "Ask for a new link",
        ));
    }
    Ok(render_page(
        StatusCode::OK,
        "Choose a new password",
        move || {
            view! {
                <AuthCard title="Choose a new password">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <form method="post" action=ResetPassword::PATH novalidate=true>
                        <Field
                            label="New password"
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
                            "Change password"
                        </button>
                    </form>
                    <p class="muted">"Changing your password signs you out everywhere else."</p>
                </AuthCard>
            }
        },
    ))
}

/// The page behind a new-device notice's "This wasn't me" link: opening it changes nothing
/// (a mail scanner may fetch it); the button does.
pub async fn not_me_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkQuery>,
) -> PageResult {
    let purpose = TokenPurpose::SignInNotice;
    let (live, flash) = link_state(&state, &session, purpose, &q, paths::NOT_ME).await?;
    if !live {
        return Ok(dead_link(
            "This wasn't me",
            flash,
            paths::FORGOT,
            "Reset your password",
        ));
    }
    Ok(render_page(StatusCode::OK, "This wasn't me", move || {
        view! {
            <AuthCard title="This wasn't me">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>
                    "If you did not sign in from the device in the email, press the button: every session of your account ends, signing in with your password is blocked until you choose a new one, and we email you a link to do so."
                </p>
                <form method="post" action=DisownSignIn::PATH>
                    <button type="submit" class="danger">
                        "Sign everyone out and reset my password"
                    </button>
                </form>
            </AuthCard>
        }
    }))
}
