//! Sessions and request safety: id cycling, cookie flags, Origin checks, headers, lifetimes.
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn session_id_changes_at_sign_in_and_sign_out() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("cycler").await;
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_IN_EMAIL, &[("email", &email)])
        .await;
    let anonymous = session_cookie(res.headers()).expect("the email step starts a session");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );

    let res = app.sign_in_password(&client, &email, PASSWORD).await;
    assert_redirect(&res, paths::HOME);
    let signed_in = session_cookie(res.headers()).expect("sign-in sets a new cookie");
    assert_ne!(anonymous, signed_in, "no session fixation");

    // The old id is worthless.
    let attacker = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = attacker
        .get(app.url(paths::HOME))
        .header("cookie", format!("thub_session={anonymous}"))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::SIGN_IN);

    let res = app.post(&client, fns::SIGN_OUT, &[]).await;
    assert_redirect(&res, paths::SIGN_IN);
    let after = session_cookie(res.headers()).unwrap_or_default();
    assert_ne!(after, signed_in);
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("You have signed out."));
    assert_redirect(&app.get(&client, paths::HOME).await, paths::SIGN_IN);
    // The signed-in id is dead in the store too, not just forgotten by this browser.
    let res = attacker
        .get(app.url(paths::HOME))
        .header("cookie", format!("thub_session={signed_in}"))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::SIGN_IN);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("victim").await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);

    for origin in [
        "https://evil.example",
        "null",
        &format!("{}.evil.example", app.base),
    ] {
        let res = client
            .post(app.url(fns::SIGN_OUT))
            .header("origin", origin)
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "Origin {origin}");
        assert!(res.text().await.unwrap().contains("sent from another site"));
    }
    // No Origin and no Referer: refused as well.
    let res = client.post(app.url(fns::SIGN_OUT)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Still signed in.
    assert_eq!(app.get(&client, paths::HOME).await.status(), StatusCode::OK);
    // A same-origin Referer is accepted when a browser omits Origin.
    let res = client
        .post(app.url(fns::SIGN_OUT))
        .header("referer", app.url(paths::HOME))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::SIGN_IN);
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    let app = TestApp::spawn().await;
    for path in [
        paths::SIGN_IN,
        paths::SIGN_UP,
        paths::FORGOT,
        "/no-such-page",
    ] {
        let res = app.get(&browser(), path).await;
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(h.contains_key("x-request-id"));
        let body = res.text().await.unwrap();
        assert!(!body.contains("<script"), "{path} has no scripts");
    }
    assert_eq!(
        app.get(&browser(), "/no-such-page").await.status(),
        StatusCode::NOT_FOUND
    );
    let res = browser()
        .get(app.url(paths::SIGN_IN))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "trace-me-123",
        "a client's request id is echoed"
    );
}

#[tokio::test]
async fn sign_in_forms_have_labels_and_autocomplete() {
    let app = TestApp::spawn().await;
    let page = app.page(&browser(), paths::SIGN_UP).await;
    assert!(page.contains("<label for=\"field-email\">Email</label>"));
    assert!(page.contains("autocomplete=\"username\""));
    // The new password is chosen behind the confirmation link (its own test checks that page).
    let client = browser();
    app.post(&client, fns::SIGN_IN_EMAIL, &[("email", "a@example.com")])
        .await;
    let page = app.page(&client, paths::SIGN_IN_PASSWORD).await;
    assert!(page.contains("autocomplete=\"current-password\""));
    assert!(page.contains("<label for=\"field-password\">Password</label>"));
}

#[tokio::test]
async fn a_session_ends_fourteen_days_after_sign_in() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("longtimer").await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    app.clock.advance(Duration::from_secs(13 * 24 * 3600));
    assert_eq!(app.get(&client, paths::HOME).await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_redirect(&app.get(&client, paths::HOME).await, paths::SIGN_IN);
}

#[tokio::test]
async fn health_endpoints() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get(&browser(), "/healthz").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&browser(), "/readyz").await.status(),
        StatusCode::OK
    );
    app.db.close().await;
}
