//! Single sign-on honours the sign-up policy: on an invite-only server a first SSO sign-in
//! creates a user only for an invited person, or where the connection's owner turned on
//! "create users on first sign-in". Against a real OpenID provider and DNS server.
use app::domain::roles::Role;
use app::SignUpPolicy;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn unique(name: &str, domain: &str) -> String {
    format!("{name}-{}@{domain}", uuid::Uuid::now_v7().simple())
}

/// A sign-in through the provider from the email step of a served (not enforced) domain;
/// returns the callback's answer: its status, Location and page.
async fn sso_sign_in(app: &TestApp, client: &Client, email: &str) -> (StatusCode, String, String) {
    let res = app
        .post(client, fns::SIGN_IN_EMAIL, &[("email", email)])
        .await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    let res = app.post(client, fns::START_SSO, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let callback = provider_login(&location(&res), email).await;
    let res = client.get(&callback).send().await.unwrap();
    let status = res.status();
    let to = location(&res);
    (status, to, res.text().await.unwrap())
}

async fn users_with_email(app: &TestApp, email: &str) -> usize {
    usize::from(app.world.user(email).await.is_some())
}

/// `email`'s role in the account whose owner is the test's boss.
async fn role_of(app: &TestApp, email: &str) -> Option<String> {
    let user = app.world.user(email).await?;
    for membership in app.world.memberships(user.email.as_str()).await {
        let members = app.world.members(membership.account_id.as_str()).await;
        if members
            .iter()
            .any(|m| m.role == Role::Owner && m.email.starts_with("boss-"))
        {
            return Some(membership.role.as_str().to_owned());
        }
    }
    None
}

#[tokio::test]
async fn on_an_invite_only_server_single_sign_on_creates_only_invited_people() {
    let app = TestApp::spawn().await;
    let (owner, owner_email) = app.owner_at("boss", "corp.test").await;
    // Dave has a password user on the domain (and an account of his own) from before.
    let (_, dave) = app.owner_at("dave", "corp.test").await;
    let connection = app.connect_sso(&owner, &["corp.test"], false).await;
    let id = connection["id"].as_str().unwrap().to_owned();
    drop(owner);
    let app = app
        .restart_with(|c| c.signup = SignUpPolicy::InviteOnly)
        .await;
    let owner = Owner { browser: browser() };
    assert_redirect(
        &app.sign_in(&owner.browser, &owner_email, PASSWORD).await,
        paths::HOME,
    );

    // Carol was not invited: the provider signs her in, the hub creates nobody and says why.
    let carol = unique("carol", "corp.test");
    let client = browser();
    let (status, _, page) = sso_sign_in(&app, &client, &carol).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("by invitation only"), "{page}");
    assert_eq!(users_with_email(&app, &carol).await, 0);
    assert_eq!(app.world.tally().await.sso_identities, 0);
    assert_redirect(&app.get(&client, paths::HOME).await, paths::SIGN_IN);

    // Dave has a user already: linking him creates nobody, so it works as before.
    let (status, to, _) = sso_sign_in(&app, &browser(), &dave).await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, paths::ACCOUNTS)
    );

    // Erin is invited as an admin: her first SSO sign-in creates her and accepts the invitation.
    let erin = unique("erin", "corp.test");
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&json!({"email": erin, "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let client = browser();
    let (status, to, _) = sso_sign_in(&app, &client, &erin).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, paths::HOME));
    assert!(app.page(&client, paths::HOME).await.contains("boss-"));
    assert_eq!(role_of(&app, &erin).await.as_deref(), Some("admin"));
    let pending: Value = owner
        .browser
        .get(app.url("/api/v1/invitations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["data"], json!([]), "the invitation was used");
    let activity = app.page(&owner.browser, paths::ACTIVITY).await;
    assert!(activity.contains("member.joined"), "{activity}");

    // The owner turns on "create users on first sign-in" on the settings page: Carol gets in,
    // as a member.
    let settings = app.page(&owner.browser, paths::SSO).await;
    assert!(
        settings.contains("Create users on first sign-in: off"),
        "{settings}"
    );
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::SET_SSO_CREATE_USERS,
            &[("id", &id), ("create_users", "true")],
        )
        .await,
        paths::SSO,
    );
    let settings = app.page(&owner.browser, paths::SSO).await;
    assert!(
        settings.contains("now creates users at their first sign-in"),
        "{settings}"
    );
    let (status, to, _) = sso_sign_in(&app, &browser(), &carol).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, paths::HOME));
    assert_eq!(role_of(&app, &carol).await.as_deref(), Some("member"));

    // The REST API shows and changes the setting.
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/sso_connections/{id}")))
        .header("origin", &app.base)
        .json(&json!({"create_users": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["create_users"], false);
    assert_eq!(patched["enforced"], false);
    let frank = unique("frank", "corp.test");
    let (status, _, _) = sso_sign_in(&app, &browser(), &frank).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(users_with_email(&app, &frank).await, 0);
    let activity = app.page(&owner.browser, paths::ACTIVITY).await;
    assert!(activity.contains("sso.create_users"), "{activity}");
}

#[tokio::test]
async fn the_setting_is_off_by_default_and_set_through_the_api() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    let first = app.connect_sso(&owner, &["corp.test"], false).await;
    assert_eq!(first["create_users"], false, "off by default: {first}");

    app.verified_domain(&owner, "branch.test").await;
    let (client_id, client_secret) =
        register_oidc_client(&format!("{}/auth/oidc/callback", app.base)).await;
    let body = json!({"issuer": oidc_issuer(), "client_id": client_id,
                      "client_secret": client_secret, "domains": ["branch.test"],
                      "create_users": true});
    let res = owner
        .browser
        .post(app.url("/api/v1/sso_connections"))
        .header("origin", &app.base)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["create_users"], true);

    for (bad, code) in [
        (json!({"create_users": "yes"}), "parameter_invalid"),
        (json!({}), "parameter_missing"),
    ] {
        let res = owner
            .browser
            .patch(app.url(&format!(
                "/api/v1/sso_connections/{}",
                second["id"].as_str().unwrap()
            )))
            .header("origin", &app.base)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
    }
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["SsoConnection"]["properties"]["create_users"]["type"],
        "boolean"
    );
    assert_eq!(
        schemas["SsoConnectionInput"]["properties"]["create_users"]["type"],
        "boolean"
    );
}
