//! The second step of a password sign-in, for a person with a second factor: a code from
//! their authenticator app, their passkey (with JavaScript), or one of their recovery codes.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::auth;
use crate::flows::second_factors::SECOND_STEP_EXPIRED;
use crate::paths;
use crate::session::{self, take_flash, Flash};
use crate::web::respond::{see_other, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::sign_in::actions::{SignInCode, SignInRecoveryCode};
use crate::web::signed;
use crate::AppState;

pub async fn second_factor_page(State(state): State<AppState>, session: Session) -> PageResult {
    if signed::signed_in(&state, &session).await?.is_some() {
        return Ok(see_other(paths::HOME));
    }
    let Some(due) = auth::second_step_due(&state, &session).await? else {
        // Nothing pending (or it took too long): start again.
        if session::sign_in_email(&session).await?.is_some() {
            session::set_flash(&session, Flash::error(SECOND_STEP_EXPIRED)).await?;
        }
        return Ok(see_other(paths::SIGN_IN));
    };
    let choices = crate::flows::passkeys::step_choices(&state, &due).await?;
    let passkey = choices.passkey;
    let flash = take_flash(&session).await?;
    let recovery_error = flash.field("recovery_code");
    let code_focus = recovery_error.is_none() && choices.app;
    // Without an app, the recovery code is the way in without JavaScript: not folded away.
    let recovery_open = recovery_error.is_some() || !choices.app;
    Ok(render_page(
        StatusCode::OK,
        "Two-factor authentication",
        move || {
            view! {
                <AuthCard title="Two-factor authentication">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    {choices
                        .app
                        .then(|| {
                            view! {
                                <p>
                                    "Enter the 6-digit code your authenticator app shows for Terminus Hub."
                                </p>
                                <form method="post" action=SignInCode::PATH novalidate=true>
                                    <Field
                                        label="Code"
                                        name="code"
                                        kind="text"
                                        autocomplete="one-time-code"
                                        inputmode=Some("numeric")
                                        error=flash.field("code")
                                        autofocus=code_focus
                                    />
                                    <button type="submit" class="primary">
                                        "Verify"
                                    </button>
                                </form>
                            }
                        })}
                    {(!choices.app)
                        .then(|| {
                            view! {
                                <p>"Confirm it's you with your passkey, or a recovery code."</p>
                            }
                        })}
                    <details open=recovery_open>
                        <summary>"Use a recovery code instead"</summary>
                        <form method="post" action=SignInRecoveryCode::PATH novalidate=true>
                            <Field
                                label="Recovery code"
                                name="recovery_code"
                                kind="text"
                                autocomplete="off"
                                error=recovery_error.clone()
                                autofocus=recovery_error.is_some()
                                hint=Some(
                                    "One of the codes you saved when you turned on two-factor authentication, like ABCDE-FGHIJ. Each works once.",
                                )
                            />
                            <button type="submit" class="secondary">
                                "Use recovery code"
                            </button>
                        </form>
                    </details>
                    {passkey
                        .then(|| {
                            view! {
                                <div
                                    class="passkey"
                                    data-passkey-second-step=paths::PASSKEY_SECOND_STEP_OPTIONS
                                    data-passkey-finish=paths::PASSKEY_SECOND_STEP_FINISH
                                >
                                    <button
                                        type="button"
                                        class="secondary"
                                        id="use-passkey"
                                        hidden=true
                                    >
                                        "Use a passkey"
                                    </button>
                                    <p class="muted" data-passkey-needs-js="">
                                        "Signing in with your passkey needs JavaScript; a recovery code (or a code from your app) works without it."
                                    </p>
                                    <p role="alert" class="alert" hidden=true></p>
                                    <script src=paths::PASSKEYS_SCRIPT defer=true></script>
                                </div>
                            }
                        })}
                    <p class="links">
                        <a href=paths::SIGN_IN>"Cancel and start again"</a>
                    </p>
                </AuthCard>
            }
        },
    ))
}
