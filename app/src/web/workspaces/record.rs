//! One record: its JSON in full, an editor for it, and "Delete".
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use tower_sessions::Session;

use super::actions::{DeleteRecord, UpdateRecord};
use crate::domain::ids::RecordId;
use crate::flows::{data, Stopped};
use crate::paths;
use crate::session::take_flash;
use crate::web::errors;
use crate::web::respond::PageResult;
use crate::web::shell::{human_time, render_page, Messages, SignedIn};
use crate::web::signed;
use crate::AppState;

/// Characters of a record's JSON shown in a list.
const PREVIEW_CHARS: usize = 80;

/// The start of a record's JSON, on one line, for lists.
pub fn preview(data: &str) -> String {
    let flat: String = data.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= PREVIEW_CHARS {
        flat
    } else {
        let cut: String = flat.chars().take(PREVIEW_CHARS).collect();
        format!("{cut}…")
    }
}

/// The record editor: a labelled text area for a JSON object, its error next to it.
#[component]
pub fn RecordText(value: String, error: Option<String>) -> impl IntoView {
    let invalid = error.is_some();
    view! {
        <div class="field" class:invalid=invalid>
            <label for="field-data">"Data (a JSON object)"</label>
            <textarea
                id="field-data"
                name="data"
                rows="10"
                spellcheck="false"
                autofocus=invalid
                aria-invalid=if invalid { "true" } else { "false" }
                aria-describedby=invalid.then_some("field-data-error")
            >
                {value}
            </textarea>
            {error
                .map(|e| {
                    view! {
                        <p class="field-error" id="field-data-error">
                            {e}
                        </p>
                    }
                })}
        </div>
    }
}

/// The record's JSON laid out for reading (as stored when it does not parse, which a stored
/// record always does).
fn pretty(data: &str) -> String {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| data.to_owned())
}

pub async fn record_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed::member(&state, &session).await?;
    let record = match data::record(&state, &member.member, &RecordId::from_input(&id)).await {
        Ok(record) => record,
        Err(Stopped::Refused(_)) => return Ok(errors::not_found()),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    let workspace = data::workspace(&state, &member.member, &record.workspace_id).await?;
    let flash = take_flash(&session).await?;
    let chrome = member.chrome();
    let title = format!("Record {}", record.id.as_str());
    Ok(render_page(StatusCode::OK, &title, move || {
        let id = record.id.as_str().to_owned();
        let shown = pretty(&record.data);
        view! {
            <SignedIn chrome=chrome.clone() current=paths::HOME>
                <p class="eyebrow">
                    <a href=paths::HOME>"Workspaces"</a>
                    " / "
                    <a href=paths::workspace(&workspace.id)>{workspace.name.clone()}</a>
                </p>
                <h1>"Record"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>
                    "Id " <code class="id" id="record-id">
                        {id.clone()}
                    </code>
                    {format!(
                        " · created {} · updated {}",
                        human_time(record.created_at),
                        human_time(record.updated_at),
                    )}
                </p>
                <pre id="record-data">
                    <code>{shown.clone()}</code>
                </pre>
                <h2>"Edit"</h2>
                <form method="post" action=UpdateRecord::PATH novalidate=true>
                    <input type="hidden" name="id" value=id.clone() />
                    <RecordText
                        value=flash.value_of("data").unwrap_or_else(|| shown.clone())
                        error=flash.field("data")
                    />
                    <button type="submit" class="primary">
                        "Save"
                    </button>
                </form>
                <h2>"Delete"</h2>
                <form method="post" action=DeleteRecord::PATH class="inline">
                    <input type="hidden" name="id" value=id.clone() />
                    <button type="submit" class="danger">
                        "Delete this record"
                    </button>
                </form>
            </SignedIn>
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_is_one_short_line() {
        assert_eq!(preview("{\n  \"a\": 1\n}"), "{ \"a\": 1 }");
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200));
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
