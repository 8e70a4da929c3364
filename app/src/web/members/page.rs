//! The members page (owners and admins): members with their roles, pending invitations,
//! inviting by email; and the activity page (audit events).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use crate::domain::ids::UserId;
use crate::domain::roles::Role;
use crate::paths;

use crate::domain::paging::PageRequest;
use crate::flows::members;
use crate::session::take_flash;
use crate::web::members::actions::{
    ChangeMemberRole, InviteMember, RemoveMember, ResendInvitation, ResetMemberSecondFactors,
    RevokeInvitation, SetSecondFactorRequired,
};
use crate::web::respond::PageResult;
use crate::web::shell::human_time;
use crate::web::shell::{render_page, Field, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

pub async fn members_page(State(state): State<AppState>, session: Session) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let flash = take_flash(&session).await?;
    let everything = PageRequest::everything();
    let members = members::list(&state, &admin, &everything).await?.items;
    let invitations = members::invitations(&state, &admin, &everything)
        .await?
        .items;
    let me = member.user_id().clone();
    let is_owner = member.member.is_owner();
    let requires_second_factor = state
        .store
        .account(admin.account_id())
        .await?
        .is_some_and(|a| a.require_second_factor);
    let invite_roles = admin.assignable_roles(None);
    let chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Members", move || {
        // An account always keeps an owner: its only one is offered no change that the rules
        // would refuse (demotion, removal, leaving), and the page says why.
        let owners = members.iter().filter(|m| m.role == Role::Owner).count();
        let rows = members.iter().map(|m| {
            let last_owner = m.role == Role::Owner && owners == 1;
            let assignable = if last_owner {
                Vec::new()
            } else {
                admin.assignable_roles(Some(m.role))
            };
            let removable = !last_owner && admin.may_remove_member(&m.user_id, m.role);
            let current = m.role;
            let select_id = format!("role-{}", m.user_id);
            let label_for = select_id.clone();
            view! {
                <tr>
                    <td>
                        <span class="address">{m.email.clone()}</span>
                        {(m.user_id == me).then_some(" (you)")}
                    </td>
                    <td>
                        {if assignable.len() > 1 {
                            view! {
                                <form method="post" action=ChangeMemberRole::PATH class="inline">
                                    <input type="hidden" name="user_id" value=m.user_id.clone() />
                                    <label class="visually-hidden" for=label_for>
                                        {format!("Role of {}", m.email)}
                                    </label>
                                    <select id=select_id name="role">
                                        {assignable
                                            .iter()
                                            .map(|r| {
                                                view! {
                                                    <option value=r.as_str() selected=*r == current>
                                                        {r.as_str()}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </select>
                                    <button type="submit" class="secondary small">
                                        "Change"
                                    </button>
                                </form>
                            }
                                .into_any()
                        } else if last_owner {
                            view! {
                                <span>{current.as_str()}</span>
                                <span class="muted">" (the only owner)"</span>
                            }
                                .into_any()
                        } else {
                            view! { <span>{current.as_str()}</span> }.into_any()
                        }}
                    </td>
                    <td>{human_time(m.since)}</td>
                    <td>
                        {removable
                            .then(|| {
                                view! {
                                    <a class="danger-link" href=paths::member_removal(&m.user_id)>
                                        {if m.user_id == me { "Leave" } else { "Remove" }}
                                    </a>
                                }
                            })}
                        {(is_owner && m.user_id != me)
                            .then(|| {
                                view! {
                                    <form
                                        method="post"
                                        action=ResetMemberSecondFactors::PATH
                                        class="inline"
                                    >
                                        <input
                                            type="hidden"
                                            name="user_id"
                                            value=m.user_id.clone()
                                        />
                                        <button type="submit" class="link danger-link">
                                            "Reset two-factor"
                                        </button>
                                    </form>
                                }
                            })}
                    </td>
                </tr>
            }
        }).collect_view();
        let pending = invitations
            .iter()
            .map(|i| {
                view! {
                    <tr>
                        <td>
                            <span class="address">{i.email.to_string()}</span>
                        </td>
                        <td>{i.role.as_str()}</td>
                        <td>{human_time(i.expires_at)}</td>
                        <td>
                            <form method="post" action=ResendInvitation::PATH class="inline">
                                <input type="hidden" name="id" value=i.id.clone() />
                                <button type="submit" class="link">
                                    "Resend"
                                </button>
                            </form>
                            <form method="post" action=RevokeInvitation::PATH class="inline">
                                <input type="hidden" name="id" value=i.id.clone() />
                                <button type="submit" class="link danger-link">
                                    "Revoke"
                                </button>
                            </form>
                        </td>
                    </tr>
                }
            })
            .collect_view();

        let has_pending = !invitations.is_empty();
        // After a failed submit, focus goes to the first field in error.
        let email_error = flash.field("email").is_some();
        let role_error = flash.field("role").is_some();
        view! {
            <SignedIn chrome=chrome.clone() current=paths::MEMBERS>
                <h1>"Members"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <table class="members">
                    <thead>
                        <tr>
                            <th scope="col">"Email"</th>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Member since"</th>
                            <th scope="col">
                                <span class="visually-hidden">"Actions"</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {is_owner
                    .then(|| {
                        let (value, label, state) = if requires_second_factor {
                            (
                                "off",
                                "Stop requiring it",
                                "Every member must use two-factor authentication (people signed in through single sign-on excepted).",
                            )
                        } else {
                            (
                                "on",
                                "Require two-factor authentication",
                                "Members may sign in with a password alone.",
                            )
                        };
                        view! {
                            <h2>"Two-factor authentication"</h2>
                            <p>{state}</p>
                            <form method="post" action=SetSecondFactorRequired::PATH>
                                <input type="hidden" name="required" value=value />
                                <button type="submit" class="secondary">
                                    {label}
                                </button>
                            </form>
                        }
                    })}
                <h2>"Invite someone"</h2>
                <form method="post" action=InviteMember::PATH class="stack" novalidate=true>
                    <Field
                        label="Email"
                        name="email"
                        kind="email"
                        autocomplete="off"
                        value=flash.value_of("email")
                        error=flash.field("email")
                        autofocus=email_error
                    />
                    <div class="field" class:invalid=role_error>
                        <label for="field-role">"Role"</label>
                        <select
                            id="field-role"
                            name="role"
                            autofocus=role_error && !email_error
                            aria-invalid=if role_error { "true" } else { "false" }
                            aria-describedby=role_error.then_some("field-role-error")
                        >
                            {invite_roles
                                .iter()
                                .map(|r| {
                                    view! {
                                        <option
                                            value=r.as_str()
                                            selected=Some(r) == invite_roles.first()
                                        >
                                            {r.as_str()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                        {flash
                            .field("role")
                            .map(|e| {
                                view! {
                                    <p class="field-error" id="field-role-error">
                                        {e}
                                    </p>
                                }
                            })}
                    </div>
                    <button type="submit" class="primary">
                        "Send invitation"
                    </button>
                </form>
                <h2>"Pending invitations"</h2>
                {if has_pending {
                    view! {
                        <table class="invitations">
                            <thead>
                                <tr>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col">
                                        <span class="visually-hidden">"Actions"</span>
                                    </th>
                                </tr>
                            </thead>
                            <tbody>{pending}</tbody>
                        </table>
                    }
                        .into_any()
                } else {
                    view! { <p class="empty">"No pending invitations."</p> }.into_any()
                }}
            </SignedIn>
        }
    }))
}

pub async fn confirm_remove_page(
    State(state): State<AppState>,
    session: Session,
    Path(user_id): Path<String>,
) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let user_id = UserId::from_input(&user_id);
    let leaving = user_id == *member.user_id();
    let back = if leaving {
        paths::ACCOUNT_SETTINGS
    } else {
        paths::MEMBERS
    };
    let target = members::removal_target(&state, &member.member, &user_id).await?;
    let chrome = member.chrome();
    let question = if leaving {
        format!(
            "Leave {}? You will lose access to its workspaces.",
            chrome.account_name
        )
    } else {
        format!(
            "Remove {} from {}? They lose access from their next request.",
            target.email, chrome.account_name
        )
    };
    Ok(render_page(StatusCode::OK, "Remove member", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=back>
                <h1>{if leaving { "Leave account" } else { "Remove member" }}</h1>
                <p>{question.clone()}</p>
                <form method="post" action=RemoveMember::PATH class="inline">
                    <input type="hidden" name="user_id" value=target.user_id.clone() />
                    <button type="submit" class="danger">
                        {if leaving { "Leave account" } else { "Remove member" }}
                    </button>
                    " "
                    <a href=back>"Cancel"</a>
                </form>
            </SignedIn>
        }
    }))
}
