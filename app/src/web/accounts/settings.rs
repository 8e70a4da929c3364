//! The account's settings, for every member: what the account is (name, plan and its limits,
//! what it holds) and "Leave this account"; owners and admins rename it. An action the rules
//! would refuse is not offered: the reason is shown instead (the only owner cannot leave).
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use super::actions::{DeleteAccount, RenameAccount};
use crate::flows::accounts;
use crate::paths;
use crate::session::take_flash;
use crate::web::respond::PageResult;
use crate::web::shell::{human_time, render_page, Field, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn settings_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let overview = accounts::overview(&state, &member.member).await?;
    let (plan, limits) = state.config.plans.resolve(&overview.account.plan);
    let plan = plan.to_owned();
    let is_admin = member.member.is_admin();
    let role = member.member.role();
    let is_owner = role == crate::domain::roles::Role::Owner;
    let sole_owner = is_owner && overview.owners == 1;
    let leave_href = paths::member_removal(member.user_id());
    let chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Account settings", move || {
        let account = overview.account.clone();
        view! {
            <SignedIn chrome=chrome.clone() current=paths::ACCOUNT_SETTINGS>
                <h1>"Account settings"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <dl class="facts" id="account-facts">
                    <dt>"Name"</dt>
                    <dd>{account.name.clone()}</dd>
                    <dt>"Id"</dt>
                    <dd>
                        <code class="id">{account.id.as_str().to_owned()}</code>
                    </dd>
                    <dt>"Your role"</dt>
                    <dd>{role.as_str()}</dd>
                    <dt>"Plan"</dt>
                    <dd id="plan">
                        {format!(
                            "{plan}: {} API requests a minute, bursts of up to {}",
                            limits.per_minute,
                            limits.burst,
                        )}
                    </dd>
                    <dt>"Holds"</dt>
                    <dd>
                        {format!(
                            "{} workspaces, {} members",
                            overview.workspaces,
                            overview.members,
                        )}
                    </dd>
                    <dt>"Usage"</dt>
                    <dd id="usage">
                        {format!("{} API requests in the last 30 days", overview.requests_30_days)}
                    </dd>
                    <dt>"Created"</dt>
                    <dd>{human_time(account.created_at)}</dd>
                </dl>
                {is_admin
                    .then(|| {
                        view! {
                            <h2>"Rename"</h2>
                            <form method="post" action=RenameAccount::PATH novalidate=true>
                                <Field
                                    label="Account name"
                                    name="name"
                                    kind="text"
                                    autocomplete="organization"
                                    value=Some(
                                        flash
                                            .value_of("name")
                                            .unwrap_or_else(|| account.name.clone()),
                                    )
                                    error=flash.field("name")
                                    autofocus=flash.field("name").is_some()
                                />
                                <button type="submit" class="secondary">
                                    "Rename"
                                </button>
                            </form>
                        }
                    })}
                <h2>"Leave this account"</h2>
                {if sole_owner {
                    view! {
                        <p id="cannot-leave">
                            "You are this account's only owner, so you cannot leave it: make another member an owner first."
                        </p>
                    }
                        .into_any()
                } else {
                    view! {
                        <p>
                            "You lose access to its workspaces. An owner or admin can invite you again. "
                            <a class="danger-link" href=leave_href.clone()>
                                "Leave this account…"
                            </a>
                        </p>
                    }
                        .into_any()
                }}
                {is_owner
                    .then(|| {
                        view! {
                            <h2>"Delete this account"</h2>
                            <p>
                                "Deletes its workspaces and records, API keys (scripts are refused at once), domains, single sign-on, invitations and activity log, and signs everyone out of it. This cannot be undone."
                            </p>
                            <form method="post" action=DeleteAccount::PATH novalidate=true>
                                <Field
                                    label="Type the account's name to confirm"
                                    name="confirm"
                                    kind="text"
                                    autocomplete="off"
                                    value=flash.value_of("confirm")
                                    error=flash.field("confirm")
                                    autofocus=flash.field("confirm").is_some()
                                />
                                <button type="submit" class="danger">
                                    "Delete this account"
                                </button>
                            </form>
                        }
                    })}
            </SignedIn>
        }
    }))
}
