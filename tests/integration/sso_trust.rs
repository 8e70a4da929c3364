//! Who single sign-on trusts: domains proven by DNS (a mailbox proves nothing), one account
//! per verified domain, identities keyed by (connection, subject), callbacks that a forged
//! `state` cannot disturb, and enforcement that needs a test sign-in and ends password
//! sessions. Against a real DNS server (dnsmasq) and a real OpenID provider.
use app::domain::ids::ConnectionId;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn email_step(app: &TestApp, client: &reqwest::Client, email: &str) -> String {
    let res = app
        .post(client, fns::SIGN_IN_EMAIL, &[("email", email)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res)
}

fn unique(name: &str, domain: &str) -> String {
    format!("{name}-{}@{domain}", uuid::Uuid::now_v7().simple())
}

/// The review's attack, end to end: an intern with a mailbox on acme.test tries to take the
/// domain (and its CEO's account) with a provider they run.
#[tokio::test]
async fn a_mailbox_on_a_domain_claims_nothing() {
    let app = TestApp::spawn().await;
    let (ceo, ceo_email) = app.owner_at("ceo", "acme.test").await;
    let (intern, intern_email) = app.owner_at("intern", "acme.test").await;

    // The intern adds the domain; without its record nothing verifies, routes or enforces.
    let added: Value = app
        .add_domain(&intern, "acme.test")
        .await
        .json()
        .await
        .unwrap();
    let intern_domain = added["id"].as_str().unwrap().to_owned();
    app.dns.start();
    assert_api_error(
        app.verify_domain(&intern, &intern_domain).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("dns_record_not_found"),
    )
    .await;
    assert_api_error(
        app.post_connection(&intern, &["acme.test"]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("domain_not_verified"),
    )
    .await;
    let client = browser();
    assert_eq!(
        email_step(&app, &client, &ceo_email).await,
        paths::SIGN_IN_PASSWORD
    );
    assert!(!app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Continue with SSO"));

    // The rightful account publishes its record and verifies; the intern's own token is not
    // in DNS, and even with it the domain is now held by the CEO's account.
    let rightful = app.verified_domain(&ceo, "acme.test").await;
    assert_eq!(rightful["verified"], true);
    app.dns.publish(
        added["dns_record"]["name"].as_str().unwrap(),
        added["dns_record"]["value"].as_str().unwrap(),
    );
    assert_api_error(
        app.verify_domain(&intern, &intern_domain).await,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("domain_verified_elsewhere"),
    )
    .await;
    assert_api_error(
        app.post_connection(&intern, &["acme.test"]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("domain_not_verified"),
    )
    .await;

    // The CEO's email step never reaches a provider of the intern's account, and the
    // CEO's password still works.
    let client = browser();
    assert_eq!(
        email_step(&app, &client, &ceo_email).await,
        paths::SIGN_IN_PASSWORD
    );
    assert_redirect(
        &app.sign_in_password(&client, &ceo_email, PASSWORD).await,
        paths::HOME,
    );
    let mut verified = 0;
    for email in [&ceo_email, &intern_email] {
        let account = app.world.only_account_of(email).await;
        let domains = app.world.domains(&account).await;
        verified += domains.iter().filter(|d| d.verified_at.is_some()).count();
    }
    assert_eq!(app.world.tally().await.accounts, 2);
    assert_eq!(verified, 1);
    drop(ceo);
}

#[tokio::test]
async fn free_mail_domains_are_refused_and_spellings_are_one_domain() {
    let app = TestApp::spawn().await;
    let owner = app.owner("spellings").await;
    for free in ["gmail.com", "outlook.de", "yahoo.co.jp", "GMX.net."] {
        let err = assert_api_error(
            app.add_domain(&owner, free).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("public_mail_domain"),
        )
        .await;
        assert_eq!(err["path"], "/domain");
    }
    for bad in [
        "not a domain",
        "localhost",
        "http://acme.test",
        "ac\u{200b}me.test",
    ] {
        let res = app.add_domain(&owner, bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: Value = res.json().await.unwrap();
        let code = body["error"]["code"].as_str().unwrap();
        assert!(code.starts_with("parameter_invalid"), "{bad}: {code}");
    }

    let first: Value = app
        .add_domain(&owner, "ACME.test.")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["domain"], "acme.test");
    assert_eq!(first["verified"], false);
    assert_eq!(first["dns_record"]["type"], "TXT");
    assert_eq!(
        first["dns_record"]["name"],
        "_terminus-hub-challenge.acme.test"
    );
    let value = first["dns_record"]["value"].as_str().unwrap();
    assert!(
        value.starts_with("terminus-hub-verification=") && value.len() > 40,
        "{value}"
    );
    assert_api_error(
        app.add_domain(&owner, "acme.test").await,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("domain_exists"),
    )
    .await;
    let idn: Value = app
        .add_domain(&owner, "Höli.test")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(idn["domain"], "xn--hli-sna.test");
    assert_api_error(
        app.add_domain(&owner, "xn--hli-sna.test").await,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("domain_exists"),
    )
    .await;
    let list: Value = owner
        .browser
        .get(app.url("/api/v1/domains"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 2);

    // An email on the Unicode spelling of a verified, enforced domain is the same domain.
    app.dns.publish(
        idn["dns_record"]["name"].as_str().unwrap(),
        idn["dns_record"]["value"].as_str().unwrap(),
    );
    assert_eq!(
        app.verify_domain(&owner, idn["id"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let connection: Value = app
        .post_connection(&owner, &["höli.test"])
        .await
        .json()
        .await
        .unwrap();
    let id = connection["id"].as_str().unwrap();
    app.test_sign_in(&owner, id, "tester@xn--hli-sna.test")
        .await;
    app.enforce(&owner, id).await;
    let to_provider = email_step(&app, &browser(), "bob@höli.test").await;
    assert!(to_provider.starts_with(&oidc_issuer()), "{to_provider}");
}

#[tokio::test]
async fn identities_are_keyed_by_subject_not_by_email() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("keyed", "corp.test").await;
    // Dave has a password user on the domain.
    let (_, dave) = app.owner_at("dave", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], false).await;

    // Carol signs in through the provider: provisioned, identity recorded.
    let carol = unique("carol", "corp.test");
    let client = browser();
    email_step(&app, &client, &carol).await;
    let res = app.post(&client, fns::START_SSO, &[]).await;
    let callback = provider_login(&location(&res), &carol).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    let carol_id = app.world.existing_user(&carol).await.id;
    assert_eq!(app.world.tally().await.sso_identities, 1);

    // The provider now asserts Dave's email for Carol's subject: she stays Carol.
    let res = reqwest::Client::new()
        .post(format!("{}/_test/email", oidc_issuer()))
        .json(&serde_json::json!({"sub": carol, "email": dave}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let client = browser();
    email_step(&app, &client, &carol).await;
    let res = app.post(&client, fns::START_SSO, &[]).await;
    let callback = provider_login(&location(&res), &carol).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    let home = app.page(&client, paths::HOME).await;
    assert!(
        home.contains(&carol) && !home.contains(&dave),
        "still Carol: {home}"
    );
    let signed_in: String =
        sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE subject = $1")
            .bind(&carol)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(signed_in, carol_id.as_str());
    assert_eq!(
        app.world.memberships(&dave).await.len(),
        1,
        "Dave gained nothing"
    );

    // Dave's first SSO sign-in links his existing user (his verified email on a served
    // domain); a second subject asserting his email is refused.
    let client = browser();
    email_step(&app, &client, &dave).await;
    let res = app.post(&client, fns::START_SSO, &[]).await;
    let callback = provider_login(&location(&res), &dave).await;
    assert_redirect(
        &client.get(&callback).send().await.unwrap(),
        paths::ACCOUNTS,
    );
    let impostor = unique("impostor", "corp.test");
    reqwest::Client::new()
        .post(format!("{}/_test/email", oidc_issuer()))
        .json(&serde_json::json!({"sub": impostor, "email": dave}))
        .send()
        .await
        .unwrap();
    let client = browser();
    email_step(&app, &client, &dave).await;
    let res = app.post(&client, fns::START_SSO, &[]).await;
    let callback = provider_login(&location(&res), &impostor).await;
    let res = client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("linked to a different identity"));
    assert_eq!(app.world.tally().await.sso_identities, 2);
}

#[tokio::test]
async fn a_forged_state_leaves_the_genuine_flow_working() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("stateful", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;
    let person = unique("erin", "corp.test");
    let client = browser();
    let to_provider = email_step(&app, &client, &person).await;
    let callback = provider_login(&to_provider, &person).await;

    // An attacker's page makes the browser hit the callback with a forged state first.
    for forged in [
        callback.replace("state=", "state=forged"),
        app.url("/auth/oidc/callback?code=x&state=y"),
        app.url("/auth/oidc/callback?code=x"),
    ] {
        let res = client.get(&forged).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{forged}");
    }
    // The genuine callback still works.
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    assert!(app.page(&client, paths::HOME).await.contains(&person));
}

#[tokio::test]
async fn enforcement_needs_a_test_sign_in_and_ends_affected_password_sessions() {
    let app = TestApp::spawn().await;
    let (owner, owner_email) = app.owner_at("enforcer", "corp.test").await;
    let connection = app.connect_sso(&owner, &["corp.test"], false).await;
    let id = connection["id"].as_str().unwrap();

    // Mia (a password user on the domain, not an admin here) and an admin of the account
    // are signed in with passwords; Mia also has an SSO session in another browser.
    let (mia_browser, mia) = app.owner_at("mia", "corp.test").await;
    let (admin, admin_email) = app.owner_at("admin", "corp.test").await;
    sqlx::query(
        "INSERT INTO memberships (account_id, user_id, role, created_at)
         SELECT m.account_id, u.id, 'admin', 0 FROM memberships m, users u
         WHERE m.user_id = (SELECT id FROM users WHERE email = $1) AND u.email = $2",
    )
    .bind(&owner_email)
    .bind(&admin_email)
    .execute(&app.db)
    .await
    .unwrap();
    let mia_sso = browser();
    email_step(&app, &mia_sso, &mia).await;
    let res = app.post(&mia_sso, fns::START_SSO, &[]).await;
    let callback = provider_login(&location(&res), &mia).await;
    assert_eq!(
        mia_sso.get(&callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    // Not before a test sign-in.
    assert_redirect(
        &app.post(
            &owner.browser,
            fns::SET_SSO_ENFORCED,
            &[("id", id), ("enforced", "true")],
        )
        .await,
        paths::SSO,
    );
    let account = app.world.only_account_of(&owner_email).await;
    let connections = app.world.sso_connections(&account).await;
    assert_eq!(app.world.tally().await.sso_connections, 1);
    assert_eq!(connections.iter().filter(|c| c.enforced).count(), 0);
    app.test_sign_in(&owner, id, &unique("tester", "corp.test"))
        .await;
    // The test signs nobody in; Mia is the one person on the domain who is not an owner or
    // admin here.
    let confirm = app
        .page(
            &owner.browser,
            &paths::sso_enforcement(&ConnectionId::from_stored(id)),
        )
        .await;
    assert!(confirm.contains("affects 1 person"), "{confirm}");
    app.enforce(&owner, id).await;

    // Mia's password session ended; her SSO session, the owner's and the admin's did not.
    assert_redirect(
        &app.get(&mia_browser.browser, paths::HOME).await,
        paths::SIGN_IN,
    );
    assert_eq!(
        app.get(&mia_sso, paths::ACCOUNTS).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&owner.browser, paths::HOME).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&admin.browser, paths::HOME).await.status(),
        StatusCode::OK
    );
    // And her password no longer signs her in; the owner's still does.
    assert_redirect(
        &app.sign_in_password(&browser(), &mia, PASSWORD).await,
        paths::SIGN_IN_PASSWORD,
    );
    assert_redirect(
        &app.sign_in_password(&browser(), &owner_email, PASSWORD)
            .await,
        paths::HOME,
    );
    assert!(app
        .page(&owner.browser, paths::ACTIVITY)
        .await
        .contains("sso.enforced"));
}
