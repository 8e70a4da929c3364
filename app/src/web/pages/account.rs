//! The signed-in home: the current account and its workspaces.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use super::{see_other, PageResult};
use crate::web::actions::SignOut;
use crate::web::session::{self, take_flash};
use crate::web::shell::{render_page, Messages};
use crate::AppState;

pub async fn home_page(State(state): State<AppState>, session: Session) -> PageResult {
    let Some(user) = session::current_user(&state, &session).await? else {
        return Ok(see_other("/sign-in"));
    };
    let flash = take_flash(&session).await?;
    let memberships = state.store.memberships(&user.auth.user_id).await?;
    let current = user
        .auth
        .account_id
        .as_ref()
        .and_then(|id| memberships.iter().find(|m| &m.account_id == id))
        .or(memberships.first())
        .cloned();
    let workspaces = match &current {
        Some(m) => state.store.workspaces(&m.account_id).await?,
        None => Vec::new(),
    };
    let account_name = current
        .as_ref()
        .map(|m| m.account_name.clone())
        .unwrap_or_else(|| "No account".into());
    let role = current.as_ref().map(|m| m.role.as_str()).unwrap_or("");
    let email = user.email.clone();
    let title = account_name.clone();
    Ok(render_page(StatusCode::OK, &title, move || {
        view! {
            <header class="topbar">
                <a class="brand" href="/home">
                    <span class="brand-mark" aria-hidden="true">"T"</span>
                    <span>"Terminus Hub"</span>
                </a>
                <div class="who">
                    <span class="account-name">{account_name.clone()}</span>
                    <span class="muted">{email.clone()}</span>
                    <form method="post" action=SignOut::PATH>
                        <button type="submit" class="link">"Sign out"</button>
                    </form>
                </div>
            </header>
            <main class="page">
                <Messages notice=flash.notice.clone() error=flash.error.clone()/>
                <p class="eyebrow">{format!("{account_name} · {role}")}</p>
                <h1>"Workspaces"</h1>
                <ul class="workspaces">
                    {workspaces
                        .iter()
                        .map(|w| view! {
                            <li class="workspace">
                                <span class="ws-name">{w.name.clone()}</span>
                                <span class="muted">{format!("Created {}", w.created_at.to_rfc3339().replace('T', " ").replace('Z', " UTC"))}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </main>
        }
    }))
}
