//! Sign-up and the "check your email" page that follows it.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::paths;

use crate::session::{self, take_flash};
use crate::web::respond::{see_other, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::sign_up::actions::{ResendConfirmation, SignUp};
use crate::web::signed;
use crate::AppState;

pub async fn sign_up_page(State(state): State<AppState>, session: Session) -> PageResult {
    if signed::signed_in(&state, &session).await?.is_some() {
        return Ok(see_other(paths::HOME));
    }
    let flash = take_flash(&session).await?;
    if !crate::flows::sign_up::sign_up_open(&state) {
        return Ok(render_page(
            StatusCode::OK,
            "Sign-up is by invitation only",
            move || {
                view! {
                    <AuthCard title="Sign-up is by invitation only">
                        <p class="notice" role="status">
                            {crate::flows::sign_up::CLOSED_MESSAGE}
                        </p>
                        <p class="switch">
                            "Already have an account? " <a href=paths::SIGN_IN>"Sign in"</a>
                        </p>
                    </AuthCard>
                }
            },
        ));
    }
    Ok(render_page(
        StatusCode::OK,
        "Create your account",
        move || {
            view! {
                <AuthCard title="Create your account">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <form method="post" action=SignUp::PATH novalidate=true>
                        <Field
                            label="Email"
                            name="email"
                            kind="email"
                            autocomplete="username"
                            value=flash.value_of("email")
                            error=flash.field("email")
                            autofocus=true
                            hint=Some(
                                "We will email you a link. You choose your password on the page it opens.",
                            )
                        />
                        <button type="submit" class="primary">
                            "Continue"
                        </button>
                    </form>
                    <p class="switch">
                        "Already have an account? " <a href=paths::SIGN_IN>"Sign in"</a>
                    </p>
                </AuthCard>
            }
        },
    ))
}

pub async fn check_email_page(session: Session) -> PageResult {
    let flash = take_flash(&session).await?;
    let email = session::pending_email(&session).await?;
    Ok(render_page(StatusCode::OK, "Check your email", move || {
        let sent_to = match email.clone() {
            Some(e) => view! {
                <p>
                    "We sent a link to " <strong>{e}</strong>
                    ". Open it to confirm your email address and choose your password."
                </p>
            }.into_any(),
            None => view! {
                <p>
                    "We sent you a link. Open it to confirm your email address and choose your password."
                </p>
            }.into_any(),
        };
        view! {
            <AuthCard title="Check your email">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                {sent_to}
                <p class="muted">
                    "The link works for 24 hours. Nothing arrived? Check your spam folder, or ask for another email."
                </p>
                <form method="post" action=ResendConfirmation::PATH>
                    <button type="submit" class="secondary">
                        "Resend email"
                    </button>
                </form>
                <p class="switch">
                    <a href=paths::SIGN_IN>"Back to sign in"</a>
                </p>
            </AuthCard>
        }
    }))
}

/// "Resend the confirmation email": enter an address; the answer is the same whether or not
/// anything is waiting for it.
pub async fn resend_page(session: Session) -> PageResult {
    let flash = take_flash(&session).await?;
    let remembered = session::pending_email(&session).await?;
    Ok(render_page(
        StatusCode::OK,
        "Resend the confirmation email",
        move || {
            view! {
                <AuthCard title="Resend the confirmation email">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p>
                        "Enter the address you signed up with. If it is waiting to be confirmed, we will send it a new link (earlier links stop working)."
                    </p>
                    <form method="post" action=ResendConfirmation::PATH novalidate=true>
                        <Field
                            label="Email"
                            name="email"
                            kind="email"
                            autocomplete="username"
                            value=flash.value_of("email").or(remembered.clone())
                            error=flash.field("email")
                            autofocus=true
                        />
                        <button type="submit" class="primary">
                            "Send a new link"
                        </button>
                    </form>
                    <p class="switch">
                        <a href=paths::SIGN_IN>"Back to sign in"</a>
                    </p>
                </AuthCard>
            }
        },
    ))
}
