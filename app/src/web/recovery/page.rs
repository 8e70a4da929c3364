//! "Forgot password": ask for an address, then "if an account exists, we sent a link".
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use super::actions::ForgotPassword;
use crate::paths;
use crate::session::{self, take_flash};
use crate::web::respond::PageResult;
use crate::web::shell::{render_page, AuthCard, Field, Messages};

pub async fn forgot_page(session: Session) -> PageResult {
    let flash = take_flash(&session).await?;
    let remembered = session::sign_in_email(&session).await?;
    Ok(render_page(
        StatusCode::OK,
        "Reset your password",
        move || {
            view! {
                <AuthCard title="Reset your password">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p>
                        "Enter the email address of your account and we will send you a link to choose a new password."
                    </p>
                    <form method="post" action=ForgotPassword::PATH novalidate=true>
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
                            "Send reset link"
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

pub async fn forgot_sent_page(session: Session) -> PageResult {
    let email = session::pending_email(&session).await?.unwrap_or_default();
    Ok(render_page(StatusCode::OK, "Check your email", move || {
        view! {
            <AuthCard title="Check your email">
                <p role="status" class="notice">
                    {format!(
                        "If an account exists for {email}, we sent a link to reset its password.",
                    )}
                </p>
                <p class="muted">
                    "The link works for 1 hour. Nothing arrived? Check your spam folder or try again in a minute."
                </p>
                <p class="switch">
                    <a href=paths::SIGN_IN>"Back to sign in"</a>
                </p>
            </AuthCard>
        }
    }))
}
