//! The account picker: every account the person belongs to, switching between them, and
//! creating another account.
use axum::extract::State;
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::paths;
use crate::web::sign_in::actions::SignOut;

use crate::flows::accounts;
use crate::session::take_flash;
use crate::web::accounts::actions::{CreateAccount, SwitchAccount};
use crate::web::respond::{see_other, PageResult};
use crate::web::shell::{render_page, AuthCard, Field, Messages};
use crate::web::signed;
use crate::AppState;

pub async fn picker_page(State(state): State<AppState>, session: Session) -> PageResult {
    let Some(user) = signed::signed_in(&state, &session).await? else {
        return Ok(see_other(paths::SIGN_IN));
    };
    let flash = take_flash(&session).await?;
    let memberships = accounts::memberships(&state, &user).await?;
    let current = user.auth().account_id.clone();
    let email = user.email().to_owned();
    Ok(render_page(
        StatusCode::OK,
        "Choose an account",
        move || {
            let list = if memberships.is_empty() {
                view! {
                    <p class="empty">
                        "You are not a member of any account any more. Create one to get started."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <ul class="accounts">
                        {memberships
                            .iter()
                            .map(|m| {
                                let here = current.as_ref() == Some(&m.account_id);
                                view! {
                                    <li class="account">
                                        <form method="post" action=SwitchAccount::PATH>
                                            <input
                                                type="hidden"
                                                name="account_id"
                                                value=m.account_id.clone()
                                            />
                                            <button
                                                type="submit"
                                                class="account-choice"
                                                aria-current=here.then_some("true")
                                            >
                                                <span class="ws-name">{m.account_name.clone()}</span>
                                                <span class="muted">
                                                    {m.role.as_str()} {here.then_some(" · current")}
                                                </span>
                                            </button>
                                        </form>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            .into_any()
            };
            view! {
                <AuthCard title="Choose an account">
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p class="muted">{format!("Signed in as {email}")}</p>
                    {list}
                    <h2>"Create another account"</h2>
                    <form method="post" action=CreateAccount::PATH novalidate=true>
                        <Field
                            label="Account name"
                            name="name"
                            kind="text"
                            autocomplete="organization"
                            value=flash.value_of("name")
                            error=flash.field("name")
                            autofocus=flash.field("name").is_some()
                        />
                        <button type="submit" class="secondary">
                            "Create account"
                        </button>
                    </form>
                    <form method="post" action=SignOut::PATH>
                        <button type="submit" class="link">
                            "Sign out"
                        </button>
                    </form>
                </AuthCard>
            }
        },
    ))
}
