//! Re-authentication ("sudo mode"): with a sign-in older than 10 minutes, sensitive changes
//! send the browser to "Confirm it's you" and back to the form with what was typed, and the
//! admin REST routes answer 403 `reauthentication_required`; confirming with the password
//! (counted like a sign-in guess) opens them again for 10 minutes.
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

const LATER: Duration = Duration::from_secs(10 * 60 + 1);

fn form_token(html: &str) -> String {
    let at = html.find("name=\"form_token\"").expect("a form token");
    let rest = &html[at..];
    let value = rest.find("value=\"").unwrap() + "value=\"".len();
    rest[value..].split('"').next().unwrap().to_owned()
}

async fn create_key_over_the_api(app: &TestApp, owner: &Owner) -> reqwest::Response {
    owner
        .browser
        .post(app.url("/api/v1/api_keys"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"name": "ci"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stale_sign_in_confirms_its_password_before_sensitive_changes() {
    let app = TestApp::spawn().await;
    let owner = app.owner("sudo").await;
    let key = app
        .create_key(&owner, serde_json::json!({"name": "deploy"}))
        .await;
    let key_id = key["id"].as_str().unwrap().to_owned();

    app.clock.advance(LATER);

    // The REST API (with the session) refuses, with the stable code.
    let res = create_key_over_the_api(&app, &owner).await;
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("reauthentication_required"),
    )
    .await;

    // The page's form goes to "Confirm it's you" …
    let res = app
        .post(&owner.browser, fns::DELETE_API_KEY, &[("id", &key_id)])
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let page = app.page(&owner.browser, paths::REAUTHENTICATE).await;
    assert!(page.contains("Confirm it") && page.contains("autocomplete=\"current-password\""));
    assert_eq!(
        app.listed(&owner.browser, "api_keys").await.len(),
        1,
        "nothing deleted"
    );

    // … where a wrong password is refused next to its field …
    let res = app
        .post(
            &owner.browser,
            fns::REAUTHENTICATE,
            &[("password", "not it")],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let page = app.page(&owner.browser, paths::REAUTHENTICATE).await;
    assert!(page.contains("field-password-error"), "{page}");

    // … and the right one leads back to the form, which now works.
    let res = app
        .post(
            &owner.browser,
            fns::REAUTHENTICATE,
            &[("password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, paths::API_KEYS);
    assert!(app
        .page(&owner.browser, paths::API_KEYS)
        .await
        .contains("Now submit the form again"));
    let res = app
        .post(&owner.browser, fns::DELETE_API_KEY, &[("id", &key_id)])
        .await;
    assert_redirect(&res, paths::API_KEYS);
    assert!(app.listed(&owner.browser, "api_keys").await.is_empty());
    assert_eq!(
        create_key_over_the_api(&app, &owner).await.status(),
        StatusCode::CREATED
    );

    // For 10 minutes.
    app.clock.advance(LATER);
    let res = create_key_over_the_api(&app, &owner).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn what_was_typed_comes_back_after_confirming() {
    let app = TestApp::spawn().await;
    let owner = app.owner("typed").await;
    app.clock.advance(LATER);
    let page = app.page(&owner.browser, paths::API_KEYS).await;
    let res = app
        .post(
            &owner.browser,
            paths::API_KEYS,
            &[
                ("name", "nightly backup"),
                ("expires_on", "2099-01-31"),
                ("form_token", &form_token(&page)),
            ],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let res = app
        .post(
            &owner.browser,
            fns::REAUTHENTICATE,
            &[("password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, paths::API_KEYS);
    let page = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(
        page.contains("value=\"nightly backup\"") && page.contains("value=\"2099-01-31\""),
        "{page}"
    );
    assert!(
        app.listed(&owner.browser, "api_keys").await.is_empty(),
        "no key yet"
    );
}

#[tokio::test]
async fn adding_a_domain_needs_it_too_on_both_surfaces() {
    let app = TestApp::spawn().await;
    let owner = app.owner("owner").await;
    app.clock.advance(LATER);
    let res = owner
        .browser
        .post(app.url("/api/v1/domains"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"domain": "example.org"}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("reauthentication_required"),
    )
    .await;
    let res = app
        .post(
            &owner.browser,
            fns::ADD_DOMAIN,
            &[("domain", "example.org")],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    assert!(app.listed(&owner.browser, "domains").await.is_empty());
}

#[tokio::test]
async fn a_stale_session_cannot_change_the_password_or_email_even_knowing_the_password() {
    let app = TestApp::spawn().await;
    let owner = app.owner("stale").await;
    app.clock.advance(LATER);
    let res = app
        .post(
            &owner.browser,
            fns::CHANGE_PASSWORD,
            &[
                ("current_password", PASSWORD),
                ("new_password", "copper kettle morning rain"),
            ],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let res = app
        .post(
            &owner.browser,
            fns::REQUEST_EMAIL_CHANGE,
            &[
                ("new_email", &unique_email("elsewhere")),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    // After confirming, back to the email form with the address that was typed.
    let res = app
        .post(
            &owner.browser,
            fns::REAUTHENTICATE,
            &[("password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, paths::SECURITY_EMAIL);
    assert!(app
        .page(&owner.browser, paths::SECURITY_EMAIL)
        .await
        .contains("elsewhere"));
}

#[tokio::test]
async fn every_sensitive_admin_route_asks_a_stale_session_to_confirm_first_and_reads_do_not() {
    let app = TestApp::spawn().await;
    let owner = app.owner("every").await;
    app.clock.advance(LATER);
    let unknown = |prefix: &str| format!("{prefix}_{}", "1".repeat(32));
    let cases: Vec<(reqwest::Method, String, serde_json::Value)> = vec![
        (
            reqwest::Method::POST,
            "/api/v1/api_keys".into(),
            serde_json::json!({"name": "x"}),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/api_keys/{}", unknown("key")),
            serde_json::Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/domains".into(),
            serde_json::json!({"domain": "example.org"}),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/domains/{}/verify", unknown("dom")),
            serde_json::Value::Null,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/domains/{}", unknown("dom")),
            serde_json::Value::Null,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/sso_connections".into(),
            serde_json::json!({"issuer": "https://id.example.org", "client_id": "c", "client_secret": "s", "domains": ["example.org"]}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/sso_connections/{}", unknown("sso")),
            serde_json::json!({"create_users": true}),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/sso_connections/{}", unknown("sso")),
            serde_json::Value::Null,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/members/{}", unknown("usr")),
            serde_json::Value::Null,
        ),
    ];
    for (method, path, body) in cases {
        let mut request = owner
            .browser
            .request(method.clone(), app.url(&path))
            .header("origin", &app.base);
        if !body.is_null() {
            request = request.json(&body);
        }
        let res = request.send().await.unwrap();
        let status = res.status();
        let json: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("reauthentication_required")),
            "{method} {path}: {json}"
        );
    }
    for read in [
        "api_keys",
        "members",
        "invitations",
        "domains",
        "sso_connections",
    ] {
        let res = owner
            .browser
            .get(app.url(&format!("/api/v1/{read}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "GET /api/v1/{read} needs no fresh sign-in"
        );
    }
}
