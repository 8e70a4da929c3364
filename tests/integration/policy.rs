//! An account's two-factor policy (owners require a second factor; members without one are
//! sent to enrol; single sign-on is exempt; the API answers 403) and an owner's reset of a
//! member's second factors.
use reqwest::{Client, StatusCode};

use crate::helpers::*;
use crate::second_factors::enrol;

const MESSAGE: &str = "This account requires two-factor authentication.";

/// Invites a new person into the owner's account; they accept with [`PASSWORD`] and are
/// signed in. Returns their email and browser.
async fn joined(app: &TestApp, owner: &Owner, name: &str) -> (String, Client) {
    let email = unique_email(name);
    let res = app
        .post(
            &owner.browser,
            fns::INVITE_MEMBER,
            &[("email", email.as_str()), ("role", "member")],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    let mail = wait_for_subject(&email, "You are invited to an account on Terminus Hub").await;
    let client = browser();
    let link = mail.link(&paths::with_token(paths::INVITE, ""));
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::INVITE);
    let res = app
        .post(&client, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::HOME);
    (email, client)
}

async fn require(app: &TestApp, owner: &Owner, on: bool) {
    let value = if on { "on" } else { "off" };
    let res = app
        .post(
            &owner.browser,
            fns::SET_SECOND_FACTOR_REQUIRED,
            &[("required", value)],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
}

/// `client` is sent to enrol, with the message, from a page and from a server function.
async fn sent_to_enrol(app: &TestApp, client: &Client) {
    assert_redirect(
        &app.get(client, paths::HOME).await,
        paths::SECURITY_TWO_FACTOR,
    );
    let page = app.page(client, paths::SECURITY_TWO_FACTOR).await;
    assert!(page.contains(MESSAGE), "{page}");
    // A server function of the account (leaving it) is sent there too, and changes nothing.
    let me = "usr_0";
    let res = app
        .post(client, fns::REMOVE_MEMBER, &[("user_id", me)])
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
}

#[tokio::test]
async fn members_without_a_second_factor_are_sent_to_enrol_and_enter_with_one() {
    let app = TestApp::spawn().await;
    let owner = app.owner("policy").await;
    let (member_email, member) = joined(&app, &owner, "member").await;
    assert_eq!(app.get(&member, paths::HOME).await.status(), StatusCode::OK);
    let account = app.world.only_account_of(&member_email).await;

    require(&app, &owner, true).await;
    assert!(app
        .world
        .audit_actions(&account)
        .await
        .contains(&"account.second_factor_required".to_owned()));

    // The member, and the owner too (no second factor either), are sent to enrol.
    sent_to_enrol(&app, &member).await;
    sent_to_enrol(&app, &owner.browser).await;
    assert_eq!(app.world.members(&account).await.len(), 2, "nobody left");
    // The REST API's admin routes answer 403 with the code.
    let res = owner
        .browser
        .get(app.url("/api/v1/members"))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("second_factor_required"),
    )
    .await;

    // With an authenticator app they enter.
    enrol(&app, &member).await;
    assert_eq!(app.get(&member, paths::HOME).await.status(), StatusCode::OK);
    enrol(&app, &owner.browser).await;
    assert_eq!(
        app.get(&owner.browser, paths::HOME).await.status(),
        StatusCode::OK
    );
    let res = owner
        .browser
        .get(app.url("/api/v1/members"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Switched off, nobody is sent anywhere.
    require(&app, &owner, false).await;
    let (_, newcomer) = joined(&app, &owner, "newcomer").await;
    assert_eq!(
        app.get(&newcomer, paths::HOME).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn people_signed_in_through_single_sign_on_are_exempt() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("boss", "corp.test").await;
    app.connect_sso(&owner, &["corp.test"], true).await;
    enrol(&app, &owner.browser).await;
    require(&app, &owner, true).await;

    let colleague = format!("carol-{}@corp.test", uuid::Uuid::now_v7().simple());
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_IN_EMAIL, &[("email", &colleague)])
        .await;
    let callback = provider_login(&location(&res), &colleague).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    assert_eq!(app.get(&client, paths::HOME).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_owner_resets_a_member_s_second_factors_who_then_signs_in_with_the_password() {
    let app = TestApp::spawn().await;
    let owner = app.owner("resetter").await;
    let (member_email, member) = joined(&app, &owner, "lost-phone").await;
    enrol(&app, &member).await;
    let account = app.world.only_account_of(&member_email).await;
    let member_id = app.world.existing_user(&member_email).await.id;

    // With the app, the password alone is not enough.
    let res = app.sign_in(&browser(), &member_email, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);

    // An owner resets it from the members page.
    let page = app.page(&owner.browser, paths::MEMBERS).await;
    assert!(page.contains("Reset two-factor"), "{page}");
    let res = app
        .post(
            &owner.browser,
            fns::RESET_MEMBER_SECOND_FACTORS,
            &[("user_id", member_id.as_str())],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("Their two-factor authentication was reset"));
    assert!(app
        .world
        .audit_actions(&account)
        .await
        .contains(&"member.second_factors_reset".to_owned()));
    let mail = wait_for_subject(&member_email, "Your two-factor authentication was reset").await;
    assert!(
        mail.text.contains("removed your authenticator app"),
        "{}",
        mail.text
    );

    // The member signs in with the password alone, and has two-factor off.
    let again = browser();
    assert_redirect(
        &app.sign_in(&again, &member_email, PASSWORD).await,
        paths::HOME,
    );
    assert!(app
        .page(&again, paths::SECURITY)
        .await
        .contains("Off: signing in takes your password only."));

    // Resetting again: nothing to reset, said so.
    let res = app
        .post(
            &owner.browser,
            fns::RESET_MEMBER_SECOND_FACTORS,
            &[("user_id", member_id.as_str())],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("has no two-factor authentication to reset"));
}
