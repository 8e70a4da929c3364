//! The signed-in home: the current account and its workspaces.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use tower_sessions::Session;

use crate::paths;

use crate::flows::accounts;
use crate::session::take_flash;
use crate::web::respond::PageResult;
use crate::web::shell::{human_time, render_page, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn home_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let workspaces = accounts::workspaces(&state, &member.member).await?;
    let chrome = member.chrome();
    let role = member.member.role().as_str();
    let title = chrome.account_name.clone();
    Ok(render_page(StatusCode::OK, &title, move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::HOME>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p class="eyebrow">{format!("{} · {role}", chrome.account_name)}</p>
                <h1>"Workspaces"</h1>
                <ul class="workspaces">
                    {workspaces
                        .iter()
                        .map(|w| {
                            view! {
                                <li class="workspace">
                                    <span class="ws-name">{w.name.clone()}</span>
                                    <span class="muted">
                                        {format!("Created {}", human_time(w.created_at))}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </SignedIn>
        }
    }))
}
