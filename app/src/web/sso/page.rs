//! The single sign-on settings pages, for owners: connections to OpenID providers for the
//! account's verified domains, the redirect URI to register, the test sign-in, and the
//! confirmation that comes before enforcement.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::domain::ids::ConnectionId;
use crate::paths;

use crate::flows::sso::{self, redirect_uri};
use crate::session::take_flash;
use crate::web::respond::PageResult;
use crate::web::shell::human_time;
use crate::web::shell::{render_page, Field, Messages, SignedIn};
use crate::web::signed::{self};
use crate::web::sso::actions::{
    CreateSsoConnection, DeleteSsoConnection, SetSsoCreateUsers, SetSsoEnforced, StartSsoTest,
    TestSsoConnection,
};
use crate::AppState;

const PATH: &str = paths::SSO;

pub async fn sso_page(State(state): State<AppState>, session: Session) -> PageResult {
    let (member, owner) = signed::owner(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let connections = sso::list(&state, &owner).await?;
    let verified = sso::unconnected_domains(&state, &owner, &connections).await?;
    let redirect = redirect_uri(&state);
    let invite_only = state.config.signup == crate::SignUpPolicy::InviteOnly;
    let chrome = member.chrome();
    // After a failed submit, focus goes to the first field in error.
    let first_error = ["issuer", "client_id", "client_secret", "domains"]
        .into_iter()
        .find(|f| flash.field(f).is_some());
    Ok(render_page(StatusCode::OK, "Single sign-on", move || {
        let list = connections
            .iter()
            .map(|c| {
                let domains = c
                    .domains
                    .iter()
                    .map(|d| {
                        if d.verified {
                            d.domain.clone()
                        } else {
                            format!("{} (not verified: not used)", d.domain)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let tested = match c.tested_at {
                    Some(at) => format!("Test sign-in completed {}", human_time(at)),
                    None => "No test sign-in yet".to_owned(),
                };
                let enforce_link = paths::sso_enforcement(&c.id);
                let creates = format!(
                    "Create users on first sign-in: {}",
                    if c.create_users { "on" } else { "off" }
                );
                let (toggle_value, toggle_label) = if c.create_users {
                    ("false", "Stop creating users")
                } else {
                    ("true", "Create users on first sign-in")
                };
                view! {
                    <tr>
                        <td>{c.issuer.clone()}</td>
                        <td>
                            <code>{c.client_id.clone()}</code>
                        </td>
                        <td>{domains}</td>
                        <td>
                            {if c.enforced { "Enforced" } else { "Offered" }}<br />
                            <span class="muted">{tested}</span><br />
                            <span class="muted">{creates}</span>
                        </td>
                        <td>
                            <form method="post" action=TestSsoConnection::PATH class="inline">
                                <input type="hidden" name="id" value=c.id.clone() />
                                <button type="submit" class="secondary small">
                                    "Test connection"
                                </button>
                            </form>
                            <form method="post" action=StartSsoTest::PATH class="inline">
                                <input type="hidden" name="id" value=c.id.clone() />
                                <button type="submit" class="secondary small">
                                    "Test sign-in"
                                </button>
                            </form>
                            {if c.enforced {
                                view! {
                                    <form method="post" action=SetSsoEnforced::PATH class="inline">
                                        <input type="hidden" name="id" value=c.id.clone() />
                                        <input type="hidden" name="enforced" value="false" />
                                        <button type="submit" class="secondary small">
                                            "Stop enforcing"
                                        </button>
                                    </form>
                                }
                                    .into_any()
                            } else {
                                view! {
                                    <a href=enforce_link class="button secondary small">
                                        "Enforce…"
                                    </a>
                                }
                                    .into_any()
                            }}
                            <form method="post" action=SetSsoCreateUsers::PATH class="inline">
                                <input type="hidden" name="id" value=c.id.clone() />
                                <input type="hidden" name="create_users" value=toggle_value />
                                <button type="submit" class="secondary small">
                                    {toggle_label}
                                </button>
                            </form>
                            <form method="post" action=DeleteSsoConnection::PATH class="inline">
                                <input type="hidden" name="id" value=c.id.clone() />
                                <button type="submit" class="link danger-link">
                                    "Delete"
                                </button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let has_connections = !connections.is_empty();
        // What "create users on first sign-in" means on this server.
        let policy_note = if invite_only {
            "This server is invite-only: a first sign-in through the provider lets in only invited people and people who already have a user here, unless the connection creates users on first sign-in, your choice: then anyone the provider signs in on its domains becomes a member of this account."
        } else {
            "This server is open for sign-up: anyone the provider signs in on its domains becomes a member of this account at their first sign-in. \"Create users on first sign-in\" matters once the server is invite-only."
        };
        let suggested = flash
            .value_of("domains")
            .or_else(|| (!verified.is_empty()).then(|| verified.join(", ")));
        view! {
            <SignedIn chrome=chrome.clone() current=PATH>
                <h1>"Single sign-on"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>"Register this redirect URI at your identity provider:"</p>
                <p>
                    <code class="key" id="redirect-uri">
                        {redirect.clone()}
                    </code>
                </p>
                {if has_connections {
                    view! {
                        <table class="sso">
                            <thead>
                                <tr>
                                    <th scope="col">"Issuer"</th>
                                    <th scope="col">"Client id"</th>
                                    <th scope="col">"Domains"</th>
                                    <th scope="col">"Mode"</th>
                                    <th scope="col">
                                        <span class="visually-hidden">"Actions"</span>
                                    </th>
                                </tr>
                            </thead>
                            <tbody>{list}</tbody>
                        </table>
                        <p class="muted">
                            "Enforcing sends everyone on these domains to the provider; it becomes possible after a completed test sign-in. Owners and admins keep a password."
                        </p>
                        <p class="muted">{policy_note}</p>
                    }
                        .into_any()
                } else {
                    view! { <p class="empty">"No identity provider is connected yet."</p> }
                        .into_any()
                }}
                <h2>"Connect an identity provider"</h2>
                <form method="post" action=CreateSsoConnection::PATH class="stack" novalidate=true>
                    <Field
                        label="Issuer URL"
                        name="issuer"
                        kind="url"
                        autocomplete="off"
                        value=flash.value_of("issuer")
                        error=flash.field("issuer")
                        autofocus=first_error == Some("issuer")
                        hint=Some(
                            "Its OpenID discovery document must be at /.well-known/openid-configuration. It is checked before the connection is saved.",
                        )
                    />
                    <Field
                        label="Client id"
                        name="client_id"
                        kind="text"
                        autocomplete="off"
                        value=flash.value_of("client_id")
                        error=flash.field("client_id")
                        autofocus=first_error == Some("client_id")
                    />
                    <Field
                        label="Client secret"
                        name="client_secret"
                        kind="password"
                        autocomplete="off"
                        error=flash.field("client_secret")
                        autofocus=first_error == Some("client_secret")
                        hint=Some("Stored encrypted and never shown again.")
                    />
                    <Field
                        label="Domains"
                        name="domains"
                        kind="text"
                        autocomplete="off"
                        value=suggested
                        error=flash.field("domains")
                        autofocus=first_error == Some("domains")
                        hint=Some("Comma-separated verified domains of this account (see Domains).")
                    />
                    <label class="check" for="field-create-users">
                        <input
                            type="checkbox"
                            id="field-create-users"
                            name="create_users"
                            value="true"
                        />
                        "Create users on first sign-in"
                    </label>
                    <p class="hint">{policy_note}</p>
                    <button type="submit" class="primary">
                        "Connect"
                    </button>
                </form>
            </SignedIn>
        }
    }))
}

/// "Enforce single sign-on?": says whom it affects, and asks for a confirmation.
pub async fn confirm_enforce_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let (member, owner) = signed::owner(&state, &session).await?;
    let (connection, affected) =
        sso::enforcement_preview(&state, &owner, &ConnectionId::from_input(&id)).await?;
    let chrome = member.chrome();
    Ok(render_page(
        StatusCode::OK,
        "Enforce single sign-on",
        move || {
            let domains = connection
                .domains
                .iter()
                .filter(|d| d.verified)
                .map(|d| d.domain.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let body = if connection.tested_at.is_none() {
                view! {
                    <p role="alert" class="alert">
                        "Complete a test sign-in through this provider first: enforcing a provider that has never signed anyone in could lock everyone on these domains out."
                    </p>
                    <form method="post" action=StartSsoTest::PATH class="inline">
                        <input type="hidden" name="id" value=connection.id.clone() />
                        <button type="submit" class="primary">
                            "Test sign-in"
                        </button>
                    </form>
                    " "
                    <a href=PATH>"Cancel"</a>
                }.into_any()
            } else {
                view! {
                    <p>
                        {format!(
                            "Enforcing {} for {domains} affects {affected} {} on these domains who {} not owners or admins of this account.",
                            connection.issuer,
                            if affected == 1 { "person" } else { "people" },
                            if affected == 1 { "is" } else { "are" },
                        )}
                    </p>
                    <p>
                        "From now on they sign in only through the provider; their current password sessions end now. Owners and admins keep a password."
                    </p>
                    <form method="post" action=SetSsoEnforced::PATH class="inline">
                        <input type="hidden" name="id" value=connection.id.clone() />
                        <input type="hidden" name="enforced" value="true" />
                        <button type="submit" class="danger">
                            "Enforce single sign-on"
                        </button>
                    </form>
                    " "
                    <a href=PATH>"Cancel"</a>
                }.into_any()
            };
            view! {
                <SignedIn chrome=chrome.clone() current=PATH>
                    <h1>"Enforce single sign-on"</h1>
                    {body}
                </SignedIn>
            }
        },
    ))
}
