//! Bad input gets a clear message next to the field, never a 500.
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn huge_and_malformed_inputs_get_clear_messages() {
    let app = TestApp::spawn().await;
    let client = browser();
    let long_email = format!("{}@example.com", "a".repeat(10 * 1024));
    let huge_password = "p".repeat(1024 * 1024);

    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: [Case; 6] = [
        (
            fns::SIGN_UP,
            vec![("email", "")],
            paths::SIGN_UP,
            "Enter your email address.",
        ),
        (
            fns::SIGN_UP,
            vec![("email", "a@@b")],
            paths::SIGN_UP,
            "Enter a valid email address",
        ),
        (
            fns::SIGN_UP,
            vec![("email", &long_email)],
            paths::SIGN_UP,
            "This email address is too long.",
        ),
        (
            fns::SIGN_IN_EMAIL,
            vec![("email", &long_email)],
            paths::SIGN_IN,
            "This email address is too long.",
        ),
        (
            fns::FORGOT_PASSWORD,
            vec![("email", "nope")],
            paths::FORGOT,
            "Enter a valid email address",
        ),
        (
            fns::FORGOT_PASSWORD,
            vec![("email", "   ")],
            paths::FORGOT,
            "Enter your email address.",
        ),
    ];
    for (action, form, page, message) in cases {
        let res = app.post(&client, action, &form).await;
        assert_redirect(&res, page);
        let html = app.page(&client, page).await;
        assert!(
            html.contains(message),
            "{action} {:?}… → {message:?}",
            form.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
        );
    }

    // A megabyte password at sign-in: the generic refusal, before any hashing.
    let res = app
        .sign_in_password(&client, "ok@example.com", &huge_password)
        .await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Incorrect email or password."));
    assert_eq!(app.world.tally().await.users, 0);
}

#[tokio::test]
async fn garbage_tokens_are_dead_links_not_errors() {
    let app = TestApp::spawn().await;
    let client = browser();
    for page in [paths::CONFIRM, paths::UNLOCK, paths::RESET] {
        for token in [
            "",
            "garbage",
            "'; DROP TABLE users; --",
            &"x".repeat(10_000),
            "%00%ff",
        ] {
            let res = app
                .get(&client, &format!("{page}?token={}", urlencode(token)))
                .await;
            assert_redirect(&res, page);
            let html = app.page(&client, page).await;
            assert!(
                html.contains("invalid, has expired or was already used"),
                "{page} {token:?}"
            );
        }
    }
    for (action, to) in [
        (fns::CONFIRM_EMAIL, paths::CONFIRM),
        (fns::UNLOCK_ACCOUNT, paths::UNLOCK),
        (fns::RESET_PASSWORD, paths::FORGOT),
    ] {
        let res = app
            .post(&browser(), action, &[("password", PASSWORD)])
            .await;
        assert_redirect(&res, to);
    }
}

#[tokio::test]
async fn missing_form_fields_never_reach_a_500() {
    let app = TestApp::spawn().await;
    for action in [
        fns::SIGN_UP,
        fns::SIGN_IN_EMAIL,
        fns::SIGN_IN_PASSWORD,
        fns::FORGOT_PASSWORD,
        fns::RESET_PASSWORD,
    ] {
        let res = app.post(&browser(), action, &[]).await;
        assert!(
            res.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "{action}: {}",
            res.status()
        );
        assert!(
            res.status().is_redirection() || res.status().is_client_error(),
            "{action}: {}",
            res.status()
        );
    }
}

/// A form post with a field left out or sent twice gets a 400 page that says so, with the
/// request id, whether or not the browser sent a Referer (leptos would answer a bare 500 or
/// bounce back with the error in the address).
#[tokio::test]
async fn unreadable_form_posts_get_a_400_page() {
    let app = TestApp::spawn().await;
    let client = browser();
    for (body, referer) in [
        ("email=a%40b.test", None),
        ("email=a%40b.test", Some(paths::SIGN_IN_PASSWORD)),
        ("email=a%40b.test&email=c%40d.test&password=x", None),
        (
            "password=x&password=y&email=a%40b.test",
            Some(paths::SIGN_IN_PASSWORD),
        ),
    ] {
        let mut req = client
            .post(app.url(fns::SIGN_IN_PASSWORD))
            .header("origin", &app.base)
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(path) = referer {
            req = req.header("referer", app.url(path));
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let html = res.text().await.unwrap();
        assert!(
            html.contains("missing or sent more than once") && html.contains(&id),
            "{html}"
        );
        assert!(!html.contains("Args|"));
    }
}
