//! Sign-in: step 1 asks only for the email, step 2 for the password; and "forgot password".
use axum::extract::{Query, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use serde::Deserialize;
use tower_sessions::Session;

use crate::paths;

use crate::domain::email::EmailAddress;
use crate::flows::sign_in::{decide_email_step, EmailStep};
use crate::session::{self, take_flash};
use crate::state::SignUpPolicy;
use crate::web::respond::{see_other, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::sign_in::actions::{SignInEmail, SignInPassword, StartSso};
use crate::web::signed;
use crate::AppState;

pub async fn root(State(state): State<AppState>, session: Session) -> PageResult {
    match signed::signed_in(&state, &session).await? {
        Some(_) => Ok(see_other(paths::HOME)),
        None => Ok(see_other(paths::SIGN_IN)),
    }
}

/// `/sign-in?next=/a/page`: where to land after signing in (a local path only).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn email_step(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NextQuery>,
) -> PageResult {
    if signed::signed_in(&state, &session).await?.is_some() {
        return Ok(see_other(paths::HOME));
    }
    if let Some(next) = query.next.as_deref().filter(|n| !n.contains('\\')) {
        session::set_return_to(&session, next).await?;
    }
    let flash = take_flash(&session).await?;
    let remembered = session::sign_in_email(&session).await?;
    let passkeys = crate::flows::passkeys::available(&state);
    let open_sign_up = state.config.signup == SignUpPolicy::Open;
    Ok(render_page(StatusCode::OK, "Sign in", move || {
        view! {
            <AuthCard title="Sign in">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <form method="post" action=SignInEmail::PATH novalidate=true>
                    <Field
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="username webauthn"
                        value=flash.value_of("email").or(remembered.clone())
                        error=flash.field("email")
                        autofocus=true
                    />
                    <button type="submit" class="primary">
                        "Continue"
                    </button>
                </form>
                {passkeys
                    .then(|| {
                        view! {
                            <div
                                data-passkey-sign-in=paths::PASSKEY_SIGN_IN_OPTIONS
                                data-passkey-finish=paths::PASSKEY_SIGN_IN_FINISH
                            >
                                <p role="alert" class="alert" id="passkey-error" hidden=true></p>
                                <button
                                    type="button"
                                    class="secondary"
                                    id="sign-in-with-passkey"
                                    hidden=true
                                >
                                    "Sign in with a passkey"
                                </button>
                                <script src=paths::PASSKEYS_SCRIPT defer=true></script>
                            </div>
                        }
                    })}
                <p class="links">
                    <a href=paths::FORGOT>"Forgot your password?"</a>
                </p>
                {open_sign_up
                    .then(|| {
                        view! {
                            <p class="switch">
                                "New to Terminus Hub? "
                                <a href=paths::SIGN_UP>"Create an account"</a>
                            </p>
                        }
                    })}
                <p class="muted">
                    <a href=paths::SIGN_IN_DIRECT>"Owner or admin? Sign in with your password"</a>
                </p>
            </AuthCard>
        }
    }))
}

pub async fn password_step(State(state): State<AppState>, session: Session) -> PageResult {
    if signed::signed_in(&state, &session).await?.is_some() {
        return Ok(see_other(paths::HOME));
    }
    let Some(email) = session::sign_in_email(&session).await? else {
        return Ok(see_other(paths::SIGN_IN));
    };
    let flash = take_flash(&session).await?;
    let offers_sso = match EmailAddress::parse(&email) {
        Ok(address) => matches!(
            decide_email_step(&state, &address).await?,
            EmailStep::PasswordOrSso(_)
        ),
        Err(_) => false,
    };
    Ok(render_page(StatusCode::OK, "Sign in", move || {
        view! {
            <AuthCard title="Sign in">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                {offers_sso
                    .then(|| {
                        view! {
                            <form method="post" action=StartSso::PATH>
                                <button type="submit" class="secondary">
                                    "Continue with SSO"
                                </button>
                            </form>
                            <p class="muted">"or use your password:"</p>
                        }
                    })}
                <form method="post" action=SignInPassword::PATH novalidate=true>
                    <Field
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="username"
                        value=Some(email.clone())
                        readonly=true
                    />
                    <p class="change">
                        <a href=paths::SIGN_IN>"Use a different email"</a>
                    </p>
                    <Field
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="current-password"
                        error=flash.field("password")
                        autofocus=true
                    />
                    <button type="submit" class="primary">
                        "Sign in"
                    </button>
                </form>
                <p class="links">
                    <a href=paths::FORGOT>"Forgot your password?"</a>
                </p>
                <p class="links">
                    <a href=paths::RESEND_CONFIRMATION>
                        "Signed up but never confirmed? Resend the confirmation email"
                    </a>
                </p>
            </AuthCard>
        }
    }))
}

/// One step, email and password, for everyone; on a domain that enforces single sign-on it
/// lets in only the enforcing account's owners and admins (everyone else gets the one generic
/// message), so an owner always has a way in.
pub async fn direct_page(State(state): State<AppState>, session: Session) -> PageResult {
    if signed::signed_in(&state, &session).await?.is_some() {
        return Ok(see_other(paths::HOME));
    }
    let flash = take_flash(&session).await?;
    let remembered = session::sign_in_email(&session).await?;
    Ok(render_page(
        StatusCode::OK,
        "Sign in with your password",
        move || {
            view! {
                <AuthCard title="Sign in with your password">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <form method="post" action=SignInPassword::PATH novalidate=true>
                        <Field
                            label="Email"
                            name="email"
                            kind="email"
                            autocomplete="username"
                            value=remembered.clone()
                            autofocus=flash.field("password").is_none()
                        />
                        <Field
                            label="Password"
                            name="password"
                            kind="password"
                            autocomplete="current-password"
                            error=flash.field("password")
                            autofocus=flash.field("password").is_some()
                        />
                        <button type="submit" class="primary">
                            "Sign in"
                        </button>
                    </form>
                    <p class="links">
                        <a href=paths::FORGOT>"Forgot your password?"</a>
                    </p>
                    <p class="links">
                        <a href=paths::RESEND_CONFIRMATION>
                            "Signed up but never confirmed? Resend the confirmation email"
                        </a>
                    </p>
                    <p class="links">
                        <a href=paths::SIGN_IN>"Back to sign in"</a>
                    </p>
                </AuthCard>
            }
        },
    ))
}
