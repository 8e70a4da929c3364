//! The account's activity log, for its owners and admins: every change and its members'
//! sign-ins in plain words ("ada@example.com created an API key"), newest first, narrowed by
//! kind and by person, a page at a time.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::audit::{describe, is_cursor, AuditEntry, AuditFilter, KINDS};
use crate::domain::ids::UserId;
use crate::domain::members::MemberRecord;
use crate::domain::paging::PageRequest;
use crate::flows::members;
use crate::paths;
use crate::web::respond::PageResult;
use crate::web::shell::{human_time, render_page, SignedIn};
use crate::web::signed;
use crate::AppState;

/// Events on one page of the log.
const EVENTS_PER_PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    kind: String,
    actor: String,
    after: String,
}

/// A person as the log names them: their email while they are a member, else their id.
fn name_of(people: &[MemberRecord], id: &UserId) -> String {
    people
        .iter()
        .find(|p| p.user_id == *id)
        .map(|p| p.email.clone())
        .unwrap_or_else(|| id.to_string())
}

/// The event's details with the ids of people who are members written as their emails.
fn readable(detail: &str, people: &[MemberRecord]) -> String {
    people.iter().fold(detail.to_owned(), |text, p| {
        text.replace(p.user_id.as_str(), &p.email)
    })
}

/// One line of the log.
struct Line {
    when: String,
    who: String,
    what: &'static str,
    action: String,
    detail: String,
    /// "from 203.0.113.7 (Firefox on Linux)", when a request made it.
    origin: String,
}

fn line(entry: &AuditEntry, people: &[MemberRecord]) -> Line {
    let e = &entry.event;
    let detail = e.detail.as_deref().unwrap_or_default();
    let (who, detail) = match &e.actor_user_id {
        Some(id) => (name_of(people, id), detail),
        // A change made with an API key: its id leads the details (`DataAccess::data_audit`).
        None => match detail
            .split_once(": ")
            .filter(|(k, _)| k.starts_with("key_"))
        {
            Some((key, rest)) => (format!("An API key ({key})"), rest),
            None => ("The operator".to_owned(), detail),
        },
    };
    Line {
        when: human_time(e.at),
        who,
        what: describe(&e.action),
        action: e.action.clone(),
        detail: readable(detail, people),
        origin: match (&entry.ip, &entry.device) {
            (Some(ip), Some(device)) => format!("from {ip} ({device})"),
            (Some(ip), None) => format!("from {ip}"),
            _ => String::new(),
        },
    }
}

/// The address of a page of the log with these filters.
fn href(kind: &str, actor: &str, after: Option<&str>) -> String {
    let mut parts = Vec::new();
    if !kind.is_empty() {
        parts.push(format!("kind={kind}"));
    }
    if !actor.is_empty() {
        parts.push(format!("actor={actor}"));
    }
    if let Some(after) = after {
        parts.push(format!("after={after}"));
    }
    if parts.is_empty() {
        paths::ACTIVITY.to_owned()
    } else {
        format!("{}?{}", paths::ACTIVITY, parts.join("&"))
    }
}

pub async fn activity_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ActivityQuery>,
) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let people = members::list(&state, &admin, &PageRequest::everything())
        .await?
        .items;
    let filter = AuditFilter {
        kind: AuditFilter::kind_of(&query.kind),
        actor: (!query.actor.is_empty()).then(|| UserId::from_input(&query.actor)),
    };
    let page = PageRequest {
        limit: EVENTS_PER_PAGE,
        // Only an id of the log's own shape is a cursor.
        starting_after: is_cursor(&query.after).then(|| query.after.clone()),
        ending_before: None,
    };
    let events = members::activity(&state, &admin, &filter, &page).await?;
    let next = events
        .has_more
        .then(|| events.items.last().map(|e| e.id.clone()))
        .flatten();
    let lines: Vec<Line> = events.items.iter().map(|e| line(e, &people)).collect();
    let kind = filter.kind.unwrap_or("").to_owned();
    let actor = filter
        .actor
        .as_ref()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let older = next.map(|n| href(&kind, &actor, Some(&n)));
    let narrowed = filter.kind.is_some() || filter.actor.is_some();
    let chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Activity", move || {
        let rows = lines
            .iter()
            .map(|l| {
                view! {
                    <tr>
                        <td data-label="When">{l.when.clone()}</td>
                        <td data-label="What">
                            <strong class="address">{l.who.clone()}</strong>
                            " "
                            {l.what}
                            {(!l.detail.is_empty())
                                .then(|| {
                                    view! {
                                        ": "
                                        <span class="detail address">{l.detail.clone()}</span>
                                    }
                                })}
                            " "
                            <code class="action">{l.action.clone()}</code>
                            {(!l.origin.is_empty())
                                .then(|| {
                                    view! {
                                        <span class="muted origin">" " {l.origin.clone()}</span>
                                    }
                                })}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        let empty = lines.is_empty();
        view! {
            <SignedIn chrome=chrome.clone() current=paths::ACTIVITY>
                <h1>"Activity"</h1>
                <form method="get" action=paths::ACTIVITY class="filters">
                    <label for="kind">"Kind"</label>
                    <select id="kind" name="kind">
                        <option value="" selected=kind.is_empty()>
                            "Everything"
                        </option>
                        {KINDS
                            .iter()
                            .map(|(k, label)| {
                                view! {
                                    <option value=*k selected=kind == *k>
                                        {*label}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <label for="actor">"Person"</label>
                    <select id="actor" name="actor">
                        <option value="" selected=actor.is_empty()>
                            "Everyone"
                        </option>
                        {people
                            .iter()
                            .map(|p| {
                                let id = p.user_id.as_str().to_owned();
                                let chosen = id == actor;
                                view! {
                                    <option value=id selected=chosen>
                                        {p.email.clone()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <button type="submit" class="secondary">
                        "Show"
                    </button>
                </form>
                {(!empty)
                    .then(|| {
                        view! {
                            <table class="activity stack" id="activity">
                                <thead>
                                    <tr>
                                        <th scope="col">"When"</th>
                                        <th scope="col">"What"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                    })}
                {empty
                    .then(|| {
                        view! {
                            <p id="no-activity">
                                {if narrowed {
                                    "Nothing matches these filters."
                                } else {
                                    "Nothing has happened in this account yet."
                                }}
                            </p>
                        }
                    })}
                {older
                    .clone()
                    .map(|href| {
                        view! {
                            <p>
                                <a href=href rel="next">
                                    "Older events"
                                </a>
                            </p>
                        }
                    })}
            </SignedIn>
        }
    }))
}
