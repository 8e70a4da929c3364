//! Enforcement holds at every door: an invitation onto an enforced domain is accepted through
//! the identity provider, a demoted or removed admin on an enforced domain loses their
//! password sessions, and a callback re-checks that the connection still serves the domain
//! (for known identities too). Against a real OpenID provider and DNS server.
use app::domain::roles::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn unique(name: &str, domain: &str) -> String {
    format!("{name}-{}@{domain}", uuid::Uuid::now_v7().simple())
}

async fn invite(app: &TestApp, owner: &Owner, email: &str, role: &str) -> String {
    let before = mails_to(email).await.len();
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&json!({"email": email, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mails = wait_for_mail(email, before + 1).await;
    mails
        .iter()
        .rev()
        .find(|m| m.subject.starts_with("You are invited"))
        .expect("an invitation")
        .link(&paths::with_token(paths::INVITE, ""))
}

async fn user(app: &TestApp, email: &str) -> Option<(String, Option<String>)> {
    let user = app.world.user(email).await?;
    Some((user.id.into_string(), user.password_hash))
}

async fn session_methods(app: &TestApp, user_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT method FROM sessions WHERE user_id = $1 ORDER BY method")
        .bind(user_id)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// The email step, then (for an offered domain) "Continue with SSO": the provider's URL.
async fn to_provider(app: &TestApp, client: &Client, email: &str) -> String {
    let res = app
        .post(client, fns::SIGN_IN_EMAIL, &[("email", email)])
        .await;
    let res = if location(&res) == paths::SIGN_IN_PASSWORD {
        app.post(client, fns::START_SSO, &[]).await
    } else {
        res
    };
    let to = location(&res);
    assert!(to.starts_with(&oidc_issuer()), "{to}");
    to
}

#[tokio::test]
async fn an_invitation_onto_an_enforced_domain_is_accepted_through_the_provider() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    // Pat has a password user on the domain from before enforcement.
    let (_, pat) = app.owner_at("pat", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;

    // A new person: the invitation page offers the provider, not a password.
    let nina = unique("nina", "corp.test");
    let link = invite(&app, &owner, &nina, "admin").await;
    let client = browser();
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::INVITE);
    let page = app.page(&client, paths::INVITE).await;
    assert!(
        page.contains("Continue with single sign-on") && !page.contains("Choose a password"),
        "{page}"
    );
    // A password posted anyway (an old form, or someone's script) sets nothing: to the provider.
    let res = app
        .post(&client, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with(&oidc_issuer()), "{to}");
    assert!(
        user(&app, &nina).await.is_none(),
        "nobody before the provider"
    );
    let callback = provider_login(&to, &nina).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    let home = app.page(&client, paths::HOME).await;
    assert!(home.contains("Welcome to boss-"), "{home}");
    let (nina_id, hash) = user(&app, &nina).await.unwrap();
    assert!(hash.is_none(), "no password");
    assert_eq!(session_methods(&app, &nina_id).await, vec!["sso"]);
    assert_eq!(
        app.world.roles(&nina).await,
        [Role::Admin],
        "the invited role"
    );
    let other = browser();
    assert_redirect(&other.get(&link).send().await.unwrap(), paths::INVITE);
    assert!(app
        .page(&other, paths::INVITE)
        .await
        .contains("invalid, has expired, was revoked or was already used"));

    // Someone with a user already (and a password) also goes through the provider.
    let link = invite(&app, &owner, &pat, "member").await;
    let client = browser();
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::INVITE);
    let page = app.page(&client, paths::INVITE).await;
    assert!(page.contains("Continue with single sign-on"), "{page}");
    let res = app.post(&client, fns::ACCEPT_INVITATION, &[]).await;
    let to = location(&res);
    assert!(to.starts_with(&oidc_issuer()), "{to}");
    let callback = provider_login(&to, &pat).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    assert!(app
        .page(&client, paths::HOME)
        .await
        .contains("Welcome to boss-"));
    let (pat_id, _) = user(&app, &pat).await.unwrap();
    assert_eq!(session_methods(&app, &pat_id).await, vec!["sso"]);
}

#[tokio::test]
async fn a_demoted_or_removed_admin_on_an_enforced_domain_loses_their_password_sessions() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    let connection = app.connect_sso(&owner, &["corp.test"], false).await;
    let id = connection["id"].as_str().unwrap();
    // Ada and Bea (password users on the domain, each with an account of her own) become
    // admins of the owner's account before enforcement; owners and admins keep passwords.
    let mut admins = Vec::new();
    for name in ["ada", "bea"] {
        let email = unique(name, "corp.test");
        app.sign_up_confirmed(&email).await;
        let link = invite(&app, &owner, &email, "admin").await;
        let client = browser();
        assert_redirect(&client.get(&link).send().await.unwrap(), paths::INVITE);
        assert_redirect(
            &app.post(&client, fns::ACCEPT_INVITATION, &[]).await,
            paths::SIGN_IN_PASSWORD,
        );
        assert_redirect(
            &app.sign_in_password(&client, &email, PASSWORD).await,
            paths::INVITE,
        );
        assert_redirect(
            &app.post(&client, fns::ACCEPT_INVITATION, &[]).await,
            paths::HOME,
        );
        let (user_id, _) = user(&app, &email).await.unwrap();
        admins.push((email, user_id, client));
    }
    app.test_sign_in(&owner, id, &unique("tester", "corp.test"))
        .await;
    app.enforce(&owner, id).await;
    let (bea, bea_id, bea_browser) = admins.pop().unwrap();
    let (ada, ada_id, ada_browser) = admins.pop().unwrap();
    // Admins kept their password sessions; Ada also has one through the provider.
    assert_eq!(
        app.get(&ada_browser, paths::HOME).await.status(),
        StatusCode::OK
    );
    let ada_sso = browser();
    let to = to_provider(&app, &ada_sso, &ada).await;
    let callback = provider_login(&to, &ada).await;
    assert_redirect(
        &ada_sso.get(&callback).send().await.unwrap(),
        paths::ACCOUNTS,
    );
    // Bea works in her own account in a second password session.
    let bea_own = browser();
    assert_redirect(
        &app.sign_in_password(&bea_own, &bea, PASSWORD).await,
        paths::ACCOUNTS,
    );

    // Ada is made a member: her password session ends, her SSO session does not.
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/members/{ada_id}")))
        .header("origin", &app.base)
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(session_methods(&app, &ada_id).await, vec!["sso"]);
    assert_redirect(&app.get(&ada_browser, paths::HOME).await, paths::SIGN_IN);
    assert_eq!(
        app.get(&ada_sso, paths::ACCOUNTS).await.status(),
        StatusCode::OK
    );
    assert_redirect(
        &app.sign_in_password(&browser(), &ada, PASSWORD).await,
        paths::SIGN_IN_PASSWORD,
    );

    // Bea is removed: every password session of hers ends, in her own account too.
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/members/{bea_id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(session_methods(&app, &bea_id).await.is_empty());
    assert_redirect(&app.get(&bea_browser, paths::HOME).await, paths::SIGN_IN);
    assert_redirect(&app.get(&bea_own, paths::ACCOUNTS).await, paths::SIGN_IN);
}

#[tokio::test]
async fn a_sign_in_started_before_its_domain_was_removed_does_not_complete() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], false).await;
    let domains: Value = owner
        .browser
        .get(app.url("/api/v1/domains"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let domain_id = domains["data"][0]["id"].as_str().unwrap().to_owned();

    // Carol signed in through the provider before: a known identity.
    let carol = unique("carol", "corp.test");
    let client = browser();
    let to = to_provider(&app, &client, &carol).await;
    let callback = provider_login(&to, &carol).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);

    // Carol and a newcomer start sign-ins; the owner removes the domain before they return.
    let carol_browser = browser();
    let to = to_provider(&app, &carol_browser, &carol).await;
    let carol_callback = provider_login(&to, &carol).await;
    let newcomer = unique("newcomer", "corp.test");
    let newcomer_browser = browser();
    let to = to_provider(&app, &newcomer_browser, &newcomer).await;
    let newcomer_callback = provider_login(&to, &newcomer).await;
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/domains/{domain_id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    for (client, callback) in [
        (&carol_browser, &carol_callback),
        (&newcomer_browser, &newcomer_callback),
    ] {
        let res = client.get(callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("not on a domain that uses this single sign-on"),
            "{page}"
        );
        assert_redirect(&app.get(client, paths::HOME).await, paths::SIGN_IN);
    }
    assert!(user(&app, &newcomer).await.is_none());
    assert_eq!(
        app.world.tally().await.sso_identities,
        1,
        "only Carol's first sign-in"
    );
}
