//! The Security page: one section per thing a person secures about themselves.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use tower_sessions::Session;

use crate::paths;
use crate::session::take_flash;
use crate::web::respond::PageResult;
use crate::web::shell::{render_page, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn security_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let chrome = member.chrome();
    let email = member.signed.email().to_owned();
    let two_factor = crate::flows::second_factors::status(&state, &member.signed).await?;
    Ok(render_page(StatusCode::OK, "Security", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p class="eyebrow">"Your settings"</p>
                <h1>"Security"</h1>
                <p class="muted">
                    {format!(
                        "How you, {email}, sign in to Terminus Hub, in every account you belong to.",
                    )}
                </p>
                <section id="two-factor">
                    <h2>"Two-factor authentication"</h2>
                    <p>
                        {if two_factor.enabled() {
                            format!(
                                "On: an authenticator app, and {} recovery codes left.",
                                two_factor.recovery_codes_left,
                            )
                        } else {
                            "Off: signing in takes your password only.".to_owned()
                        }}
                    </p>
                    <p>
                        <a href=paths::SECURITY_TWO_FACTOR>
                            {if two_factor.enabled() {
                                "Manage two-factor authentication"
                            } else {
                                "Turn on two-factor authentication"
                            }}
                        </a>
                    </p>
                </section>
            </SignedIn>
        }
    }))
}
