//! The two-factor page of a person's Security settings: enrol an authenticator app (a QR code
//! and the secret as text, confirmed by a code) or remove it, add and delete passkeys, see how
//! many recovery codes are left and make new ones (shown once, on the answer to the form
//! itself; a first passkey's on the page after it).
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::reauth;
use crate::domain::secret::Secret;
use crate::flows::passkeys::PasskeySummary;
use crate::flows::second_factors::{self, TwoFactorStatus};
use crate::flows::{FlowError, Stopped};
use crate::paths;
use crate::session::{self, take_flash, Flash, FormToken, TotpEnrolment};
use crate::web::forms::refused;
use crate::web::forms::REAUTHENTICATED;
use crate::web::respond::{see_other, PageResult};
use crate::web::security::actions::{DeletePasskey, RemoveTwoFactor};
use crate::web::security::reauth::detour;
use crate::web::shell::{human_time, render_page, Field, Messages, SignedIn};
use crate::web::signed::{self, Member};
use crate::AppState;

const PATH: &str = paths::SECURITY_TWO_FACTOR;
/// The session's one-time tokens of the "new recovery codes" form.
const REGENERATE_FORM: &str = "recovery_codes";

/// The enrolment QR code as inline SVG (no XML declaration, so it can sit inside the page).
fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::new(uri.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = image.find("<svg")?;
    image.get(start..).map(str::to_owned)
}

/// The person's passkeys: listed (name, added, last used) with "Delete" (a plain form), and
/// "Add a passkey" (named here; the ceremony itself needs JavaScript: `public/passkeys.js`).
#[component]
fn PasskeysSection(passkeys: Vec<PasskeySummary>, available: bool) -> impl IntoView {
    let empty = passkeys.is_empty();
    let rows = passkeys
        .into_iter()
        .map(|k| {
            let used = k
                .last_used_at
                .map(human_time)
                .unwrap_or_else(|| "Never".into());
            let label = format!("Delete {}", k.name);
            view! {
                <tr>
                    <td data-label="Name">{k.name.clone()}</td>
                    <td data-label="Added">{human_time(k.created_at)}</td>
                    <td data-label="Last used">{used}</td>
                    <td>
                        <form method="post" action=DeletePasskey::PATH class="inline">
                            <input type="hidden" name="id" value=k.id.as_str().to_owned() />
                            <button type="submit" class="link danger-link" aria-label=label>
                                "Delete"
                            </button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let add = available.then(|| {
        view! {
            <p class="muted" data-passkey-needs-js="">
                "Adding a passkey needs JavaScript."
            </p>
            <form
                id="add-passkey"
                hidden=true
                data-passkey-register=paths::PASSKEY_REGISTER_OPTIONS
                data-passkey-finish=paths::PASSKEY_REGISTER_FINISH
                novalidate=true
            >
                <p role="alert" class="alert" hidden=true></p>
                <Field
                    label="Name"
                    name="name"
                    kind="text"
                    autocomplete="off"
                    hint=Some("So you can tell your passkeys apart, such as \"Work laptop\".")
                />
                <button type="submit" class="secondary">
                    "Add a passkey"
                </button>
            </form>
            <script src=paths::PASSKEYS_SCRIPT defer=true></script>
        }
    });
    view! {
        <section aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <p>
                "A passkey signs you in with your device's screen lock or a security key, without a password: choose it on the sign-in page's email field. It is also a second factor: once you have one, signing in with your password asks for it (or a code from your app, or a recovery code)."
            </p>
            {(!empty)
                .then(|| {
                    view! {
                        <table class="passkeys" id="passkeys">
                            <thead>
                                <tr>
                                    <th>"Name"</th>
                                    <th>"Added"</th>
                                    <th>"Last used"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                })}
            {empty.then(|| view! { <p id="no-passkeys">"You have no passkeys yet."</p> })}
            {add}
            {(!available)
                .then(|| {
                    view! {
                        <p class="muted">
                            "Passkeys need this server to be reached by a domain name; ask its operator."
                        </p>
                    }
                })}
        </section>
    }
}

/// One line on where two-factor authentication stands (this page and the Security page).
pub fn summary(status: &TwoFactorStatus) -> String {
    let passkeys = match status.passkeys {
        0 => None,
        1 => Some("a passkey".to_owned()),
        n => Some(format!("{n} passkeys")),
    };
    let factors = match (status.has_app(), passkeys) {
        (true, Some(p)) => format!("an authenticator app and {p}"),
        (true, None) => "an authenticator app".to_owned(),
        (false, Some(p)) => p,
        (false, None) => return "Off: signing in takes your password only.".to_owned(),
    };
    format!(
        "On: {factors}, and {} recovery codes left.",
        status.recovery_codes_left
    )
}

pub async fn two_factor_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let status = second_factors::status(&state, &member.signed).await?;
    let flash = take_flash(&session).await?;
    let keys = crate::flows::passkeys::list(&state, &member.signed).await?;
    let available = crate::flows::passkeys::available(&state);
    let token = if status.enabled() {
        Some(session::issue_form_token(&session, REGENERATE_FORM).await?)
    } else {
        None
    };
    let app = if status.has_app() {
        session::forget_totp_enrolment(&session).await?;
        AppSection::On {
            since: status.app_since.map(human_time).unwrap_or_default(),
        }
    } else {
        // No app yet: an enrolment, kept (sealed) in the session until a code confirms it.
        let enrolment = session::totp_enrolment(&session)
            .await?
            .filter(|e| e.user_id == *member.user_id());
        let sealed = match enrolment {
            Some(e) => e.secret_sealed,
            None => {
                let started = second_factors::begin_enrolment(&state, &member.signed).await?;
                let pending = TotpEnrolment {
                    user_id: member.user_id().clone(),
                    secret_sealed: started.sealed.clone(),
                };
                session::set_totp_enrolment(&session, pending).await?;
                started.sealed
            }
        };
        let secret = second_factors::open_enrolment(&state, &sealed)?;
        let uri = secret.otpauth_uri(member.signed.email());
        AppSection::Enrol {
            qr: qr_svg(&uri).unwrap_or_default(),
            grouped: secret.grouped(),
        }
    };
    let chrome = member.chrome();
    let state_line = summary(&status);
    let left = status.recovery_codes_left;
    Ok(render_page(
        StatusCode::OK,
        "Two-factor authentication",
        move || {
            let recovery = token.clone().map(|token| {
                view! {
                    <section aria-labelledby="recovery-heading">
                        <h2 id="recovery-heading">"Recovery codes"</h2>
                        <p id="recovery-codes-left">
                            {format!(
                                "{left} of 10 recovery codes left. Each works once, in place of a code from your app or a passkey.",
                            )}
                        </p>
                        <form method="post" action=PATH>
                            <input type="hidden" name="action" value="regenerate" />
                            <input type="hidden" name="form_token" value=token />
                            <button type="submit" class="secondary">
                                "Make new recovery codes"
                            </button>
                        </form>
                        <p class="muted">"New codes replace every old one."</p>
                    </section>
                }
            });
            view! {
                <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                    <p class="eyebrow">
                        <a href=paths::SECURITY>"Security"</a>
                    </p>
                    <h1>"Two-factor authentication"</h1>
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p id="two-factor-state">{state_line.clone()}</p>
                    <p>
                        "With two-factor authentication on, signing in with your password also asks for a code from an authenticator app or a passkey; a recovery code works in place of either."
                    </p>
                    <AppSectionView app=app.clone() flash=flash.clone() />
                    <PasskeysSection passkeys=keys.clone() available=available />
                    {recovery}
                </SignedIn>
            }
        },
    ))
}

/// The authenticator app part of the page: set up (since when, and "remove"), or the steps to
/// enrol one.
#[derive(Clone)]
enum AppSection {
    On { since: String },
    Enrol { qr: String, grouped: String },
}

#[component]
fn AppSectionView(app: AppSection, flash: Flash) -> impl IntoView {
    match app {
        AppSection::On { since } => view! {
            <section aria-labelledby="app-heading">
                <h2 id="app-heading">"Authenticator app"</h2>
                <p id="app-state">{format!("Set up since {since}.")}</p>
                <form method="post" action=RemoveTwoFactor::PATH novalidate=true>
                    <Field
                        label="Current code or recovery code"
                        name="code"
                        kind="text"
                        autocomplete="one-time-code"
                        error=flash.field("code")
                        autofocus=flash.field("code").is_some()
                    />
                    <button type="submit" class="danger">
                        "Remove the authenticator app"
                    </button>
                </form>
            </section>
        }
        .into_any(),
        AppSection::Enrol { qr, grouped } => view! {
            <section aria-labelledby="app-heading">
                <h2 id="app-heading">"Authenticator app"</h2>
                <p>
                    "Use an authenticator app such as 1Password, Bitwarden, Google Authenticator or Aegis."
                </p>
                <h3>"1. Add Terminus Hub to your app"</h3>
                <p>"Scan this QR code with the app:"</p>
                <div
                    class="qr"
                    role="img"
                    aria-label="QR code for your authenticator app"
                    inner_html=qr
                ></div>
                <p>"Or type this key into the app:"</p>
                <p>
                    <code id="totp-secret" class="key">
                        {grouped}
                    </code>
                </p>
                <h3>"2. Enter the code it shows"</h3>
                <form method="post" action=PATH novalidate=true>
                    <input type="hidden" name="action" value="confirm" />
                    <Field
                        label="Code"
                        name="code"
                        kind="text"
                        autocomplete="one-time-code"
                        inputmode=Some("numeric")
                        error=flash.field("code")
                        autofocus=flash.field("code").is_some()
                    />
                    <button type="submit" class="primary">
                        "Turn on two-factor authentication"
                    </button>
                </form>
            </section>
        }
        .into_any(),
    }
}

/// The recovery codes a first passkey brought (its registration is a JSON request, which
/// cannot show them): taken from the session, so shown once.
pub async fn new_codes_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let kept = session::take_codes_to_show(&session)
        .await?
        .filter(|c| c.user_id == *member.user_id());
    let Some(kept) = kept else {
        return Ok(see_other(PATH));
    };
    let text = state
        .sealing
        .open(&kept.codes_sealed)
        .map_err(FlowError::from)?;
    let codes = text
        .expose()
        .lines()
        .map(|c| Secret::new(c.to_owned()))
        .collect();
    Ok(codes_page(
        &member,
        "Two-factor authentication is on",
        "Your passkey is added: signing in with your password now also asks for it.",
        codes,
    ))
}

/// The recovery codes, shown once on the answer to the form that made them.
fn codes_page(
    member: &Member,
    title: &'static str,
    notice: &'static str,
    codes: Vec<Secret>,
) -> Response {
    let chrome = member.chrome();
    let codes: Vec<String> = codes.iter().map(|c| c.expose().to_owned()).collect();
    render_page(StatusCode::OK, title, move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                <h1>{title}</h1>
                <p role="status" class="notice">
                    {notice}
                </p>
                <p>
                    <strong>"Save these recovery codes now: they will not be shown again."</strong>
                    " Each one signs you in once if you lose your authenticator app or your passkeys. Terminus Hub keeps only their hashes."
                </p>
                <ol class="recovery-codes" id="recovery-codes">
                    {codes
                        .iter()
                        .map(|c| {
                            view! {
                                <li>
                                    <code>{c.clone()}</code>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
                <p>
                    <a href=PATH>"I saved them"</a>
                </p>
            </SignedIn>
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TwoFactorForm {
    action: String,
    code: String,
    form_token: String,
}

/// The enrolment's confirmation and "make new recovery codes": both answer with the codes,
/// shown once, so they are plain form posts answered with the page (not post/redirect/get).
pub async fn two_factor_post(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<TwoFactorForm>,
) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let back = |flash: Flash| {
        let session = session.clone();
        async move {
            session::set_flash(&session, flash).await?;
            Ok::<Response, crate::web::respond::PageError>(see_other(PATH))
        }
    };
    match form.action.as_str() {
        "confirm" => {
            let enrolment = session::totp_enrolment(&session)
                .await?
                .filter(|e| e.user_id == *member.user_id());
            let Some(enrolment) = enrolment else {
                return back(Flash::error(
                    "That setup had expired. Scan the new QR code and try again.",
                ))
                .await;
            };
            let confirmed = second_factors::confirm_enrolment(
                &state,
                &member.signed,
                &enrolment.secret_sealed,
                &form.code,
            )
            .await;
            match confirmed {
                Ok(codes) if codes.is_empty() => {
                    // A passkey brought the recovery codes already.
                    session::forget_totp_enrolment(&session).await?;
                    back(Flash::notice(
                        "Your authenticator app is set up: signing in now also asks for its code. Your recovery codes stay as they were.",
                    ))
                    .await
                }
                Ok(codes) => {
                    session::forget_totp_enrolment(&session).await?;
                    Ok(codes_page(
                        &member,
                        "Two-factor authentication is on",
                        "Your authenticator app is set up: signing in now also asks for its code.",
                        codes,
                    ))
                }
                Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
                    detour(&session, PATH, Flash::notice(REAUTHENTICATED)).await
                }
                Err(Stopped::Refused(refusal)) => back(refused(&refusal)).await,
                Err(Stopped::Broken(err)) => Err(err.into()),
            }
        }
        "regenerate" => {
            match session::use_form_token(&session, REGENERATE_FORM, &form.form_token).await? {
                FormToken::Fresh => {}
                FormToken::Used => {
                    return back(Flash::notice(
                        "Those recovery codes were already made and shown once. If you did not save them, make new ones.",
                    ))
                    .await
                }
                FormToken::Unknown => {
                    return back(Flash::error("This form had expired. Please try again.")).await
                }
            }
            match second_factors::regenerate_recovery_codes(&state, &member.signed).await {
                Ok(codes) => Ok(codes_page(
                    &member,
                    "New recovery codes",
                    "Your old recovery codes no longer work.",
                    codes,
                )),
                Err(Stopped::Refused(refusal)) if reauth::is_required(&refusal) => {
                    detour(&session, PATH, Flash::notice(REAUTHENTICATED)).await
                }
                Err(Stopped::Refused(refusal)) => back(refused(&refusal)).await,
                Err(Stopped::Broken(err)) => Err(err.into()),
            }
        }
        _ => Ok(see_other(PATH)),
    }
}
