//! The HTML shell and the small components every page is built from.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;

use crate::paths;
use crate::web::sign_in::actions::SignOut;
use leptos::server_fn::ServerFn as _;

/// Renders a full page. There is no hydration: the HTML is the whole app, and it works
/// with JavaScript off and under a CSP without inline scripts.
pub fn render_page<V>(status: StatusCode, title: &str, body: impl FnOnce() -> V) -> Response
where
    V: IntoView + 'static,
{
    let title = format!("{title} · Terminus Hub");
    let owner = Owner::new();
    let html = owner.with(|| {
        view! {
            <html lang="en">
                <head>
                    <meta charset="utf-8" />
                    <meta name="viewport" content="width=device-width, initial-scale=1" />
                    <meta name="referrer" content="same-origin" />
                    <title>{title}</title>
                    <link rel="stylesheet" href=paths::STYLESHEET />
                    <link rel="icon" href=paths::FAVICON type="image/svg+xml" />
                </head>
                <body>{body()}</body>
            </html>
        }
        .to_html()
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("<!DOCTYPE html>{html}"),
    )
        .into_response()
}

/// The centred card used by every signed-out page.
#[component]
pub fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <main class="auth">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">
                    "T"
                </span>
                <span>"Terminus Hub"</span>
            </a>
            <section class="card" aria-labelledby="page-title">
                <h1 id="page-title">{title}</h1>
                {children()}
            </section>
        </main>
    }
}

/// A status message (`role="status"`) and an error (`role="alert"`), when present.
#[component]
pub fn Messages(notice: Option<String>, error: Option<String>) -> impl IntoView {
    view! {
        {notice
            .map(|n| {
                view! {
                    <p class="notice" role="status">
                        {n}
                    </p>
                }
            })}
        {error
            .map(|e| {
                view! {
                    <p class="alert" role="alert">
                        {e}
                    </p>
                }
            })}
    }
}

/// Text to copy (`<code id=id>`) and its "Copy" button, which `copy.js` shows and wires up
/// (progressive enhancement: without JavaScript the button stays hidden and the text is plain,
/// selectable HTML). `what` finishes the button's name for screen readers ("Copy the id of
/// Ledger"); `id` must be unique on the page. A page that uses it includes [`CopyScript`].
#[component]
pub fn Copyable(
    id: String,
    text: String,
    what: String,
    #[prop(optional)] class: Option<&'static str>,
) -> impl IntoView {
    let target = id.clone();
    view! {
        <span class="copyable">
            <code id=id class=class>
                {text}
            </code>
            <button type="button" class="secondary small" data-copy=target hidden=true>
                "Copy"
                <span class="visually-hidden">{format!(" {what}")}</span>
            </button>
        </span>
    }
}

/// The script behind [`Copyable`]'s buttons (a file of this origin, so the CSP allows it).
#[component]
pub fn CopyScript() -> impl IntoView {
    view! { <script src=paths::COPY_SCRIPT defer=true></script> }
}

/// A labelled input with its error message next to it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(default = None)] value: Option<String>,
    #[prop(default = None)] error: Option<String>,
    #[prop(optional)] readonly: bool,
    #[prop(optional)] autofocus: bool,
    #[prop(default = None)] hint: Option<&'static str>,
    /// The keyboard to offer (`numeric` for one-time codes).
    #[prop(default = None)]
    inputmode: Option<&'static str>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let invalid = error.is_some();
    let described_by = match (invalid, hint.is_some()) {
        (true, _) => Some(error_id.clone()),
        (false, true) => Some(hint_id.clone()),
        (false, false) => None,
    };
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            {hint
                .map(|h| {
                    view! {
                        <p class="hint" id=hint_id>
                            {h}
                        </p>
                    }
                })}
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                value=value
                required=true
                readonly=readonly
                autofocus=autofocus
                aria-invalid=if invalid { "true" } else { "false" }
                aria-describedby=described_by
            />
            {error
                .map(|e| {
                    view! {
                        <p class="field-error" id=error_id>
                            {e}
                        </p>
                    }
                })}
        </div>
    }
}

/// What the header of every signed-in page shows.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub account_name: String,
    pub email: String,
    /// Owners and admins see the admin pages in the navigation.
    pub is_admin: bool,
    /// Owners also see the single sign-on settings.
    pub is_owner: bool,
}

/// The layout of signed-in pages: a header with navigation and the sign-out button.
#[component]
pub fn SignedIn(chrome: Chrome, current: &'static str, children: Children) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        let here = href == current;
        view! {
            <a href=href aria-current=here.then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href=paths::HOME>
                <span class="brand-mark" aria-hidden="true">
                    "T"
                </span>
                <span>"Terminus Hub"</span>
            </a>
            <nav aria-label="Main">
                {link(paths::HOME, "Workspaces")}
                {chrome.is_admin.then(|| link(paths::MEMBERS, "Members"))}
                {chrome.is_admin.then(|| link(paths::API_KEYS, "API keys"))}
                {chrome.is_admin.then(|| link(paths::ACTIVITY, "Activity"))}
                {chrome.is_owner.then(|| link(paths::DOMAINS, "Domains"))}
                {chrome.is_owner.then(|| link(paths::SSO, "Single sign-on"))}
                {link(paths::ACCOUNT_SETTINGS, "Account")}
            </nav>
            <div class="who">
                <span class="account-name">{chrome.account_name.clone()}</span>
                <a class="switch-account" href=paths::ACCOUNTS>
                    "Switch account"
                </a>
                <details class="user-menu">
                    <summary>{chrome.email.clone()}</summary>
                    <div class="user-menu-items">
                        <a
                            href=paths::SECURITY
                            aria-current=(current == paths::SECURITY).then_some("page")
                        >
                            "Security"
                        </a>
                        <form method="post" action=SignOut::PATH>
                            <button type="submit" class="link">
                                "Sign out"
                            </button>
                        </form>
                    </div>
                </details>
            </div>
        </header>
        <main class="page">{children()}</main>
    }
}

/// "2026-11-22 05:07 UTC".
pub fn human_time(t: crate::domain::clock::Timestamp) -> String {
    let s = t.to_rfc3339();
    format!("{} UTC", s.get(..16).unwrap_or(&s).replace('T', " "))
}
