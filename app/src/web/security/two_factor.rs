//! The two-factor page of a person's Security settings: enrol an authenticator app (a QR code
//! and the secret as text, confirmed by a code), see how many recovery codes are left, make new
//! ones (shown once, on the answer to the form itself), and remove the app.
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
use crate::flows::Stopped;
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
                "A passkey signs you in with your device's screen lock or a security key, without a password: choose it on the sign-in page's email field. With two-factor authentication on, it also works instead of a code after your password."
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

pub async fn two_factor_page(State(state): State<AppState>, session: Session) -> PageResult {
    let member = signed::own_settings(&state, &session).await?;
    let status = second_factors::status(&state, &member.signed).await?;
    let flash = take_flash(&session).await?;
    let keys = crate::flows::passkeys::list(&state, &member.signed).await?;
    let available = crate::flows::passkeys::available(&state);
    if status.enabled() {
        session::forget_totp_enrolment(&session).await?;
        let token = session::issue_form_token(&session, REGENERATE_FORM).await?;
        return Ok(enabled_page(&member, status, flash, token, keys, available));
    }
    // Off: an enrolment, kept (sealed) in the session until a code confirms it.
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
    let qr = qr_svg(&uri).unwrap_or_default();
    let grouped = secret.grouped();
    let chrome = member.chrome();
    Ok(render_page(
        StatusCode::OK,
        "Two-factor authentication",
        move || {
            view! {
                <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                    <Messages notice=flash.notice.clone() error=flash.error.clone() />
                    <p class="eyebrow">
                        <a href=paths::SECURITY>"Security"</a>
                    </p>
                    <h1>"Two-factor authentication"</h1>
                    <p>
                        "Two-factor authentication is off. Turn it on to ask for a code from an authenticator app (such as 1Password, Bitwarden, Google Authenticator or Aegis) after your password."
                    </p>
                    <h2>"1. Add Terminus Hub to your app"</h2>
                    <p>"Scan this QR code with the app:"</p>
                    <div
                        class="qr"
                        role="img"
                        aria-label="QR code for your authenticator app"
                        inner_html=qr.clone()
                    ></div>
                    <p>"Or type this key into the app:"</p>
                    <p>
                        <code id="totp-secret" class="key">
                            {grouped.clone()}
                        </code>
                    </p>
                    <h2>"2. Enter the code it shows"</h2>
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
                    <PasskeysSection passkeys=keys.clone() available=available />
                </SignedIn>
            }
        },
    ))
}

fn enabled_page(
    member: &Member,
    status: TwoFactorStatus,
    flash: Flash,
    token: String,
    keys: Vec<PasskeySummary>,
    available: bool,
) -> Response {
    let chrome = member.chrome();
    let since = status.since.map(human_time).unwrap_or_default();
    let left = status.recovery_codes_left;
    render_page(StatusCode::OK, "Two-factor authentication", move || {
        view! {
            <SignedIn chrome=chrome.clone() current=paths::SECURITY>
                <Messages notice=flash.notice.clone() error=flash.error.clone() />
                <p class="eyebrow">
                    <a href=paths::SECURITY>"Security"</a>
                </p>
                <h1>"Two-factor authentication"</h1>
                <p role="status" id="two-factor-state">
                    {format!(
                        "On since {since}: signing in with your password also asks for a code from your authenticator app.",
                    )}
                </p>
                <h2>"Recovery codes"</h2>
                <p id="recovery-codes-left">
                    {format!(
                        "{left} of 10 recovery codes left. Each works once, in place of a code from your app.",
                    )}
                </p>
                <form method="post" action=PATH>
                    <input type="hidden" name="action" value="regenerate" />
                    <input type="hidden" name="form_token" value=token.clone() />
                    <button type="submit" class="secondary">
                        "Make new recovery codes"
                    </button>
                </form>
                <p class="muted">"New codes replace every old one."</p>
                <h2>"Turn off"</h2>
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
                <PasskeysSection passkeys=keys.clone() available=available />
            </SignedIn>
        }
    })
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
                    " Each one signs you in once if you lose your authenticator app. Terminus Hub keeps only their hashes."
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
