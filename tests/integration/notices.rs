//! Notices: a sign-in from a device not seen before for this person, its "This wasn't me"
//! link, and the notice of a new API key.
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};

use crate::helpers::*;

const NOTICE_SUBJECT: &str = "A new sign-in to your Terminus Hub account";
const RESET_SUBJECT: &str = "Reset your password";

/// Both sign-in steps from `ip` (the server trusts 127.0.0.1 as a proxy).
async fn sign_in_from(app: &TestApp, client: &Client, email: &str, ip: &str) -> Response {
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        client
            .post(app.url(path))
            .header("origin", app.url(""))
            .header("x-forwarded-for", ip)
            .form(&form)
            .send()
    };
    let res = post(fns::SIGN_IN_EMAIL, vec![("email", email.to_owned())])
        .await
        .unwrap();
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    post(
        fns::SIGN_IN_PASSWORD,
        vec![
            ("email", email.to_owned()),
            ("password", PASSWORD.to_owned()),
        ],
    )
    .await
    .unwrap()
}

fn device_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("thub_device="))
        .map(str::to_owned)
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await
}

/// A person who signed up in `laptop` (its first sign-in: the device is recorded, nobody is
/// told). Returns the email.
async fn signed_up_in(app: &TestApp, laptop: &Client, name: &str) -> String {
    let email = unique_email(name);
    app.sign_up(laptop, &email).await;
    let mail = wait_for_mail(&email, 1).await.remove(0);
    let res = app
        .confirm_with(
            laptop,
            &mail.link(&paths::with_token(paths::CONFIRM, "")),
            PASSWORD,
        )
        .await;
    assert_redirect(&res, paths::HOME);
    assert!(device_cookie(&res).is_some(), "the confirmation sets it");
    email
}

#[tokio::test]
async fn a_sign_in_from_a_new_browser_or_network_is_mailed_a_known_one_is_not() {
    let app = spawn().await;
    let laptop = browser();
    let email = signed_up_in(&app, &laptop, "devices").await;
    let known = "SELECT COUNT(*) FROM known_devices";
    assert_eq!(app.count(known).await, 1);

    // The same browser on the same network again: known.
    app.post(&laptop, fns::SIGN_OUT, &[]).await;
    assert_redirect(&app.sign_in(&laptop, &email, PASSWORD).await, paths::HOME);
    assert_eq!(app.count(known).await, 1);

    // A new browser: a notice, and a device cookie for a year.
    let phone = browser();
    let res = sign_in_from(&app, &phone, &email, "203.0.113.7").await;
    assert_redirect(&res, paths::HOME);
    let cookie = device_cookie(&res).expect("a device cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let mails = wait_for_mail(&email, 2).await;
    assert_eq!(mails[1].subject, NOTICE_SUBJECT);
    assert!(mails[1].text.contains("203.0.113.7"), "{}", mails[1].text);
    assert!(!mails[1].text.contains(cookie.split(';').next().unwrap()));
    let link = mails[1].link(&paths::with_token(paths::NOT_ME, ""));
    assert!(link.starts_with(&app.url(paths::NOT_ME)));

    // The same phone on another address of its /24: known.
    app.clock.advance(Duration::from_secs(61));
    let res = sign_in_from(&app, &phone, &email, "203.0.113.99").await;
    assert_redirect(&res, paths::HOME);
    assert_eq!(app.count(known).await, 2);

    // The same phone on another network: a notice.
    let res = sign_in_from(&app, &phone, &email, "198.51.100.7").await;
    assert_redirect(&res, paths::HOME);
    assert_eq!(app.count(known).await, 3);
    let mails = wait_for_mail(&email, 3).await;
    assert_eq!(mails[2].subject, NOTICE_SUBJECT);
    assert!(mails[2].text.contains("198.51.100.7"));

    // A forged cookie is no device: a new one replaces it.
    let forged = browser();
    let res = forged
        .post(app.url(fns::SIGN_IN_PASSWORD))
        .header("origin", app.url(""))
        .header("cookie", "thub_device=forged")
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::HOME);
    assert!(!device_cookie(&res)
        .unwrap()
        .starts_with("thub_device=forged;"));

    // Nothing else was mailed (the last notice was throttled: within the minute).
    app.stop().await;
    assert_eq!(mails_to(&email).await.len(), 3);
}

#[tokio::test]
async fn this_wasn_t_me_ends_every_session_blocks_the_password_until_a_reset() {
    let app = spawn().await;
    let laptop = browser();
    let email = signed_up_in(&app, &laptop, "not-me").await;
    let intruder = browser();
    assert_redirect(
        &sign_in_from(&app, &intruder, &email, "198.51.100.7").await,
        paths::HOME,
    );
    let notice = wait_for_mail(&email, 2).await.remove(1);
    assert_eq!(notice.subject, NOTICE_SUBJECT);
    let link = notice.link(&paths::with_token(paths::NOT_ME, ""));

    // A mail scanner fetching the link changes nothing.
    let scanner = browser();
    let res = scanner.get(&link).send().await.unwrap();
    assert_redirect(&res, paths::NOT_ME);
    assert!(app
        .page(&scanner, paths::NOT_ME)
        .await
        .contains("Sign everyone out"));
    app.page(&intruder, paths::HOME).await;
    assert!(!app.world.password_blocked(&email).await);

    // The person presses the button (from another browser, signed out).
    let person = browser();
    let res = app
        .follow_link(&person, &link, paths::NOT_ME, fns::DISOWN_SIGN_IN)
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&person, paths::SIGN_IN)
        .await
        .contains("every session of your account has ended"));
    // Every session ended: the intruder's and the laptop's.
    for client in [&intruder, &laptop] {
        assert_redirect(&app.get(client, paths::HOME).await, paths::SIGN_IN);
    }
    assert!(app.world.password_blocked(&email).await);
    let audit = "SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in.disowned'";
    assert_eq!(app.count(audit).await, 1);

    // The right password gets the one generic message while blocked.
    let res = app.sign_in(&intruder, &email, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&intruder, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Incorrect email or password."));

    // The link works once.
    let again = browser();
    assert_redirect(&again.get(&link).send().await.unwrap(), paths::NOT_ME);
    assert!(app
        .page(&again, paths::NOT_ME)
        .await
        .contains("invalid, has expired"));
    assert_eq!(app.count(audit).await, 1);

    // The reset link came; a new password lifts the block.
    let reset = wait_for_mail(&email, 3).await.remove(2);
    assert_eq!(reset.subject, RESET_SUBJECT);
    let new_password = "violet harbour lantern";
    let res = person
        .get(reset.link(&paths::with_token(paths::RESET, "")))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::RESET);
    let res = app
        .post(&person, fns::RESET_PASSWORD, &[("password", new_password)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!app.world.password_blocked(&email).await);
    assert_redirect(
        &app.sign_in(&laptop, &email, new_password).await,
        paths::HOME,
    );
}

#[tokio::test]
async fn creating_an_api_key_mails_its_creator_the_names_never_the_key() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("keys").await;
    let owner = browser();
    assert_redirect(&app.sign_in(&owner, &email, PASSWORD).await, paths::HOME);
    // The sign-in from a new browser was mailed too: confirmation, notice.
    wait_for_mail(&email, 2).await;
    let key = app
        .create_key(
            &Owner { browser: owner },
            serde_json::json!({"name": "deploy bot"}),
        )
        .await;
    let secret = key["key"].as_str().unwrap();
    let mail = wait_for_mail(&email, 3).await.remove(2);
    assert_eq!(mail.subject, "An API key was created");
    assert!(mail.text.contains("\"deploy bot\""), "{}", mail.text);
    // Where the change was made from (the test client sends no User-Agent: no device).
    assert!(
        mail.text.contains("Made from 127.0.0.1 on "),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains(secret));
    assert!(!mail.html.unwrap_or_default().contains(secret));
}
