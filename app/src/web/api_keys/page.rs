//! The API keys page, for owners and admins: list, create (the key is shown once, on the
//! response to the form itself, and never stored), delete behind a confirmation.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::AdminOf;
use crate::domain::api_keys::Scope;
use crate::domain::api_keys::{ApiKeyRecord, DailyUsage, MAX_ROLL_HOURS};
use crate::domain::clock::Timestamp;
use crate::domain::ids::ApiKeyId;
use crate::domain::paging::PageRequest;
use crate::domain::reauth;
use crate::flows::api_keys as key_flows;
use crate::flows::{Refusal, Stopped};
use crate::paths;
use crate::session::{self, take_flash, Flash, FormToken};
use crate::web::api_keys::actions::DeleteApiKey;
use crate::web::api_keys::PATH;
use crate::web::errors;
use crate::web::forms::{kept, REAUTHENTICATED};
use crate::web::respond::{see_other, PageResult};
use crate::web::security::reauth::detour;
use crate::web::shell::human_time;
use crate::web::shell::{render_page, Chrome, Messages, SignedIn};
use crate::web::signed::{self, Member};
use crate::AppState;

/// The session's one-time tokens of the key creation form.
const KEY_FORM: &str = "api_key";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct NewKeyForm {
    name: String,
    expires_on: String,
    /// One-time token of the rendered form: a reload that posts it again creates nothing.
    form_token: String,
    #[serde(rename = "workspaces:read")]
    workspaces_read: Option<String>,
    #[serde(rename = "workspaces:write")]
    workspaces_write: Option<String>,
    #[serde(rename = "records:read")]
    records_read: Option<String>,
    #[serde(rename = "records:write")]
    records_write: Option<String>,
}

impl NewKeyForm {
    fn scopes(&self) -> Option<Vec<Scope>> {
        let picked: Vec<Scope> = [
            (&self.workspaces_read, Scope::WorkspacesRead),
            (&self.workspaces_write, Scope::WorkspacesWrite),
            (&self.records_read, Scope::RecordsRead),
            (&self.records_write, Scope::RecordsWrite),
        ]
        .into_iter()
        .filter_map(|(field, scope)| field.as_ref().map(|_| scope))
        .collect();
        (!picked.is_empty()).then_some(picked)
    }

    fn checked(&self, scope: Scope) -> bool {
        self.scopes().is_some_and(|s| s.contains(&scope))
    }
}

/// The end of the chosen day (UTC); whether it is in the future is the flow's rule.
fn parse_expiry(input: &str) -> Result<Option<Timestamp>, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .map_err(|_| "Enter a date like 2030-01-31.".to_owned())?;
    let end = date
        .and_hms_opt(23, 59, 59)
        .map(|t| Timestamp(t.and_utc().timestamp_millis()))
        .ok_or_else(|| "Enter a date like 2030-01-31.".to_owned())?;
    Ok(Some(end))
}

#[derive(Debug, Default, Clone)]
struct FormErrors {
    name: Option<String>,
    expires_on: Option<String>,
}

pub async fn keys_page(State(state): State<AppState>, session: Session) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let flash = take_flash(&session).await?;
    // What was typed before a detour (the re-authentication page) comes back with the flash.
    let form = NewKeyForm {
        name: flash.value_of("name").unwrap_or_default(),
        expires_on: flash.value_of("expires_on").unwrap_or_default(),
        ..NewKeyForm::default()
    };
    render_keys(
        &state,
        &session,
        (&member, &admin),
        flash,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_keys(
    state: &AppState,
    session: &Session,
    (member, admin): (&Member, &AdminOf),
    flash: Flash,
    form: NewKeyForm,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult {
    let form = NewKeyForm {
        form_token: session::issue_form_token(session, KEY_FORM).await?,
        ..form
    };
    let page = PageRequest {
        limit: 100,
        starting_after: None,
        ending_before: None,
    };
    let keys = key_flows::list(state, admin, &page).await?.items;
    let chrome = member.chrome();
    Ok(render_page(status, "API keys", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=PATH>
                <h1>"API keys"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p class="muted">
                    "Scripts call the REST API at /api/v1 with "
                    <code>"Authorization: Bearer thub_…"</code>
                    ". A key sees only this account's data."
                </p>
                <KeyTable keys=keys.clone() />
                <h2>"Create a key"</h2>
                <NewKeyFormView form=form.clone() errors=errors.clone() />
            </SignedIn>
        }
    }))
}

#[component]
fn KeyTable(keys: Vec<ApiKeyRecord>) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="empty">"No API keys yet."</p> }.into_any();
    }
    view! {
        <table class="keys">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Id"</th>
                    <th scope="col">"Key"</th>
                    <th scope="col">"Scopes"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Requests (30 days)"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">
                        <span class="visually-hidden">"Actions"</span>
                    </th>
                </tr>
            </thead>
            <tbody>
                {keys
                    .into_iter()
                    .map(|k| {
                        view! {
                            <tr>
                                <td data-label="Name">{k.name.clone()}</td>
                                <td data-label="Id">
                                    <code class="id">{k.id.as_str().to_owned()}</code>
                                </td>
                                <td data-label="Key">
                                    <code class="hint">{format!("{}…", k.hint)}</code>
                                </td>
                                <td data-label="Scopes">{scope_words(k.scopes.as_deref())}</td>
                                <td data-label="Created">{human_time(k.created_at)}</td>
                                <td data-label="Last used">
                                    {k
                                        .last_used_at
                                        .map(|at| match &k.last_used_ip {
                                            Some(ip) => format!("{} from {ip}", human_time(at)),
                                            None => human_time(at),
                                        })
                                        .unwrap_or_else(|| "Never".into())}
                                </td>
                                <td data-label="Requests (30 days)">
                                    <UsageCell usage=k.usage.clone() />
                                </td>
                                <td data-label="Expires">{expiry_words(k.expires_at)}</td>
                                <td data-label="Actions">
                                    // One grid cell for both links, so they stay side by side
                                    // when the table stacks as cards.
                                    <span>
                                        <a href=paths::api_key_roll(&k.id)>"Roll"</a>
                                        " "
                                        <a href=paths::api_key_deletion(&k.id) class="danger-link">
                                            "Delete"
                                        </a>
                                    </span>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A key's scopes in plain words ("Read records, read and write workspaces"); no scopes is
/// "Full access". Write includes read, so a write scope hides the read one beside it.
pub fn scope_words(scopes: Option<&[Scope]>) -> String {
    let Some(scopes) = scopes else {
        return "Full access".into();
    };
    let has = |scope: Scope| scopes.contains(&scope);
    let mut words = Vec::new();
    for (read, write, what) in [
        (Scope::WorkspacesRead, Scope::WorkspacesWrite, "workspaces"),
        (Scope::RecordsRead, Scope::RecordsWrite, "records"),
    ] {
        if has(write) {
            words.push(format!("read and write {what}"));
        } else if has(read) {
            words.push(format!("read {what}"));
        }
    }
    let joined = words.join(", ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Full access".into(),
    }
}

/// When a key stops working: "Never", or the time (UTC).
fn expiry_words(expires_at: Option<Timestamp>) -> String {
    expires_at.map(human_time).unwrap_or_else(|| "Never".into())
}

/// A key's requests of the last 30 days: the total, and each day that had any.
#[component]
fn UsageCell(usage: Vec<DailyUsage>) -> impl IntoView {
    let total: u64 = usage.iter().map(|u| u.requests).sum();
    if usage.is_empty() {
        return view! { <span class="muted">"None"</span> }.into_any();
    }
    view! {
        <details class="usage">
            <summary>{total.to_string()}</summary>
            <ul>
                {usage
                    .into_iter()
                    .rev()
                    .map(|u| view! { <li>{format!("{}: {}", u.date(), u.requests)}</li> })
                    .collect_view()}
            </ul>
        </details>
    }
    .into_any()
}

#[component]
fn NewKeyFormView(form: NewKeyForm, errors: FormErrors) -> impl IntoView {
    // The label in words; the scope's code beside it, for people writing scripts.
    let scope_box = |scope: Scope, words: &'static str| {
        let id = format!("scope-{}", scope.as_str().replace(':', "-"));
        let for_id = id.clone();
        view! {
            <label class="check" for=for_id>
                <input
                    type="checkbox"
                    id=id
                    name=scope.as_str()
                    value="on"
                    checked=form.checked(scope)
                />
                <span>{words} " " <code class="scope-code">{scope.as_str()}</code></span>
            </label>
        }
    };
    view! {
        <form method="post" action=PATH class="stack" novalidate=true>
            <input type="hidden" name="form_token" value=form.form_token.clone() />
            <crate::web::shell::Field
                label="Name"
                name="name"
                kind="text"
                autocomplete="off"
                value=Some(form.name.clone())
                error=errors.name.clone()
                autofocus=errors.name.is_some()
                hint=Some("What will use this key, e.g. \"nightly export\". Up to 100 characters.")
            />
            <crate::web::shell::Field
                label="Expires on (optional)"
                name="expires_on"
                kind="date"
                autocomplete="off"
                value=Some(form.expires_on.clone())
                error=errors.expires_on.clone()
                autofocus=errors.name.is_none() && errors.expires_on.is_some()
                hint=Some(
                    "The key stops working at the end of this day (UTC). Leave empty for no expiry.",
                )
            />
            <fieldset class="scopes">
                <legend>"Scopes (optional)"</legend>
                <p class="hint">
                    "Tick none for full access to this account. Write includes read."
                </p>
                {scope_box(Scope::WorkspacesRead, "Read workspaces")}
                {scope_box(Scope::WorkspacesWrite, "Read and write workspaces")}
                {scope_box(Scope::RecordsRead, "Read records")}
                {scope_box(Scope::RecordsWrite, "Read and write records")}
            </fieldset>
            <button type="submit" class="primary">
                "Create key"
            </button>
        </form>
    }
}

/// Creates a key and answers with the page that shows it, once. There is deliberately no
/// redirect: the key would otherwise have to be stored somewhere to survive it. The form's
/// one-time token makes a reload of that page (which posts again) create nothing.
pub async fn create_key(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<NewKeyForm>,
) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    match session::use_form_token(&session, KEY_FORM, &form.form_token).await? {
        FormToken::Fresh => {}
        FormToken::Used => {
            let flash = Flash::notice("That key was already created: its secret was shown once. If you did not copy it, delete it and create another.");
            session::set_flash(&session, flash).await?;
            return Ok(see_other(PATH));
        }
        FormToken::Unknown => {
            let flash = Flash::error("This form had expired. Please fill it in again.");
            session::set_flash(&session, flash).await?;
            return Ok(see_other(PATH));
        }
    }
    let mut errors = FormErrors::default();
    let expires_at = parse_expiry(&form.expires_on).unwrap_or_else(|e| {
        errors.expires_on = Some(e);
        None
    });
    let new = key_flows::NewKey {
        name: form.name.clone(),
        expires_at,
        scopes: form.scopes(),
    };
    for refusal in key_flows::problems(&new, state.clock.now()) {
        if let Refusal::Invalid { field, message, .. } = refusal {
            match field {
                "name" => errors.name = Some(message),
                _ => errors.expires_on = Some(message),
            }
        }
    }
    let created = if errors.name.is_some() || errors.expires_on.is_some() {
        None
    } else {
        match key_flows::create(&state, &admin, new).await {
            Ok(created) => Some(created),
            Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
                // Prove who you are first, then back to this form with what was typed.
                let flash = Flash::notice(REAUTHENTICATED)
                    .value("name", &kept(&form.name))
                    .value("expires_on", &kept(&form.expires_on));
                return detour(&session, PATH, flash).await;
            }
            Err(Stopped::Refused(_)) => None,
            Err(Stopped::Broken(err)) => return Err(err.into()),
        }
    };
    let Some((record, key)) = created else {
        return render_keys(
            &state,
            &session,
            (&member, &admin),
            Flash::default(),
            form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let notice = format!("Key \"{}\" created.", record.name);
    Ok(shown_once(
        &state,
        &member,
        StatusCode::CREATED,
        notice,
        (&record, key.expose()),
    ))
}

/// The page that shows a new key, once: the answer to the post that made it (never a
/// redirect, so the key is never stored to survive one). It repeats what the key is (name,
/// id, scopes, expiry) and a request to try it with, the key filled in.
fn shown_once(
    state: &AppState,
    member: &Member,
    status: StatusCode,
    notice: String,
    (record, key): (&ApiKeyRecord, &str),
) -> Response {
    let chrome = member.chrome();
    let secret = key.to_owned();
    let name = record.name.clone();
    let id = record.id.as_str().to_owned();
    let scopes = scope_words(record.scopes.as_deref());
    let expires = expiry_words(record.expires_at);
    let curl = format!(
        "curl -H \"Authorization: Bearer {key}\" {}",
        state.config.link("/api/v1/workspaces")
    );
    render_page(status, "Your new API key", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=PATH>
                <h1>"Your new API key"</h1>
                <p role="status" class="notice">
                    {notice.clone()}
                </p>
                <p>
                    <strong>"Copy it now: it will not be shown again."</strong>
                    " Terminus Hub keeps only a hash of it."
                </p>
                <div class="key-box">
                    <code id="new-key" class="key">
                        {secret.clone()}
                    </code>
                    <button type="button" class="secondary" data-copy="new-key" hidden=true>
                        "Copy"
                    </button>
                </div>
                <dl class="key-facts">
                    <dt>"Name"</dt>
                    <dd id="new-key-name">{name.clone()}</dd>
                    <dt>"Id"</dt>
                    <dd>
                        <code class="id" id="new-key-id">
                            {id.clone()}
                        </code>
                    </dd>
                    <dt>"Scopes"</dt>
                    <dd id="new-key-scopes">{scopes.clone()}</dd>
                    <dt>"Expires"</dt>
                    <dd id="new-key-expires">{expires.clone()}</dd>
                </dl>
                <h2 id="try-it-heading">"Try it"</h2>
                <p>"This lists the account's workspaces (it needs a key that may read them):"</p>
                <div class="key-box">
                    <pre id="new-key-curl" class="key">
                        {curl.clone()}
                    </pre>
                    <button type="button" class="secondary" data-copy="new-key-curl" hidden=true>
                        "Copy"
                    </button>
                </div>
                <p>
                    <a href=PATH>"Done"</a>
                </p>
                <script src=paths::COPY_SCRIPT defer=true></script>
            </SignedIn>
        }
    })
}

/// The session's one-time tokens of the roll form.
const ROLL_FORM: &str = "api_key_roll";

/// The graces the roll form offers, in hours, with their words.
const ROLL_CHOICES: [(u32, &str); 5] = [
    (0, "Stop it now"),
    (1, "1 hour"),
    (24, "24 hours"),
    (72, "3 days"),
    (MAX_ROLL_HOURS, "7 days"),
];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RollForm {
    expires_in_hours: String,
    form_token: String,
}

/// "Roll" a key: how long the old one keeps working, then the button.
pub async fn roll_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let key = match key_flows::get(&state, &admin, &ApiKeyId::from_input(&id)).await {
        Ok(key) => key,
        Err(Stopped::Refused(_)) => return Ok(errors::not_found()),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    let flash = take_flash(&session).await?;
    let chosen: u32 = flash
        .value_of("expires_in_hours")
        .and_then(|h| h.parse().ok())
        .unwrap_or(24);
    let token = session::issue_form_token(&session, ROLL_FORM).await?;
    let chrome: Chrome = member.chrome();
    let action = paths::api_key_roll(&key.id);
    Ok(render_page(StatusCode::OK, "Roll API key", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=PATH>
                <h1>"Roll API key"</h1>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p>
                    {format!(
                        "Rolling \"{}\" ({}…) makes a new key with the same name and scopes, shown once. Put it where the old one is used; the old key keeps working for the time you choose, then is refused.",
                        key.name,
                        key.hint,
                    )}
                </p>
                <form method="post" action=action.clone() class="stack">
                    <input type="hidden" name="form_token" value=token.clone() />
                    <label for="expires_in_hours">"The old key keeps working for"</label>
                    <select id="expires_in_hours" name="expires_in_hours">
                        {ROLL_CHOICES
                            .into_iter()
                            .map(|(hours, words)| {
                                view! {
                                    <option value=hours.to_string() selected=hours == chosen>
                                        {words}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <p>
                        <button type="submit" class="primary">
                            "Roll key"
                        </button>
                        " "
                        <a href=PATH>"Cancel"</a>
                    </p>
                </form>
            </SignedIn>
        }
    }))
}

/// Rolls a key and answers with the page that shows the new one, once (like creating one).
pub async fn roll_key(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<RollForm>,
) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let key_id = ApiKeyId::from_input(&id);
    let back = paths::api_key_roll(&key_id);
    match session::use_form_token(&session, ROLL_FORM, &form.form_token).await? {
        FormToken::Fresh => {}
        FormToken::Used => {
            let flash = Flash::notice("That key was already rolled: the new key was shown once. If you did not copy it, roll the new key again or delete it.");
            session::set_flash(&session, flash).await?;
            return Ok(see_other(PATH));
        }
        FormToken::Unknown => {
            let flash = Flash::error("This form had expired. Please try again.");
            session::set_flash(&session, flash).await?;
            return Ok(see_other(&back));
        }
    }
    // Not a number is refused like a number out of range.
    let hours = form.expires_in_hours.trim().parse::<i64>().unwrap_or(-1);
    let rolled = match key_flows::roll_hours(hours) {
        Ok(hours) => key_flows::roll(&state, &admin, &key_id, hours).await,
        Err(refusal) => Err(refusal.into()),
    };
    match rolled {
        Ok(rolled) => {
            let notice = format!(
                "Key \"{}\" rolled. The old key works until {}.",
                rolled.new.name,
                human_time(rolled.old_ends_at)
            );
            Ok(shown_once(
                &state,
                &member,
                StatusCode::CREATED,
                notice,
                (&rolled.new, rolled.key.expose()),
            ))
        }
        Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
            let flash = Flash::notice(REAUTHENTICATED)
                .value("expires_in_hours", &kept(&form.expires_in_hours));
            detour(&session, &back, flash).await
        }
        Err(Stopped::Refused(Refusal::NotFound(_))) => Ok(errors::not_found()),
        Err(Stopped::Refused(refusal)) => {
            session::set_flash(&session, Flash::error(refusal.message())).await?;
            Ok(see_other(&back))
        }
        Err(Stopped::Broken(err)) => Err(err.into()),
    }
}

pub async fn confirm_delete_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> PageResult {
    let (member, admin) = signed::admin(&state, &session).await?;
    let key = match key_flows::get(&state, &admin, &ApiKeyId::from_input(&id)).await {
        Ok(key) => key,
        Err(Stopped::Refused(_)) => return Ok(errors::not_found()),
        Err(Stopped::Broken(err)) => return Err(err.into()),
    };
    let chrome: Chrome = member.chrome();
    Ok(render_page(StatusCode::OK, "Delete API key", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=PATH>
                <h1>"Delete API key"</h1>
                <p>
                    {format!(
                        "Delete \"{}\" ({}…)? Scripts using it will be refused from their very next request. This cannot be undone.",
                        key.name,
                        key.hint,
                    )}
                </p>
                <form method="post" action=DeleteApiKey::PATH class="inline">
                    <input type="hidden" name="id" value=key.id.clone() />
                    <button type="submit" class="danger">
                        "Delete key"
                    </button>
                    " "
                    <a href=PATH>"Cancel"</a>
                </form>
            </SignedIn>
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_plain_words() {
        assert_eq!(scope_words(None), "Full access");
        assert_eq!(scope_words(Some(&[Scope::RecordsRead])), "Read records");
        assert_eq!(
            scope_words(Some(&[Scope::RecordsWrite, Scope::WorkspacesRead])),
            "Read workspaces, read and write records"
        );
        // Write includes read: the read scope beside it is not repeated.
        assert_eq!(
            scope_words(Some(&[Scope::WorkspacesRead, Scope::WorkspacesWrite])),
            "Read and write workspaces"
        );
    }
}
