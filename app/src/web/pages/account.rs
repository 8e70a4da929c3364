//! The signed-in home: the current account and its workspaces. Also the shared lookup of
//! "who is signed in, in which account, with which role" that signed-in pages start with.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;
use tower_sessions::Session;

use super::{see_other, PageError, PageResult};
use crate::domain::members::Membership;
use crate::domain::roles::Role;
use crate::web::session::{self, take_flash, SignedIn as SignedInUser};
use crate::web::shell::{render_page, Chrome, Messages, SignedIn};
use crate::AppState;

/// A signed-in person in their current account.
pub struct Member {
    pub user: SignedInUser,
    pub membership: Option<Membership>,
}

impl Member {
    /// The member as the actor of a change, when they are in an account.
    pub fn actor(&self) -> Option<crate::flows::members::Actor> {
        self.membership
            .as_ref()
            .map(|m| crate::flows::members::Actor {
                user_id: self.user.auth.user_id.clone(),
                email: self.user.email.clone(),
                account_id: m.account_id.clone(),
                role: m.role,
            })
    }

    pub fn account_id(&self) -> String {
        self.membership
            .as_ref()
            .map(|m| m.account_id.clone())
            .unwrap_or_default()
    }

    pub fn chrome(&self) -> Chrome {
        Chrome {
            account_name: self
                .membership
                .as_ref()
                .map(|m| m.account_name.clone())
                .unwrap_or_else(|| "No account".into()),
            email: self.user.email.clone(),
            is_admin: self.is_admin(),
            is_owner: matches!(self.membership.as_ref().map(|m| m.role), Some(Role::Owner)),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self.membership.as_ref().map(|m| m.role),
            Some(Role::Owner | Role::Admin)
        )
    }
}

/// The signed-in member in their current account, or where to send them instead: sign-in
/// when signed out, the account picker when no current account is chosen or they no longer
/// belong to it. The role is read from the store on every request, so a change of role or a
/// removal takes effect at once.
pub async fn signed_in_member(
    state: &AppState,
    session: &Session,
) -> Result<Result<Member, Response>, PageError> {
    let Some(user) = session::current_user(state, session).await? else {
        return Ok(Err(see_other("/sign-in")));
    };
    let memberships = state.store.memberships(&user.auth.user_id).await?;
    let membership = user
        .auth
        .account_id
        .as_ref()
        .and_then(|id| memberships.iter().find(|m| &m.account_id == id))
        .cloned();
    if membership.is_none() {
        session::set_current_account(session, None).await?;
        return Ok(Err(see_other("/accounts")));
    }
    Ok(Ok(Member { user, membership }))
}

pub async fn home_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = match signed_in_member(&state, &session).await? {
        Ok(m) => m,
        Err(redirect) => return Ok(redirect),
    };
    let flash = take_flash(&session).await?;
    let workspaces = match &member.membership {
        Some(m) => state.store.workspaces(&m.account_id).await?,
        None => Vec::new(),
    };
    let chrome = member.chrome();
    let role = member
        .membership
        .as_ref()
        .map(|m| m.role.as_str())
        .unwrap_or("");
    let title = chrome.account_name.clone();
    Ok(render_page(StatusCode::OK, &title, move || {
        view! {
            <SignedIn chrome=chrome.clone() current="/home">
                <Messages notice=flash.notice.clone() error=flash.error.clone()/>
                <p class="eyebrow">{format!("{} · {role}", chrome.account_name)}</p>
                <h1>"Workspaces"</h1>
                <ul class="workspaces">
                    {workspaces
                        .iter()
                        .map(|w| view! {
                            <li class="workspace">
                                <span class="ws-name">{w.name.clone()}</span>
                                <span class="muted">{format!("Created {}", human_time(w.created_at))}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </SignedIn>
        }
    }))
}

/// "2026-11-22 05:07 UTC".
pub fn human_time(t: crate::domain::clock::Timestamp) -> String {
    let s = t.to_rfc3339();
    format!("{} UTC", s.get(..16).unwrap_or(&s).replace('T', " "))
}
