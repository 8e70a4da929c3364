//! Passkeys through the real server, with a software authenticator
//! (`webauthn-authenticator-rs`'s `SoftPasskey`) in the place of the browser's: registration
//! from the two-factor page's endpoints, a direct sign-in, the second step, deletion, single
//! use of a ceremony (a replayed assertion is refused), and another person's passkey refused.
//!
//! WebAuthn needs a domain name (browsers refuse IP addresses as a relying party), so these
//! servers' public URL is `http://localhost:{port}`.
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, Url,
    WebauthnAuthenticator as _,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::helpers::*;

const FAILURE: &str = "That passkey did not work. Try again, or sign in with your password.";

/// A server whose public URL names `localhost`; requests go there too.
async fn spawn() -> TestApp {
    let mut app = TestApp::spawn_with(|config| {
        config.public_url = config
            .public_url
            .as_ref()
            .map(|u| u.replace("127.0.0.1", "localhost"));
    })
    .await;
    app.base = app.base.replace("127.0.0.1", "localhost");
    app
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.base).unwrap()
}

async fn post_json(app: &TestApp, client: &Client, path: &str, body: Value) -> Response {
    client
        .post(app.url(path))
        .header("origin", &app.base)
        .json(&body)
        .send()
        .await
        .expect("POST JSON")
}

async fn json_of(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A signed-in browser of a fresh user.
async fn signed_in(app: &TestApp, name: &str) -> (String, Client) {
    let email = app.confirmed_user(name).await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    (email, client)
}

/// Registers a passkey named `name` with `authenticator`, as `public/passkeys.js` does;
/// answers its credential id (base64url, as browsers send it).
async fn register(
    app: &TestApp,
    client: &Client,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> String {
    let start = json_of(
        post_json(
            app,
            client,
            paths::PASSKEY_REGISTER_OPTIONS,
            json!({ "name": name }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    assert_eq!(
        start["options"]["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let credential = authenticator
        .do_registration(origin(app), options)
        .expect("the authenticator registers");
    let id = credential.id.clone();
    let done = json_of(
        post_json(
            app,
            client,
            paths::PASSKEY_REGISTER_FINISH,
            json!({ "handle": start["handle"], "credential": credential }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let redirect = done["redirect"].as_str().expect("a redirect").to_owned();
    if redirect == paths::SECURITY_NEW_RECOVERY_CODES {
        // The person's first second factor brings recovery codes, shown once.
        let codes = recovery_codes_shown(app, client).await;
        assert_eq!(codes.len(), 10);
    } else {
        assert_eq!(redirect, paths::SECURITY_TWO_FACTOR);
    }
    id
}

/// The recovery codes the page after a first passkey shows (once: a second visit goes to the
/// two-factor page).
async fn recovery_codes_shown(app: &TestApp, client: &Client) -> Vec<String> {
    let page = app.page(client, paths::SECURITY_NEW_RECOVERY_CODES).await;
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_owned())
        .collect();
    assert!(!codes.is_empty(), "{page}");
    let again = app.get(client, paths::SECURITY_NEW_RECOVERY_CODES).await;
    assert_redirect(&again, paths::SECURITY_TWO_FACTOR);
    codes
}

/// Registers a first passkey: its credential id and the recovery codes it brought.
async fn register_first(
    app: &TestApp,
    client: &Client,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> (String, Vec<String>) {
    let start = json_of(
        post_json(
            app,
            client,
            paths::PASSKEY_REGISTER_OPTIONS,
            json!({ "name": name }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let options: CreationChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let credential = authenticator
        .do_registration(origin(app), options)
        .expect("the authenticator registers");
    let done = json_of(
        post_json(
            app,
            client,
            paths::PASSKEY_REGISTER_FINISH,
            json!({ "handle": start["handle"], "credential": credential }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["redirect"], paths::SECURITY_NEW_RECOVERY_CODES);
    (credential.id, recovery_codes_shown(app, client).await)
}

/// Starts a direct sign-in in `client`: the ceremony's handle and options.
async fn sign_in_options(app: &TestApp, client: &Client) -> (String, RequestChallengeResponse) {
    let start = json_of(
        post_json(app, client, paths::PASSKEY_SIGN_IN_OPTIONS, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(start["options"]["mediation"], "conditional");
    let options = serde_json::from_value(start["options"].clone()).unwrap();
    (start["handle"].as_str().unwrap().to_owned(), options)
}

/// What the authenticator answers for `credential_id`. A browser finds a discoverable
/// passkey itself; the software authenticator keeps no resident keys, so the test names the
/// credential it holds.
fn assert_with(
    app: &TestApp,
    authenticator: &mut SoftPasskey,
    mut options: RequestChallengeResponse,
    credential_id: &str,
) -> PublicKeyCredential {
    let id: Value = json!({ "type": "public-key", "id": credential_id });
    options.public_key.allow_credentials = vec![serde_json::from_value(id).unwrap()];
    authenticator
        .do_authentication(origin(app), options)
        .expect("the authenticator signs")
}

async fn finish_sign_in(
    app: &TestApp,
    client: &Client,
    handle: &str,
    credential: &PublicKeyCredential,
) -> Response {
    post_json(
        app,
        client,
        paths::PASSKEY_SIGN_IN_FINISH,
        json!({ "handle": handle, "credential": credential }),
    )
    .await
}

#[tokio::test]
async fn a_passkey_is_registered_listed_and_signs_in_directly_once_per_ceremony() {
    let app = spawn().await;
    let (email, client) = signed_in(&app, "pk-direct").await;
    let page = app.page(&client, paths::SECURITY_TWO_FACTOR).await;
    assert!(page.contains("You have no passkeys yet."), "{page}");
    assert!(page.contains(paths::PASSKEYS_SCRIPT));

    // A name is 1–60 clean characters.
    let res = post_json(
        &app,
        &client,
        paths::PASSKEY_REGISTER_OPTIONS,
        json!({ "name": "  " }),
    )
    .await;
    let refused = json_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["field"], "name");

    let mut authenticator = SoftPasskey::new(true);
    let credential_id = register(&app, &client, &mut authenticator, "Work laptop").await;
    // The notice (a new-device notice of the sign-in may come before it).
    let mail = wait_for_subject(&email, "A passkey was added").await;
    assert!(mail.text.contains("Work laptop"));
    let page = app.page(&client, paths::SECURITY_TWO_FACTOR).await;
    assert!(
        page.contains("Work laptop") && page.contains("Never"),
        "{page}"
    );
    assert!(
        page.contains("On: a passkey, and 10 recovery codes left."),
        "{page}"
    );

    // The sign-in page offers passkeys on the email field.
    let other = browser();
    let sign_in = app.page(&other, paths::SIGN_IN).await;
    assert!(
        sign_in.contains("autocomplete=\"username webauthn\""),
        "{sign_in}"
    );
    assert!(sign_in.contains(paths::PASSKEYS_SCRIPT));

    // A direct sign-in is a full sign-in: no second step, and it shows as "Passkey".
    let (handle, options) = sign_in_options(&app, &other).await;
    let assertion = assert_with(&app, &mut authenticator, options, &credential_id);
    let done = json_of(
        finish_sign_in(&app, &other, &handle, &assertion).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["redirect"], paths::HOME);
    assert_eq!(app.get(&other, paths::HOME).await.status(), StatusCode::OK);
    let security = app.page(&other, paths::SECURITY).await;
    assert!(security.contains(">Passkey<"), "{security}");
    // It counts as a fresh sign-in: a sensitive change needs no re-authentication.
    let mut second = SoftPasskey::new(true);
    register(&app, &other, &mut second, "Phone").await;
    let page = app.page(&other, paths::SECURITY_TWO_FACTOR).await;
    assert!(page.contains("Passkey \"Phone\" added."), "{page}");
    assert_eq!(
        page.matches("<tr>").count(),
        3,
        "a header and two passkeys:\n{page}"
    );
    assert_eq!(
        page.matches(">Never<").count(),
        1,
        "only Phone is unused:\n{page}"
    );

    // The ceremony was used: the same assertion again opens nothing.
    let replayer = browser();
    let res = finish_sign_in(&app, &replayer, &handle, &assertion).await;
    assert_eq!(json_of(res, StatusCode::FORBIDDEN).await["error"], FAILURE);
    // Nor with a new ceremony: its challenge is not the one signed.
    let (fresh, _) = sign_in_options(&app, &replayer).await;
    let res = finish_sign_in(&app, &replayer, &fresh, &assertion).await;
    assert_eq!(json_of(res, StatusCode::FORBIDDEN).await["error"], FAILURE);
    let res = app.get(&replayer, paths::HOME).await;
    assert_redirect(&res, paths::SIGN_IN);
    // The failed assertion counted in the person's lockout.
    assert_eq!(app.failed_attempts(&email).await, 1);
}

#[tokio::test]
async fn a_passkey_works_as_the_second_step_but_not_for_someone_else() {
    let app = spawn().await;
    let (ada, ada_browser) = signed_in(&app, "pk-ada").await;
    crate::second_factors::enrol(&app, &ada_browser).await;
    let mut ada_key = SoftPasskey::new(true);
    let ada_credential = register(&app, &ada_browser, &mut ada_key, "Ada's key").await;

    // A correct password asks for the second step, which offers the passkey.
    let client = browser();
    assert_redirect(
        &app.sign_in(&client, &ada, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    let page = app.page(&client, paths::SIGN_IN_SECOND_FACTOR).await;
    assert!(page.contains("Use a passkey"), "{page}");
    assert!(page.contains("needs JavaScript"), "{page}");
    let start = json_of(
        post_json(&app, &client, paths::PASSKEY_SECOND_STEP_OPTIONS, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        start["options"]["publicKey"]["allowCredentials"][0]["id"],
        ada_credential.as_str()
    );
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = ada_key.do_authentication(origin(&app), options).unwrap();
    let done = json_of(
        post_json(
            &app,
            &client,
            paths::PASSKEY_SECOND_STEP_FINISH,
            json!({ "handle": start["handle"], "credential": assertion }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["redirect"], paths::HOME);
    assert_eq!(app.get(&client, paths::HOME).await.status(), StatusCode::OK);

    // Bob, with his own second factor and passkey, cannot pass his second step with Ada's.
    let (bob, bob_browser) = signed_in(&app, "pk-bob").await;
    crate::second_factors::enrol(&app, &bob_browser).await;
    let mut bob_key = SoftPasskey::new(true);
    register(&app, &bob_browser, &mut bob_key, "Bob's key").await;
    let thief = browser();
    assert_redirect(
        &app.sign_in(&thief, &bob, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    let start = json_of(
        post_json(&app, &thief, paths::PASSKEY_SECOND_STEP_OPTIONS, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let stolen = assert_with(&app, &mut ada_key, options, &ada_credential);
    let res = post_json(
        &app,
        &thief,
        paths::PASSKEY_SECOND_STEP_FINISH,
        json!({ "handle": start["handle"], "credential": stolen }),
    )
    .await;
    assert_eq!(json_of(res, StatusCode::FORBIDDEN).await["error"], FAILURE);
    assert_redirect(&app.get(&thief, paths::HOME).await, paths::SIGN_IN);
    // Counted as a guess against Bob (the password guess stays counted too until a sign-in
    // completes).
    assert_eq!(app.failed_attempts(&bob).await, 2);
}

#[tokio::test]
async fn deleting_a_passkey_needs_a_recent_sign_in_and_then_it_signs_in_no_more() {
    let app = spawn().await;
    let (email, client) = signed_in(&app, "pk-delete").await;
    let mut authenticator = SoftPasskey::new(true);
    let credential_id = register(&app, &client, &mut authenticator, "Old phone").await;
    let page = app.page(&client, paths::SECURITY_TWO_FACTOR).await;
    let at = page.find("name=\"id\" value=\"").unwrap() + "name=\"id\" value=\"".len();
    let id = page[at..at + page[at..].find('"').unwrap()].to_owned();
    assert!(id.starts_with("pk_"), "{id}");

    // Ten minutes on, registering or deleting asks "Confirm it's you" first.
    app.clock.advance(Duration::from_secs(11 * 60));
    let res = app.post(&client, fns::DELETE_PASSKEY, &[("id", &id)]).await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let res = post_json(
        &app,
        &client,
        paths::PASSKEY_REGISTER_OPTIONS,
        json!({ "name": "Another" }),
    )
    .await;
    let refused = json_of(res, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["redirect"], paths::REAUTHENTICATE);
    assert!(app
        .page(&client, paths::SECURITY_TWO_FACTOR)
        .await
        .contains("Old phone"));

    // Signing in again is recent enough (a passkey sign-in counts too).
    let again = browser();
    let (handle, options) = sign_in_options(&app, &again).await;
    let assertion = assert_with(&app, &mut authenticator, options, &credential_id);
    assert_eq!(
        finish_sign_in(&app, &again, &handle, &assertion)
            .await
            .status(),
        StatusCode::OK
    );
    // Someone else's id deletes nothing.
    let (_, stranger) = signed_in(&app, "pk-stranger").await;
    let res = app
        .post(&stranger, fns::DELETE_PASSKEY, &[("id", &id)])
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    assert!(app
        .page(&again, paths::SECURITY_TWO_FACTOR)
        .await
        .contains("Old phone"));

    let res = app.post(&again, fns::DELETE_PASSKEY, &[("id", &id)]).await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    let page = app.page(&again, paths::SECURITY_TWO_FACTOR).await;
    assert!(
        page.contains("Passkey deleted.") && !page.contains("Old phone"),
        "{page}"
    );
    wait_for_subject(&email, "A passkey was removed").await;

    let late = browser();
    let (handle, options) = sign_in_options(&app, &late).await;
    let assertion = assert_with(&app, &mut authenticator, options, &credential_id);
    let res = finish_sign_in(&app, &late, &handle, &assertion).await;
    assert_eq!(json_of(res, StatusCode::FORBIDDEN).await["error"], FAILURE);
}

#[tokio::test]
async fn a_server_reached_by_ip_address_offers_no_passkeys() {
    let app = TestApp::spawn().await;
    let client = browser();
    let page = app.page(&client, paths::SIGN_IN).await;
    assert!(!page.contains(paths::PASSKEYS_SCRIPT), "{page}");
    let res = client
        .post(app.url(paths::PASSKEY_SIGN_IN_OPTIONS))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_passkey_alone_is_a_second_factor_with_recovery_codes_and_confirms_it_is_you() {
    let app = spawn().await;
    let (email, client) = signed_in(&app, "pk-only").await;
    let mut key = SoftPasskey::new(true);
    let (credential_id, codes) = register_first(&app, &client, &mut key, "Laptop").await;
    assert_eq!(codes.len(), 10);

    // The password alone no longer signs in: the second step offers the passkey and (without
    // JavaScript) a recovery code, and no app code it could not take.
    let plain = browser();
    assert_redirect(
        &app.sign_in(&plain, &email, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    let page = app.page(&plain, paths::SIGN_IN_SECOND_FACTOR).await;
    assert!(page.contains("Use a passkey"), "{page}");
    assert!(!page.contains("6-digit code"), "{page}");
    assert!(page.contains("<details open"), "{page}");
    let res = app
        .post(
            &plain,
            fns::SIGN_IN_RECOVERY_CODE,
            &[("recovery_code", &codes[0])],
        )
        .await;
    assert_redirect(&res, paths::HOME);
    assert!(app.page(&plain, paths::HOME).await.contains("9 are left"));

    // The passkey as the second step.
    let with_key = browser();
    assert_redirect(
        &app.sign_in(&with_key, &email, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    let start = json_of(
        post_json(
            &app,
            &with_key,
            paths::PASSKEY_SECOND_STEP_OPTIONS,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = key.do_authentication(origin(&app), options).unwrap();
    let done = json_of(
        post_json(
            &app,
            &with_key,
            paths::PASSKEY_SECOND_STEP_FINISH,
            json!({ "handle": start["handle"], "credential": assertion }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["redirect"], paths::HOME);

    // Ten minutes on, deleting the passkey asks "Confirm it's you", which offers the passkey
    // (and, for the password, a recovery code: the password alone is not enough).
    app.clock.advance(Duration::from_secs(11 * 60));
    let page = app.page(&with_key, paths::SECURITY_TWO_FACTOR).await;
    let at = page.find("name=\"id\" value=\"").unwrap() + "name=\"id\" value=\"".len();
    let id = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let res = app
        .post(&with_key, fns::DELETE_PASSKEY, &[("id", &id)])
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let page = app.page(&with_key, paths::REAUTHENTICATE).await;
    assert!(page.contains("Confirm with a passkey"), "{page}");
    assert!(page.contains(">Recovery code<"), "{page}");
    let res = app
        .post(&with_key, fns::REAUTHENTICATE, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    assert!(app
        .page(&with_key, paths::REAUTHENTICATE)
        .await
        .contains("Enter a code from your authenticator app, or a recovery code."));

    // A wrong passkey answer (another person's key) confirms nothing and counts as a guess.
    let before = app.failed_attempts(&email).await;
    let start = json_of(
        post_json(&app, &with_key, paths::PASSKEY_REAUTH_OPTIONS, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let mut stranger = SoftPasskey::new(true);
    let (_, stranger_browser) = signed_in(&app, "pk-other").await;
    let stranger_id = register(&app, &stranger_browser, &mut stranger, "Other").await;
    let wrong = assert_with(&app, &mut stranger, options, &stranger_id);
    let res = post_json(
        &app,
        &with_key,
        paths::PASSKEY_REAUTH_FINISH,
        json!({ "handle": start["handle"], "credential": wrong }),
    )
    .await;
    assert_eq!(
        json_of(res, StatusCode::FORBIDDEN).await["error"],
        "That passkey did not work. Try again, or confirm with your password."
    );
    assert_eq!(app.failed_attempts(&email).await, before + 1);

    // The passkey confirms it's them: back to the form, and the deletion goes through.
    let start = json_of(
        post_json(&app, &with_key, paths::PASSKEY_REAUTH_OPTIONS, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let options: RequestChallengeResponse =
        serde_json::from_value(start["options"].clone()).unwrap();
    let assertion = assert_with(&app, &mut key, options, &credential_id);
    let done = json_of(
        post_json(
            &app,
            &with_key,
            paths::PASSKEY_REAUTH_FINISH,
            json!({ "handle": start["handle"], "credential": assertion }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["redirect"], paths::SECURITY_TWO_FACTOR);
    assert_eq!(app.failed_attempts(&email).await, 0);
    let res = app
        .post(&with_key, fns::DELETE_PASSKEY, &[("id", &id)])
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    // The last factor gone, its recovery codes went with it, and the password alone works.
    let page = app.page(&with_key, paths::SECURITY_TWO_FACTOR).await;
    assert!(
        page.contains("Off: signing in takes your password only."),
        "{page}"
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
}

#[tokio::test]
async fn passkey_sign_ins_are_limited_per_client_network_and_second_step_failures_count() {
    let app = TestApp::spawn_with(|c| {
        c.public_url = c
            .public_url
            .as_ref()
            .map(|u| u.replace("127.0.0.1", "localhost"));
        c.floods.passkey_sign_ins_per_ip_per_hour = 2;
    })
    .await;
    let mut app = app;
    app.base = app.base.replace("127.0.0.1", "localhost");
    let client = browser();
    for _ in 0..2 {
        sign_in_options(&app, &client).await;
    }
    let res = post_json(&app, &client, paths::PASSKEY_SIGN_IN_OPTIONS, json!({})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));

    // Wrong second-step codes count against the client network like wrong passwords (no hash
    // to pay for, so they are cheap to send): after more than 100 failures from it, the next
    // attempt is refused before any check.
    let (email, owner) = signed_in(&app, "pk-gate").await;
    let mut key = SoftPasskey::new(true);
    let (_, codes) = register_first(&app, &owner, &mut key, "Laptop").await;
    let guesser = browser();
    assert_redirect(
        &app.sign_in(&guesser, &email, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    for _ in 0..101 {
        let res = app
            .post(
                &guesser,
                fns::SIGN_IN_RECOVERY_CODE,
                &[("recovery_code", "AAAAA-BBBBB")],
            )
            .await;
        assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);
    }
    let res = app
        .post(
            &guesser,
            fns::SIGN_IN_RECOVERY_CODE,
            &[("recovery_code", &codes[0])],
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
