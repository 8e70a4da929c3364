//! Ended sessions stay ended: a request that loaded a session before its row was deleted
//! (sign-out, a password reset, enforced single sign-on, removal from the account) finishes,
//! but does not write the row back. Each request is held in flight deterministically (see
//! `TestApp::hold`): its session is loaded, then the row is deleted, then it finishes.
use reqwest::StatusCode;

use crate::helpers::*;

/// The admin API reads the session before the body: a body it refuses (no `name`) keeps the
/// request free of side effects, and its session is still saved at the end (a 4xx is no
/// reason not to).
const HELD_PATH: &str = "/api/v1/api_keys";
const HELD_BODY: &str = "{}";

/// Signs `email` in with its password in a fresh browser; returns it and its session cookie.
async fn signed_in(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let client = browser();
    let res = app.sign_in(&client, email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(res.headers()).expect("sign-in sets the session cookie");
    (client, cookie)
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.world.existing_user(email).await.id.into_string()
}

/// Ends the session that confirming `email` started (the confirming browser is signed in),
/// so that each test counts only the sessions it makes itself.
async fn end_confirmation_session(app: &TestApp, email: &str) {
    sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)")
        .bind(email)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn sessions_of(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The held request finishes with its usual answer; afterwards the cookie opens nothing and
/// no row of the user's came back.
async fn assert_stays_ended(app: &TestApp, held: HeldRequest, cookie: &str, user: &str) {
    let (status, body) = held.finish().await;
    assert_eq!(
        status, 422,
        "the request in flight finishes as usual: {body}"
    );
    assert_eq!(
        sessions_of(app, user).await,
        0,
        "the request in flight wrote the ended session back"
    );
    assert_redirect(
        &get_with_session(app, paths::HOME, cookie).await,
        paths::SIGN_IN,
    );
    assert_eq!(
        sessions_of(app, user).await,
        0,
        "nothing renewed it afterwards"
    );
}

#[tokio::test]
async fn a_request_in_flight_during_sign_out_does_not_bring_the_session_back() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("leaver").await;
    end_confirmation_session(&app, &email).await;
    let user = user_id(&app, &email).await;
    let (client, cookie) = signed_in(&app, &email).await;
    assert_eq!(sessions_of(&app, &user).await, 1);

    let held = app.hold(HELD_PATH, &cookie, HELD_BODY).await;
    assert_redirect(&app.post(&client, fns::SIGN_OUT, &[]).await, paths::SIGN_IN);
    assert_eq!(
        sessions_of(&app, &user).await,
        0,
        "sign-out deleted the row"
    );
    assert_stays_ended(&app, held, &cookie, &user).await;
}

#[tokio::test]
async fn a_request_in_flight_during_a_password_reset_does_not_bring_the_session_back() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("forgetful").await;
    end_confirmation_session(&app, &email).await;
    let user = user_id(&app, &email).await;
    let (_client, cookie) = signed_in(&app, &email).await;

    let held = app.hold(HELD_PATH, &cookie, HELD_BODY).await;
    // Someone with the mailbox resets the password in another browser.
    let other = browser();
    assert_redirect(
        &app.post(&other, fns::FORGOT_PASSWORD, &[("email", &email)])
            .await,
        paths::FORGOT_SENT,
    );
    let mail = wait_for_subject(&email, "Reset your password").await;
    let res = other
        .get(mail.link(&paths::with_token(paths::RESET, "")))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::RESET);
    assert_redirect(
        &app.post(
            &other,
            fns::RESET_PASSWORD,
            &[("password", "a brand new passphrase")],
        )
        .await,
        paths::SIGN_IN,
    );
    assert_eq!(
        sessions_of(&app, &user).await,
        0,
        "the reset ended the user's sessions"
    );
    assert_stays_ended(&app, held, &cookie, &user).await;
}

#[tokio::test]
async fn a_request_in_flight_during_enforcement_does_not_bring_the_password_session_back() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("enforcer", "corp.test").await;
    let connection = app.connect_sso(&owner, &["corp.test"], false).await;
    let id = connection["id"].as_str().unwrap();
    // Mia has a password and an account of her own, where she uses the admin API.
    let mia = format!("mia-{}@corp.test", uuid::Uuid::now_v7().simple());
    app.sign_up_confirmed(&mia).await;
    end_confirmation_session(&app, &mia).await;
    let user = user_id(&app, &mia).await;
    let (_client, cookie) = signed_in(&app, &mia).await;

    let held = app.hold(HELD_PATH, &cookie, HELD_BODY).await;
    app.test_sign_in(
        &owner,
        id,
        &format!("tester-{}@corp.test", uuid::Uuid::now_v7().simple()),
    )
    .await;
    app.enforce(&owner, id).await;
    assert_eq!(sessions_of(&app, &user).await, 0, "enforcement ended it");
    assert_stays_ended(&app, held, &cookie, &user).await;
}

#[tokio::test]
async fn a_request_in_flight_during_removal_from_the_account_does_not_bring_the_session_back() {
    let app = TestApp::spawn().await;
    let owner = app.owner("remover").await;
    // Eve is an admin of the owner's account, signed in and working in it.
    let eve = app.confirmed_user("eve").await;
    end_confirmation_session(&app, &eve).await;
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"email": eve, "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let link = wait_for_mail(&eve, 2)
        .await
        .into_iter()
        .find(|m| m.subject.starts_with("You are invited"))
        .unwrap()
        .link(&paths::with_token(paths::INVITE, ""));
    let (client, cookie) = signed_in(&app, &eve).await;
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::INVITE);
    assert_redirect(
        &app.post(&client, fns::ACCEPT_INVITATION, &[]).await,
        paths::HOME,
    );
    let user = user_id(&app, &eve).await;
    assert_eq!(sessions_of(&app, &user).await, 1);

    let held = app.hold(HELD_PATH, &cookie, HELD_BODY).await;
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/members/{user}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sessions_of(&app, &user).await,
        0,
        "removal ended her session in the account"
    );
    assert_stays_ended(&app, held, &cookie, &user).await;

    // She can still sign in: to her own account.
    let client = browser();
    assert_redirect(&app.sign_in(&client, &eve, PASSWORD).await, paths::HOME);
    assert!(app.page(&client, paths::HOME).await.contains("eve-"));
}
