//! The email-first sign-in and its one generic failure.
use reqwest::{Response, StatusCode};

use crate::helpers::*;

/// Status, Location and headers of a refused sign-in, minus what differs per request.
fn shape(res: &Response) -> (StatusCode, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "set-cookie" | "date" | "x-request-id"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    headers.sort();
    (res.status(), headers)
}

async fn refused(
    app: &TestApp,
    email: &str,
    password: &str,
) -> ((StatusCode, Vec<(String, String)>), String) {
    let client = browser();
    let res = app.sign_in(&client, email, password).await;
    let shape = shape(&res);
    let page = app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .replace(email, "EMAIL");
    (shape, page)
}

#[tokio::test]
async fn wrong_password_unknown_email_and_locked_account_look_the_same() {
    let app = TestApp::spawn().await;
    let known = app.confirmed_user("known").await;
    let locked = app.confirmed_user("locked").await;
    let attacker = browser();
    for _ in 0..5 {
        app.sign_in(&attacker, &locked, "not the password").await;
    }
    assert_eq!(app.failed_attempts(&locked).await, 5);

    let wrong = refused(&app, &known, "not the password").await;
    let unknown = refused(&app, &unique_email("nobody"), "not the password").await;
    let lock = refused(&app, &locked, PASSWORD).await;

    assert_eq!(wrong.0 .0, StatusCode::SEE_OTHER);
    assert!(wrong.1.contains("Incorrect email or password."));
    assert_eq!(
        wrong.0, unknown.0,
        "status and headers: wrong password vs unknown email"
    );
    assert_eq!(
        wrong.0, lock.0,
        "status and headers: wrong password vs locked account"
    );
    assert_eq!(wrong.1, unknown.1, "page: wrong password vs unknown email");
    assert_eq!(
        wrong.1, lock.1,
        "page: wrong password vs locked account (right password!)"
    );
}

#[tokio::test]
async fn email_step_validates_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_IN_EMAIL, &[("email", "not-an-email")])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    let page = app.page(&client, paths::SIGN_IN).await;
    assert!(page.contains("Enter a valid email address"));
    assert!(page.contains("value=\"not-an-email\""));
    // The password step needs an email first.
    assert_redirect(
        &app.get(&browser(), paths::SIGN_IN_PASSWORD).await,
        paths::SIGN_IN,
    );
}

#[tokio::test]
async fn password_step_asks_for_a_missing_password() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("forgetful").await;
    let client = browser();
    let res = app.sign_in(&client, &email, "").await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Enter your password."));
    assert_eq!(
        app.failed_attempts(&email).await,
        0,
        "an empty password is not a guess"
    );
}

#[tokio::test]
async fn ip_with_over_100_failures_gets_429_with_retry_after() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = app.confirmed_user("victim").await;
    // Malformed emails fail without hashing: a cheap way to spend the IP's budget.
    for i in 0..101 {
        let res = app
            .sign_in_password(&client, &format!("spray{i}"), "guess guess")
            .await;
        assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    }
    let res = app.sign_in_password(&client, &email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert!(res.text().await.unwrap().contains("Too many attempts"));

    // 15 minutes after the window opened the IP may try again.
    app.clock
        .advance(std::time::Duration::from_secs(15 * 60 + 1));
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
}

#[tokio::test]
async fn old_hash_parameters_are_upgraded_at_sign_in() {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("legacy").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(
        PASSWORD.as_bytes(),
        &SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap(),
    )
    .unwrap()
    .to_string();
    app.world.store_password_hash(&email, &weak).await;

    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
    let stored = app.world.password_hash(&email).await.unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
}

/// The router serves every request through `Passwords::serve`: password sign-ins (which hash)
/// leave the hashing threads at full speed, and any other request makes them give way.
#[tokio::test]
async fn only_requests_that_do_not_hash_make_hashing_give_way() {
    let app = TestApp::spawn().await;
    let client = browser();
    let res = app
        .sign_in_password(&client, "nobody@example.com", "not the password")
        .await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(
        !app.passwords.answered_without_hashing(),
        "a sign-in waits for a hash"
    );
    let res = reqwest::get(app.url("/api/v1/workspaces")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(app.passwords.answered_without_hashing());
}

/// The review's race: many concurrent wrong passwords from one address. Every attempt is
/// counted before its hash is checked, so exactly the budget's worth is checked and the rest
/// get 429. (80 failures are spent first with malformed emails, which are refused before any
/// hashing, so the concurrent part needs few hashes.)
#[tokio::test]
async fn concurrent_attempts_cannot_slip_past_the_per_ip_limit() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("sprayed").await;
    let client = browser();
    for i in 0..80 {
        let res = app
            .sign_in_password(&client, &format!("spray{i}"), "guess guess")
            .await;
        assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    }
    let attempts = (0..200).map(|i| {
        let (app, email) = (&app, &email);
        async move {
            let target = match i % 4 {
                0 => email.clone(),
                1 => unique_email("spray"),
                _ => format!("malformed{i}"),
            };
            app.sign_in_password(&browser(), &target, "wrong guess here")
                .await
                .status()
        }
    });
    let statuses = collect_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (21, 179), "101 in all, then 429");
}

/// IPv6 clients are counted per /64: rotating through one's own /64 does not help.
#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let from = |ip: String| {
        let app = &app;
        async move {
            browser()
                .post(app.url(fns::SIGN_IN_PASSWORD))
                .header("origin", &app.base)
                .header("x-forwarded-for", ip)
                .form(&[("email", "nobody"), ("password", "wrong guess here")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for i in 0..101 {
        let status = from(format!("2001:db8:1:2::{:x}", i + 1)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "attempt {i}");
    }
    assert_eq!(
        from("2001:db8:1:2:ffff:ffff:ffff:ffff".into()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "same /64"
    );
    assert_eq!(
        from("2001:db8:1:3::1".into()).await,
        StatusCode::SEE_OTHER,
        "another /64 is another client"
    );
}
