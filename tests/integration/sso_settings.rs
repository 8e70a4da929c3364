//! Single sign-on settings: connecting a provider, claiming domains, enforcement (owners only).
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn connection(domains: &[&str]) -> Value {
    json!({"issuer": "https://login.example.net", "client_id": "terminus", "client_secret": "s3cret-value-42",
           "domains": domains, "enforced": false})
}

async fn post_connection(app: &TestApp, owner: &Owner, body: &Value) -> reqwest::Response {
    owner
        .browser
        .post(app.url("/api/v1/sso_connections"))
        .header("origin", &app.base)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn owners_connect_a_provider_and_claim_their_domain() {
    let app = TestApp::spawn().await;
    let owner = app.owner("ssoowner").await;
    let res = post_connection(&app, &owner, &connection(&["Example.COM"])).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        created["domains"],
        json!(["example.com"]),
        "domains are lower-cased"
    );
    assert_eq!(
        created["redirect_uri"],
        format!("{}/auth/oidc/callback", app.base)
    );
    assert!(created.get("client_secret").is_none());
    let stored: String = sqlx::query_scalar("SELECT client_secret_enc FROM sso_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains("s3cret"),
        "the secret is sealed at rest"
    );
    let listed: Value = owner
        .browser
        .get(app.url("/api/v1/sso_connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains("s3cret"));

    // Domain rules.
    for (domains, code) in [
        (vec!["gmail.com"], "domain_not_allowed"),
        (vec!["corp.test"], "domain_not_allowed"),
        (vec!["eu.example.com"], "domain_not_allowed"),
        (vec![], "parameter_missing"),
    ] {
        let res = post_connection(&app, &owner, &connection(&domains)).await;
        let err = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
        assert_eq!(err["param"], "domains");
    }
    let mut bad = connection(&["example.com"]);
    bad["issuer"] = json!("http://login.example.net");
    let err = assert_api_error(
        post_connection(&app, &owner, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid"),
    )
    .await;
    assert_eq!(err["path"], "/issuer");

    // One account per domain.
    let rival = app.owner("rival").await;
    let res = post_connection(&app, &rival, &connection(&["example.com"])).await;
    assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("domain_taken"),
    )
    .await;

    // Enforcement switch, then delete releases the domain.
    let id = created["id"].as_str().unwrap();
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/sso_connections/{id}")))
        .header("origin", &app.base)
        .json(&json!({"enforced": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["enforced"], true);
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/sso_connections/{id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        post_connection(&app, &rival, &connection(&["example.com"]))
            .await
            .status(),
        StatusCode::CREATED
    );
    let events = app
        .count("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'sso.%'")
        .await;
    assert_eq!(events, 4, "created, enforced, deleted, created");
}

#[tokio::test]
async fn only_owners_manage_sso() {
    let app = TestApp::spawn().await;
    let owner = app.owner("theowner").await;
    let key = app.full_key(&owner).await;
    let res = app
        .api(Method::GET, "/sso_connections", &key)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("admin_only"),
    )
    .await;

    sqlx::query("UPDATE memberships SET role = 'admin'")
        .execute(&app.db)
        .await
        .unwrap();
    let res = owner
        .browser
        .get(app.url("/api/v1/sso_connections"))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("owner_only"),
    )
    .await;
    let res = post_connection(&app, &owner, &connection(&["example.com"])).await;
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("owner_only"),
    )
    .await;
    assert_eq!(
        app.get(&owner.browser, "/settings/sso").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(!app
        .page(&owner.browser, "/home")
        .await
        .contains("/settings/sso"));
}

#[tokio::test]
async fn the_settings_page_shows_the_redirect_uri_and_connects() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pageowner").await;
    let page = app.page(&owner.browser, "/settings/sso").await;
    assert!(page.contains(&format!("{}/auth/oidc/callback", app.base)));
    assert!(page.contains("No identity provider is connected yet."));

    // A refused domain keeps what was typed (except the secret).
    let form = [
        ("issuer", "https://login.example.net"),
        ("client_id", "hub"),
        ("client_secret", "top-secret-value"),
        ("domains", "gmail.com"),
    ];
    assert_redirect(
        &app.post(&owner.browser, "/_fn/create_sso_connection", &form)
            .await,
        "/settings/sso",
    );
    let page = app.page(&owner.browser, "/settings/sso").await;
    assert!(page.contains("gmail.com is a public mail provider"));
    assert!(
        page.contains("value=\"https://login.example.net\"") && !page.contains("top-secret-value")
    );

    let form = [
        ("issuer", "https://login.example.net"),
        ("client_id", "hub"),
        ("client_secret", "top-secret-value"),
        ("domains", "example.com"),
        ("enforced", "on"),
    ];
    assert_redirect(
        &app.post(&owner.browser, "/_fn/create_sso_connection", &form)
            .await,
        "/settings/sso",
    );
    let page = app.page(&owner.browser, "/settings/sso").await;
    assert!(
        page.contains("Connected https://login.example.net for example.com.")
            && page.contains("Enforced")
    );
    assert!(
        !page.contains("top-secret-value"),
        "the secret is never shown again"
    );
    let id: String = sqlx::query_scalar("SELECT id FROM sso_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_redirect(
        &app.post(
            &owner.browser,
            "/_fn/set_sso_enforced",
            &[("id", &id), ("enforced", "false")],
        )
        .await,
        "/settings/sso",
    );
    assert!(app
        .page(&owner.browser, "/settings/sso")
        .await
        .contains("no longer enforced"));
    assert_redirect(
        &app.post(&owner.browser, "/_fn/delete_sso_connection", &[("id", &id)])
            .await,
        "/settings/sso",
    );
    assert!(app
        .page(&owner.browser, "/settings/sso")
        .await
        .contains("No identity provider is connected yet."));
}
