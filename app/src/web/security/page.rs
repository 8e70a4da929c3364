//! The Security page: one section per thing a person secures about themselves — their
//! password, where they are signed in, and the API keys they created.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::domain::sessions::SessionInfo;
use crate::flows::security::{self, OwnKey};
use crate::paths;
use crate::session::{self, take_flash, Flash};
use crate::web::respond::PageResult;
use crate::web::security::actions::{ChangePassword, EndOtherSessions, EndSession};
use crate::web::shell::{human_time, render_page, Field, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn security_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let signed = &member.signed;
    let has_password = security::has_password(&state, signed).await?;
    let sessions = security::sessions(&state, signed).await?;
    let keys = security::keys_created(&state, signed).await?;
    let here = session::handle_of(&session);
    let chrome = member.chrome();
    let email = signed.email().to_owned();
    let two_factor = crate::flows::second_factors::status(&state, signed).await?;
    Ok(render_page(StatusCode::OK, "Security", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                <p class="eyebrow">"Your settings"</p>
                <h1>"Security"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p class="muted">
                    {format!(
                        "How you, {email}, sign in to Terminus Hub, in every account you belong to.",
                    )}
                </p>
                <PasswordSection
                    email=email.clone()
                    has_password=has_password
                    flash=flash.clone()
                />
                <section aria-labelledby="email-heading">
                    <h2 id="email-heading">"Email"</h2>
                    <p>
                        "You sign in with " <strong>{email.clone()}</strong> ". "
                        <a href=paths::SECURITY_EMAIL>"Change your email"</a>
                    </p>
                </section>
                <section id="two-factor">
                    <h2>"Two-factor authentication"</h2>
                    <p>{crate::web::security::two_factor::summary(&two_factor)}</p>
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
                <SessionsSection sessions=sessions.clone() here=here.clone() />
                <KeysSection keys=keys.clone() />
            </SignedIn>
        }
    }))
}

#[component]
fn PasswordSection(email: String, has_password: bool, flash: Flash) -> impl IntoView {
    if !has_password {
        return view! {
            <section aria-labelledby="password-heading">
                <h2 id="password-heading">"Password"</h2>
                <p>{security::NO_PASSWORD_YET}</p>
            </section>
        }
        .into_any();
    }
    let first_error = flash.field("current_password").is_some();
    view! {
        <section aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <p class="muted">
                "Changing it signs you out everywhere else, and we email you a notice."
            </p>
            <form method="post" action=ChangePassword::PATH class="stack" novalidate=true>
                // For password managers: whose password this is.
                <input type="email" autocomplete="username" value=email hidden=true readonly=true />
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    error=flash.field("current_password")
                    autofocus=first_error
                />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    error=flash.field("new_password")
                    autofocus=!first_error && flash.field("new_password").is_some()
                    hint=Some("8 to 128 characters. A few unrelated words make a strong password.")
                />
                <button type="submit" class="primary">
                    "Change password"
                </button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn SessionsSection(sessions: Vec<SessionInfo>, here: Option<String>) -> impl IntoView {
    let others = sessions
        .iter()
        .filter(|s| Some(&s.handle) != here.as_ref())
        .count();
    let rows = sessions
        .into_iter()
        .map(|s| {
            let this_one = Some(&s.handle) == here.as_ref();
            let device = s.device();
            let ip = s.ip.clone().unwrap_or_else(|| "—".into());
            let started = s.started_at.map(human_time).unwrap_or_else(|| "—".into());
            let seen = human_time(s.last_seen());
            let action = if this_one {
                view! { <span class="badge">"This device"</span> }.into_any()
            } else {
                view! {
                    <form method="post" action=EndSession::PATH class="inline">
                        <input type="hidden" name="session" value=s.handle.clone() />
                        <button
                            type="submit"
                            class="link danger-link"
                            aria-label=format!("Sign out {device}")
                        >
                            "Sign out"
                        </button>
                    </form>
                }
                .into_any()
            };
            view! {
                <tr>
                    <td data-label="Device">{s.device()}</td>
                    <td data-label="IP">{ip}</td>
                    <td data-label="How">{s.method_label()}</td>
                    <td data-label="Started">{started}</td>
                    <td data-label="Last seen">{seen}</td>
                    <td>{action}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Where you're signed in"</h2>
            <table class="sessions">
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"IP"</th>
                        <th scope="col">"How"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(others > 0)
                .then(|| {
                    view! {
                        <form method="post" action=EndOtherSessions::PATH>
                            <button type="submit" class="secondary">
                                "Sign out all other sessions"
                            </button>
                        </form>
                    }
                })}
        </section>
    }
}

#[component]
fn KeysSection(keys: Vec<OwnKey>) -> impl IntoView {
    let body = if keys.is_empty() {
        view! { <p class="empty">"You have not created any API keys that are still live."</p> }
            .into_any()
    } else {
        let rows = keys
            .into_iter()
            .map(|k| {
                view! {
                    <tr>
                        <td data-label="Account">{k.account_name.clone()}</td>
                        <td data-label="Name">{k.key.name.clone()}</td>
                        <td data-label="Key">
                            <code>{format!("{}…", k.key.hint)}</code>
                        </td>
                        <td data-label="Created">{human_time(k.key.created_at)}</td>
                        <td data-label="Last used">
                            {k.key.last_used_at.map(human_time).unwrap_or_else(|| "Never".into())}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="keys">
                <thead>
                    <tr>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted">"To delete a key, switch to its account and open API keys there."</p>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="keys-heading">
            <h2 id="keys-heading">"API keys you created"</h2>
            <p class="muted">
                "After a password change, check that every key here is one you expect."
            </p>
            {body}
        </section>
    }
}
