//! The single sign-on settings page, for owners: connections to OpenID providers, the domains
//! they claim, enforcement, and the redirect URI to register at the provider.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use super::account::signed_in_member;
use super::{errors, PageResult};
use crate::domain::roles::can_own;
use crate::flows::sso::redirect_uri;
use crate::web::actions::{
    CreateSsoConnection, DeleteSsoConnection, SetSsoEnforced, TestSsoConnection,
};
use crate::web::session::take_flash;
use crate::web::shell::{render_page, Field, Messages, SignedIn};
use crate::AppState;

pub async fn sso_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = match signed_in_member(&state, &session).await? {
        Ok(m) => m,
        Err(redirect) => return Ok(redirect),
    };
    if !member.membership.as_ref().is_some_and(|m| can_own(m.role)) {
        return Ok(errors::forbidden(
            "Only owners of this account can manage single sign-on.",
        ));
    }
    let flash = take_flash(&session).await?;
    let connections = state.store.sso_connections(&member.account_id()).await?;
    let redirect = redirect_uri(&state);
    let chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Single sign-on", move || {
        let list = connections.iter().map(|c| {
            let toggle = if c.enforced { "false" } else { "true" };
            view! {
                <tr>
                    <td>{c.issuer.clone()}</td>
                    <td><code>{c.client_id.clone()}</code></td>
                    <td>{c.domains.join(", ")}</td>
                    <td>{if c.enforced { "Enforced" } else { "Offered" }}</td>
                    <td>
                        <form method="post" action=SetSsoEnforced::PATH class="inline">
                            <input type="hidden" name="id" value=c.id.clone()/>
                            <input type="hidden" name="enforced" value=toggle/>
                            <button type="submit" class="secondary small">{if c.enforced { "Stop enforcing" } else { "Enforce" }}</button>
                        </form>
                        <form method="post" action=TestSsoConnection::PATH class="inline">
                            <input type="hidden" name="id" value=c.id.clone()/>
                            <button type="submit" class="secondary small">"Test connection"</button>
                        </form>
                        <form method="post" action=DeleteSsoConnection::PATH class="inline">
                            <input type="hidden" name="id" value=c.id.clone()/>
                            <button type="submit" class="link danger-link">"Delete"</button>
                        </form>
                    </td>
                </tr>
            }
        }).collect_view();
        let has_connections = !connections.is_empty();
        view! {
            <SignedIn chrome=chrome.clone() current="/settings/sso">
                <Messages notice=flash.notice.clone() error=flash.error.clone()/>
                <h1>"Single sign-on"</h1>
                <p>"Register this redirect URI at your identity provider:"</p>
                <p><code class="key" id="redirect-uri">{redirect.clone()}</code></p>
                {if has_connections {
                    view! {
                        <table class="sso">
                            <thead><tr><th scope="col">"Issuer"</th><th scope="col">"Client id"</th><th scope="col">"Domains"</th><th scope="col">"Mode"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>{list}</tbody>
                        </table>
                    }.into_any()
                } else {
                    view! { <p class="empty">"No identity provider is connected yet."</p> }.into_any()
                }}
                <h2>"Connect an identity provider"</h2>
                <form method="post" action=CreateSsoConnection::PATH class="stack" novalidate=true>
                    <Field label="Issuer URL" name="issuer" kind="url" autocomplete="off"
                        value=flash.value_of("issuer") error=flash.field("issuer")
                        hint=Some("Its OpenID discovery document must be at /.well-known/openid-configuration.")/>
                    <Field label="Client id" name="client_id" kind="text" autocomplete="off"
                        value=flash.value_of("client_id") error=flash.field("client_id")/>
                    <Field label="Client secret" name="client_secret" kind="password" autocomplete="off"
                        error=flash.field("client_secret")
                        hint=Some("Stored encrypted and never shown again.")/>
                    <Field label="Email domains" name="domains" kind="text" autocomplete="off"
                        value=flash.value_of("domains") error=flash.field("domains")
                        hint=Some("Comma-separated, e.g. example.com. Your own confirmed email must be on each; public mail providers cannot be claimed.")/>
                    <label class="check" for="field-enforced">
                        <input type="checkbox" id="field-enforced" name="enforced" value="on"/>
                        "Enforce: people on these domains must sign in through the provider (owners and admins keep a password path)"
                    </label>
                    <button type="submit" class="primary">"Connect"</button>
                </form>
            </SignedIn>
        }
    }))
}
