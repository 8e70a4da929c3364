//! Signing in through single sign-on against a real OpenID provider process.
use app::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::*;

/// The email step for `email`; returns the 303's Location.
async fn email_step(app: &TestApp, client: &reqwest::Client, email: &str) -> String {
    let res = app
        .post(client, fns::SIGN_IN_EMAIL, &[("email", email)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res)
}

#[tokio::test]
async fn an_enforced_domain_goes_to_the_provider_and_provisions_a_member() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;

    let colleague = format!("carol-{}@corp.test", uuid::Uuid::now_v7().simple());
    let client = browser();
    let to_provider = email_step(&app, &client, &colleague).await;
    assert!(
        to_provider.starts_with(&format!("{}/auth?", oidc_issuer())),
        "{to_provider}"
    );
    for part in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "login_hint=carol-",
    ] {
        assert!(to_provider.contains(part), "{part} in {to_provider}");
    }
    let callback = provider_login(&to_provider, &colleague).await;
    let res = client.get(&callback).send().await.unwrap();
    assert_redirect(&res, paths::HOME);
    let home = app.page(&client, paths::HOME).await;
    assert!(
        home.contains("boss-") && home.contains(">Main<"),
        "lands in the connection's account"
    );

    let user = app.world.existing_user(&colleague).await;
    let (hash, confirmed) = (user.password_hash, user.email_confirmed_at);
    assert!(
        hash.is_none() && confirmed.is_some(),
        "provisioned without a password, email confirmed"
    );
    assert_eq!(app.world.roles(&colleague).await, [Role::Member]);
    assert_eq!(
        app.world.tally().await.accounts,
        1,
        "no account of their own"
    );
    assert!(app
        .page(&owner.browser, paths::ACTIVITY)
        .await
        .contains("sso.sign_in"));

    // The callback works once.
    let res = browser().get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("expired or was already used"));
}

#[tokio::test]
async fn a_claimed_domain_offers_sso_beside_the_password_and_links_existing_users() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("lead", "corp.test").await;
    // Dave already has a user (and an account of his own) before SSO is set up.
    let (_, dave) = app.owner_at("dave", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], false).await;

    let client = browser();
    assert_eq!(
        email_step(&app, &client, &dave).await,
        paths::SIGN_IN_PASSWORD
    );
    let page = app.page(&client, paths::SIGN_IN_PASSWORD).await;
    assert!(
        page.contains("Continue with SSO") && page.contains("autocomplete=\"current-password\"")
    );
    let res = app.post(&client, fns::START_SSO, &[]).await;
    let to_provider = location(&res);
    assert!(to_provider.starts_with(&oidc_issuer()));
    let callback = provider_login(&to_provider, &dave).await;
    assert_redirect(
        &client.get(&callback).send().await.unwrap(),
        paths::ACCOUNTS,
    );
    let picker = app.page(&client, paths::ACCOUNTS).await;
    assert!(
        picker.contains("lead-") && picker.contains("dave-"),
        "linked: both accounts"
    );
    assert_eq!(
        app.world.tally().await.users,
        2,
        "the existing user was linked, not duplicated"
    );

    // Unclaimed domains see no SSO button.
    let other = browser();
    assert_eq!(
        email_step(&app, &other, &unique_email("plain")).await,
        paths::SIGN_IN_PASSWORD
    );
    assert!(!app
        .page(&other, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Continue with SSO"));
}

#[tokio::test]
async fn bad_answers_from_the_provider_get_clear_pages() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("chief", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;

    async fn attempt(app: &TestApp, login: &str) -> (reqwest::Client, String) {
        let client = browser();
        let to_provider = email_step(
            app,
            &client,
            &format!("someone-{}@corp.test", uuid::Uuid::now_v7().simple()),
        )
        .await;
        let callback = provider_login(&to_provider, login).await;
        (client, callback)
    }
    async fn page(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
        let res = client.get(url).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    // A forged state.
    let (client, callback) = attempt(
        &app,
        &format!("eve-{}@corp.test", uuid::Uuid::now_v7().simple()),
    )
    .await;
    let forged = callback.replace("state=", "state=forged");
    let (status, body) = page(&client, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("expired or was already used") && body.contains("Back to sign in"));

    // An email the provider has not verified.
    let (client, callback) = attempt(&app, "unverified@corp.test").await;
    let (status, body) = page(&client, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("has not verified your email"));

    // An email outside the claimed domains.
    let (client, callback) = attempt(&app, "mallory@other.test").await;
    let (_, body) = page(&client, &callback).await;
    assert!(body.contains("not on a domain that uses this single sign-on"));
    assert!(app.world.user("mallory@other.test").await.is_none());

    // The person cancels at the provider.
    let client = browser();
    let to_provider = email_step(&app, &client, "quitter@corp.test").await;
    let callback = provider_cancel(&to_provider).await;
    assert!(callback.contains("error=access_denied"));
    let (status, body) = page(&client, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("did not sign you in") && body.contains("access_denied"));

    // A callback nobody started.
    let (status, _) = page(&browser(), &app.url("/auth/oidc/callback?code=x&state=y")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.world.tally().await.users, 1, "nobody was provisioned");
}

#[tokio::test]
async fn on_an_enforced_domain_only_owners_and_admins_keep_a_password() {
    let app = TestApp::spawn().await;
    let (owner, owner_email) = app.owner_at("root", "corp.test").await;
    // A person on the domain with a password (and an account of their own).
    let (_, member) = app.owner_at("mia", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;

    // The direct page: the owner gets in, the other person gets the one generic message.
    let direct = app.page(&browser(), paths::SIGN_IN_DIRECT).await;
    assert!(direct.contains("autocomplete=\"current-password\""));
    assert!(app
        .page(&browser(), paths::SIGN_IN)
        .await
        .contains("Owner or admin? Sign in with your password"));
    let c = browser();
    let res = app.sign_in_password(&c, &owner_email, PASSWORD).await;
    assert_redirect(&res, paths::HOME);
    let c = browser();
    let res = app.sign_in_password(&c, &member, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&c, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Incorrect email or password."));
    drop(owner);
}

#[tokio::test]
async fn a_code_issued_to_another_connection_is_refused_and_test_connection_reports() {
    let app = TestApp::spawn().await;
    let (alpha, _) = app.owner_at("alpha", "alpha.test").await;
    let (beta, _) = app.owner_at("beta", "beta.test").await;
    app.connect_sso(&alpha, &["alpha.test"], true).await;
    let beta_connection = app.connect_sso(&beta, &["beta.test"], true).await;

    // One browser starts a sign-in for alpha.test and completes it at the provider, but holds
    // the flow of beta.test when it comes back with alpha's code and beta's state.
    let client = browser();
    let to_alpha = email_step(&app, &client, "ann@alpha.test").await;
    let alpha_callback = provider_login(&to_alpha, "ann@alpha.test").await;
    let to_beta = email_step(&app, &client, "ben@beta.test").await;
    let beta_state = to_beta
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let code = alpha_callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let crossed = app.url(&format!(
        "/auth/oidc/callback?code={code}&state={beta_state}"
    ));
    let res = client.get(&crossed).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("could not be verified"));
    for email in ["ann@alpha.test", "ben@beta.test"] {
        assert!(app.world.user(email).await.is_none(), "{email}");
    }

    // "Test connection" fetches discovery and says what it found.
    let id = beta_connection["id"].as_str().unwrap();
    assert_redirect(
        &app.post(&beta.browser, fns::TEST_SSO_CONNECTION, &[("id", id)])
            .await,
        paths::SSO,
    );
    let page = app.page(&beta.browser, paths::SSO).await;
    assert!(page.contains("discovery and signing keys found"), "{page}");
}

#[tokio::test]
async fn an_unreachable_provider_gets_a_clear_message_not_a_500() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("down", "corp.test").await;
    app.verified_domain(&owner, "corp.test").await;

    // Nothing answers: the connection is not saved (discovery is checked first).
    let res = owner
        .browser
        .post(app.url("/api/v1/sso_connections"))
        .header("origin", &app.base)
        .json(
            &serde_json::json!({"issuer": "http://127.0.0.1:9", "client_id": "c",
                                  "client_secret": "s", "domains": ["corp.test"]}),
        )
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("issuer_unreachable"),
    )
    .await;
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("could not be reached"));

    // A provider of this test's own, which goes away after the connection is saved.
    let (mut provider, issuer) = private_provider();
    let res = reqwest::Client::new()
        .post(format!("{issuer}/reg"))
        .json(&serde_json::json!({
            "redirect_uris": [format!("{}/auth/oidc/callback", app.base)],
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic"
        }))
        .send()
        .await
        .unwrap();
    let client: serde_json::Value = res.json().await.unwrap();
    let res = owner
        .browser
        .post(app.url("/api/v1/sso_connections"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"issuer": issuer, "client_id": client["client_id"],
                                  "client_secret": client["client_secret"], "domains": ["corp.test"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    provider.kill().unwrap();
    provider.wait().unwrap();

    let client = browser();
    assert_eq!(
        email_step(&app, &client, "zoe@corp.test").await,
        paths::SIGN_IN_PASSWORD
    );
    assert_redirect(
        &app.post(&client, fns::START_SSO, &[]).await,
        paths::SIGN_IN,
    );
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("could not reach your identity provider"));

    assert_redirect(
        &app.post(&owner.browser, fns::TEST_SSO_CONNECTION, &[("id", &id)])
            .await,
        paths::SSO,
    );
    let page = app.page(&owner.browser, paths::SSO).await;
    assert!(
        page.contains("does not work as an OpenID provider yet: it could not be reached"),
        "{page}"
    );
}

/// An OpenID provider process of the calling test's own: (process, issuer).
fn private_provider() -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = std::process::Command::new("node")
        .arg(format!("{root}/end2end/support/oidc-provider.mjs"))
        .arg("--keep-stdin")
        .current_dir(format!("{root}/end2end"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    (child, ready["issuer"].as_str().unwrap().to_owned())
}
