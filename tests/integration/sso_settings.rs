//! Single sign-on settings: connecting a provider for verified domains only, the issuer
//! rules, and who may manage it (owners only).
use app::domain::ids::ConnectionId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn post_json(app: &TestApp, owner: &Owner, path: &str, body: &Value) -> reqwest::Response {
    owner
        .browser
        .post(app.url(path))
        .header("origin", &app.base)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn owners_connect_a_provider_for_their_verified_domains_only() {
    let app = TestApp::spawn().await;
    let owner = app.owner("ssoowner").await;
    // Added but not verified: refused.
    assert_eq!(
        app.add_domain(&owner, "pending.test").await.status(),
        StatusCode::CREATED
    );
    for (domains, code) in [
        (vec!["pending.test"], "domain_not_verified"),
        (vec!["unknown.test"], "domain_not_verified"),
        (vec!["gmail.com"], "domain_not_verified"),
        (vec![], "parameter_missing"),
    ] {
        let err = assert_api_error(
            app.post_connection(&owner, &domains).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
        assert_eq!(err["param"], "domains", "{domains:?}");
    }

    let example = app.verified_domain(&owner, "example.test").await;
    let res = app.post_connection(&owner, &["Example.TEST."]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        created["domains"],
        json!([{"domain": "example.test", "verified": true}]),
        "one spelling of the domain"
    );
    assert_eq!(created["enforced"], false);
    assert_eq!(created["tested_at"], Value::Null);
    assert_eq!(
        created["redirect_uri"],
        format!("{}/auth/oidc/callback", app.base)
    );
    assert!(created.get("client_secret").is_none());
    let connection = app.world.sso_connection_for("example.test").await.unwrap();
    let stored = connection.client_secret_sealed;
    assert!(stored.starts_with("v1:"), "the secret is sealed at rest");
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

    // A domain is served by one connection.
    assert_api_error(
        app.post_connection(&owner, &["example.test"]).await,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("domain_taken"),
    )
    .await;

    // Enforcement waits for a test sign-in, in the API as on the page.
    let id = created["id"].as_str().unwrap();
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/sso_connections/{id}")))
        .header("origin", &app.base)
        .json(&json!({"enforced": true}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("test_sign_in_required"),
    )
    .await;
    let mut body = json!({"issuer": oidc_issuer(), "client_id": "x", "client_secret": "y",
                          "domains": ["example.test"], "enforced": true});
    assert_api_error(
        post_json(&app, &owner, "/api/v1/sso_connections", &body).await,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("test_sign_in_required"),
    )
    .await;
    body["enforced"] = json!(false);

    // Deleting the domain stops the connection from serving it.
    let domain_id = example["id"].as_str().unwrap();
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/domains/{domain_id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let listed: Value = owner
        .browser
        .get(app.url("/api/v1/sso_connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["domains"], json!([]));
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/sso_connections/{id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let events = app
        .world
        .audit_actions(connection.account_id.as_str())
        .await
        .iter()
        .filter(|a| a.starts_with("sso.") || a.starts_with("domain."))
        .count();
    assert_eq!(
        events, 6,
        "two domains added, one verified, a connection created, a domain deleted, the connection deleted"
    );
}

#[tokio::test]
async fn issuers_are_parsed_not_prefix_matched_and_fetched_bodies_are_never_echoed() {
    let app = TestApp::spawn().await;
    let owner = app.owner("issuers").await;
    app.verified_domain(&owner, "issuers.test").await;
    for bad in [
        "http://127.0.0.1.evil.test",
        "http://localhost.evil.test:8080",
        "http://127.0.0.1@evil.test",
        "http://login.example.net",
        "https://169.254.169.254",
        "https://10.1.2.3",
        "https://[::ffff:127.0.0.1]@evil.test",
        "ftp://login.example.net",
    ] {
        let body = json!({"issuer": bad, "client_id": "c", "client_secret": "s", "domains": ["issuers.test"]});
        let err = assert_api_error(
            post_json(&app, &owner, "/api/v1/sso_connections", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("parameter_invalid"),
        )
        .await;
        assert_eq!(err["path"], "/issuer", "{bad}");
    }

    // A public-looking name is checked on the addresses it resolves to.
    app.dns.publish_address("intranet.test", "10.1.2.3");
    app.dns.publish_address("metadata.test", "169.254.169.254");
    for name in ["intranet.test", "metadata.test"] {
        let body = json!({"issuer": format!("https://{name}"), "client_id": "c", "client_secret": "s",
                          "domains": ["issuers.test"]});
        let err = assert_api_error(
            post_json(&app, &owner, "/api/v1/sso_connections", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("issuer_unreachable"),
        )
        .await;
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("loopback, private or reserved network address"),
            "{name}: {err}"
        );
    }

    // A page of the hub itself is no discovery document; what it answered is not shown.
    let body = json!({"issuer": app.url(paths::SIGN_IN), "client_id": "c", "client_secret": "s",
                      "domains": ["issuers.test"]});
    let err = assert_api_error(
        post_json(&app, &owner, "/api/v1/sso_connections", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("issuer_unreachable"),
    )
    .await;
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("answered HTTP 404"), "{message}");
    assert!(
        !message.contains('<') && !message.contains("There is no page at this address"),
        "no fetched content: {message}"
    );
    // The same through the settings page's form.
    let form = [
        ("issuer", app.url(paths::ROOT)),
        ("client_id", "hub".into()),
        ("client_secret", "top-secret-value".into()),
        ("domains", "issuers.test".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_redirect(
        &app.post(&owner.browser, fns::CREATE_SSO_CONNECTION, &form)
            .await,
        paths::SSO,
    );
    let page = app.page(&owner.browser, paths::SSO).await;
    assert!(
        page.contains("does not work as an OpenID provider yet"),
        "{page}"
    );
    assert!(
        !page.contains("There is no page at this address"),
        "the fetched 404 page is not echoed"
    );
    assert_eq!(app.world.tally().await.sso_connections, 0);

    // "Test connection" on a connection whose issuer now points at the hub's own pages (as if
    // the provider had moved): a plain sentence, nothing of what came back.
    let created: Value = app
        .post_connection(&owner, &["issuers.test"])
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    sqlx::query("UPDATE sso_connections SET issuer = $1")
        .bind(app.url(paths::SIGN_IN))
        .execute(&app.db)
        .await
        .unwrap();
    assert_redirect(
        &app.post(&owner.browser, fns::TEST_SSO_CONNECTION, &[("id", id)])
            .await,
        paths::SSO,
    );
    let page = app.page(&owner.browser, paths::SSO).await;
    assert!(page.contains("answered HTTP 404"), "{page}");
    assert!(!page.contains("There is no page at this address"));
}

#[tokio::test]
async fn only_owners_manage_sso_and_domains() {
    let app = TestApp::spawn().await;
    let owner = app.owner("theowner").await;
    let key = app.full_key(&owner).await;
    for path in ["/sso_connections", "/domains"] {
        let res = app.api(Method::GET, path, &key).send().await.unwrap();
        assert_api_error(
            res,
            StatusCode::FORBIDDEN,
            "permission_error",
            Some("admin_only"),
        )
        .await;
    }

    sqlx::query("UPDATE memberships SET role = 'admin'")
        .execute(&app.db)
        .await
        .unwrap();
    for path in ["/api/v1/sso_connections", "/api/v1/domains"] {
        let res = owner.browser.get(app.url(path)).send().await.unwrap();
        assert_api_error(
            res,
            StatusCode::FORBIDDEN,
            "permission_error",
            Some("owner_only"),
        )
        .await;
    }
    assert_api_error(
        app.add_domain(&owner, "admins.test").await,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("owner_only"),
    )
    .await;
    assert_api_error(
        app.post_connection(&owner, &["admins.test"]).await,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("owner_only"),
    )
    .await;
    for page in [paths::SSO, paths::DOMAINS] {
        assert_eq!(
            app.get(&owner.browser, page).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let home = app.page(&owner.browser, paths::HOME).await;
    assert!(!home.contains(paths::SSO) && !home.contains(paths::DOMAINS));
    // The forms refuse too.
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::ADD_DOMAIN,
            &[("domain", "admins.test")],
        )
        .await,
        paths::DOMAINS,
    );
    assert_eq!(app.world.tally().await.account_domains, 0);
}

#[tokio::test]
async fn the_settings_pages_verify_connect_test_and_confirm_enforcement() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pageowner").await;
    let page = app.page(&owner.browser, paths::SSO).await;
    assert!(page.contains(&format!("{}/auth/oidc/callback", app.base)));
    assert!(page.contains("No identity provider is connected yet."));

    // Domains page: a free-mail domain is refused next to the field, a real one shows its record.
    assert_redirect(
        &app.post(&owner.browser, fns::ADD_DOMAIN, &[("domain", "outlook.de")])
            .await,
        paths::DOMAINS,
    );
    let page = app.page(&owner.browser, paths::DOMAINS).await;
    assert!(
        page.contains("outlook.de is a public mail provider"),
        "{page}"
    );
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::ADD_DOMAIN,
            &[("domain", "Pages.TEST.")],
        )
        .await,
        paths::DOMAINS,
    );
    let page = app.page(&owner.browser, paths::DOMAINS).await;
    assert!(page.contains("_terminus-hub-challenge.pages.test") && page.contains("Not verified"));
    let domains = app.listed(&owner.browser, "domains").await;
    assert_eq!(domains.len(), 1);
    let value = domains[0]["dns_record"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(value.starts_with("terminus-hub-verification="), "{value}");
    assert!(page.contains(&value));
    let id = domains[0]["id"].as_str().unwrap().to_owned();
    app.dns.start();
    assert_redirect(
        &app.post(&owner.browser, fns::VERIFY_DOMAIN, &[("id", &id)])
            .await,
        paths::DOMAINS,
    );
    assert!(app
        .page(&owner.browser, paths::DOMAINS)
        .await
        .contains("No TXT record _terminus-hub-challenge.pages.test"));
    app.dns
        .publish("_terminus-hub-challenge.pages.test", &value);
    assert_redirect(
        &app.post(&owner.browser, fns::VERIFY_DOMAIN, &[("id", &id)])
            .await,
        paths::DOMAINS,
    );
    assert!(app
        .page(&owner.browser, paths::DOMAINS)
        .await
        .contains("pages.test is verified"));

    // Connect through the form; the secret never comes back.
    let (client_id, client_secret) =
        register_oidc_client(&format!("{}/auth/oidc/callback", app.base)).await;
    let form = [
        ("issuer", oidc_issuer()),
        ("client_id", client_id),
        ("client_secret", client_secret.clone()),
        ("domains", "pages.test".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_redirect(
        &app.post(&owner.browser, fns::CREATE_SSO_CONNECTION, &form)
            .await,
        paths::SSO,
    );
    let page = app.page(&owner.browser, paths::SSO).await;
    assert!(
        page.contains("for pages.test") && page.contains("No test sign-in yet"),
        "{page}"
    );
    assert!(
        !page.contains(&client_secret),
        "the secret is never shown again"
    );
    let connections = app.listed(&owner.browser, "sso_connections").await;
    assert_eq!(connections.len(), 1);
    let id = connections[0]["id"].as_str().unwrap().to_owned();

    // Before a test sign-in the confirmation page offers only the test.
    let confirm = app
        .page(
            &owner.browser,
            &paths::sso_enforcement(&ConnectionId::from_stored(id.as_str())),
        )
        .await;
    assert!(
        confirm.contains("Complete a test sign-in")
            && !confirm.contains("Enforce single sign-on</button>")
    );
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::SET_SSO_ENFORCED,
            &[("id", &id), ("enforced", "true")],
        )
        .await,
        paths::SSO,
    );
    assert!(app
        .page(&owner.browser, paths::SSO)
        .await
        .contains("Complete a test sign-in"));

    let page = app.test_sign_in(&owner, &id, "tester@pages.test").await;
    assert!(page.contains("Test sign-in succeeded"), "{page}");
    let confirm = app
        .page(
            &owner.browser,
            &paths::sso_enforcement(&ConnectionId::from_stored(id.as_str())),
        )
        .await;
    assert!(confirm.contains("affects 0 people"), "{confirm}");
    app.enforce(&owner, &id).await;
    assert!(app
        .page(&owner.browser, paths::SSO)
        .await
        .contains("Enforced"));
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::SET_SSO_ENFORCED,
            &[("id", &id), ("enforced", "false")],
        )
        .await,
        paths::SSO,
    );
    assert!(app
        .page(&owner.browser, paths::SSO)
        .await
        .contains("no longer enforced"));
    assert_redirect(
        &app.post(&owner.browser, fns::DELETE_SSO_CONNECTION, &[("id", &id)])
            .await,
        paths::SSO,
    );
    assert!(app
        .page(&owner.browser, paths::SSO)
        .await
        .contains("No identity provider is connected yet."));
}
