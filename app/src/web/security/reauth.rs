//! "Confirm it's you": the page a sensitive change sends a person to when their sign-in is not
//! recent (see `domain::reauth`), with a passkey, their password (and second factor) or their
//! single sign-on provider; then back to the form they came from, with what they typed.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::flows::security;
use crate::paths;
use crate::session::{self, take_flash, Flash};
use crate::web::respond::{see_other, PageResult};
use crate::web::security::actions::{Reauthenticate, ReauthenticateWithSso};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::signed;
use crate::AppState;

pub async fn reauth_page(State(state): State<AppState>, session: Session) -> PageResult {
    let Some(signed) = signed::signed_in(&state, &session).await? else {
        return Ok(see_other(paths::SIGN_IN));
    };
    let flash = take_flash(&session).await?;
    let has_password = security::has_password(&state, &signed).await?;
    let factors = crate::flows::second_factors::status(&state, &signed).await?;
    let two_factor = factors.enabled();
    let code_label = if factors.has_app() {
        "Code from your authenticator app, or a recovery code"
    } else {
        "Recovery code"
    };
    let passkey = factors.passkeys > 0 && crate::flows::passkeys::available(&state);
    let sso = security::reauthentication_provider(&state, &signed)
        .await?
        .is_some();
    let email = signed.email().to_owned();
    Ok(render_page(StatusCode::OK, "Confirm it's you", move || {
        let password_form = has_password.then(|| {
            view! {
                <form method="post" action=Reauthenticate::PATH novalidate=true>
                    <input
                        type="email"
                        autocomplete="username"
                        value=email.clone()
                        hidden=true
                        readonly=true
                    />
                    <Field
                        label="Password"
                        name="password"
                        kind="password"
                        autocomplete="current-password"
                        error=flash.field("password")
                        autofocus=flash.field("password").is_some() || flash.field("code").is_none()
                    />
                    {two_factor
                        .then(|| {
                            view! {
                                <Field
                                    label=code_label
                                    name="code"
                                    kind="text"
                                    autocomplete="one-time-code"
                                    error=flash.field("code")
                                    autofocus=flash.field("password").is_none()
                                        && flash.field("code").is_some()
                                />
                            }
                        })}
                    <button type="submit" class="primary">
                        "Confirm"
                    </button>
                </form>
                <p class="links">
                    <a href=paths::FORGOT>"Forgot your password?"</a>
                </p>
            }
        });
        let passkey_button = passkey.then(|| {
            view! {
                <div
                    class="passkey"
                    data-passkey-second-step=paths::PASSKEY_REAUTH_OPTIONS
                    data-passkey-finish=paths::PASSKEY_REAUTH_FINISH
                >
                    <button type="button" class="secondary" id="use-passkey" hidden=true>
                        "Confirm with a passkey"
                    </button>
                    <p role="alert" class="alert" hidden=true></p>
                    <script src=paths::PASSKEYS_SCRIPT defer=true></script>
                </div>
            }
        });
        let sso_form = sso.then(|| {
            view! {
                <form method="post" action=ReauthenticateWithSso::PATH>
                    <button type="submit" class="secondary">
                        "Confirm with single sign-on"
                    </button>
                </form>
            }
        });
        let neither = (!has_password && !sso && !passkey).then(|| {
            view! {
                <p role="alert" class="alert">
                    "You have no password and no single sign-on provider here to confirm with. Set a password with \"Forgot your password?\" on the sign-in page."
                </p>
            }
        });
        view! {
            <AuthCard title="Confirm it's you">
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>
                    "This change needs a recent sign-in. Confirm that you are "
                    <strong>{email.clone()}</strong> " to continue."
                </p>
                {passkey_button}
                {password_form}
                {sso_form}
                {neither}
                <p class="muted">
                    <a href=paths::HOME>"Cancel"</a>
                </p>
            </AuthCard>
        }
    }))
}

/// After a re-authentication: back to the form that asked for it, with what was typed there
/// (or to the Security page when nothing asked).
pub async fn back_to_the_form(session: &Session) -> session::SessionResult<String> {
    match session::take_reauth_return(session).await? {
        Some(back) => {
            session::set_flash(session, back.flash).await?;
            Ok(back.path)
        }
        None => {
            session::set_flash(session, Flash::notice("Thanks, that's you.")).await?;
            Ok(paths::SECURITY.to_owned())
        }
    }
}

/// Sends the browser to "Confirm it's you", to come back to `back` with `flash` (what was
/// typed there): how a page handler (not a server function) answers [`reauth::required`].
///
/// [`reauth::required`]: crate::domain::reauth::required
pub async fn detour(session: &Session, back: &str, flash: Flash) -> PageResult {
    let back = session::ReauthReturn {
        path: back.to_owned(),
        flash,
    };
    session::set_reauth_return(session, back).await?;
    Ok(see_other(paths::REAUTHENTICATE))
}
