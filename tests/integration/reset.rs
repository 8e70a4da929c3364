//! Password reset: clears the lock, confirms the email, ends other sessions, single use, 1 h.
use std::time::Duration;

use crate::helpers::*;

const NEW_PASSWORD: &str = "quiet harbour lantern";

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let res = app
        .post(&client, fns::FORGOT_PASSWORD, &[("email", email)])
        .await;
    assert_redirect(&res, paths::FORGOT_SENT);
    assert!(app
        .page(&client, paths::FORGOT_SENT)
        .await
        .contains(&format!("If an account exists for {email}")));
    client
}

#[tokio::test]
async fn reset_clears_the_lock_ends_other_sessions_and_is_single_use() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("resetter").await;

    // Another browser is signed in.
    let laptop = browser();
    assert_redirect(&app.sign_in(&laptop, &email, PASSWORD).await, paths::HOME);
    assert_eq!(app.get(&laptop, paths::HOME).await.status(), 200);

    // Someone locks the account.
    for _ in 0..5 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }

    let client = request_reset(&app, &email).await;
    let mail = wait_for_subject(&email, "Reset your password").await;
    let link = mail.link(&paths::with_token(paths::RESET, ""));
    let res = client.get(&link).send().await.unwrap();
    assert_redirect(&res, paths::RESET);
    let page = app.page(&client, paths::RESET).await;
    assert!(page.contains("autocomplete=\"new-password\""));

    // The policy applies; the link survives a refused password.
    let res = app
        .post(&client, fns::RESET_PASSWORD, &[("password", "password123")])
        .await;
    assert_redirect(&res, paths::RESET);
    assert!(app.page(&client, paths::RESET).await.contains("too common"));

    let res = app
        .post(&client, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("Your password was changed"));

    // The lock is gone, the new password works, the old one does not.
    assert_eq!(app.failed_attempts(&email).await, 0);
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::SIGN_IN_PASSWORD,
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::HOME,
    );

    // The laptop's session ended.
    assert_redirect(&app.get(&laptop, paths::HOME).await, paths::SIGN_IN);

    // "Your password was changed" arrives.
    // (Sign-ins from new browsers mail notices too, in whatever order the sink gets them.)
    wait_for_subject(&email, "Your password was changed").await;

    // The link is spent.
    let replay = browser();
    assert_redirect(&replay.get(&link).send().await.unwrap(), paths::RESET);
    assert!(app
        .page(&replay, paths::RESET)
        .await
        .contains("invalid, has expired or was already used"));
    let res = app
        .post(
            &replay,
            fns::RESET_PASSWORD,
            &[("password", "yet another passphrase")],
        )
        .await;
    assert_redirect(&res, paths::FORGOT);
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::HOME,
    );
}

#[tokio::test]
async fn reset_link_expires_after_an_hour_and_a_fresh_one_works() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("expiring").await;

    let client = request_reset(&app, &email).await;
    let link = wait_for_mail(&email, 2).await[1].link(&paths::with_token(paths::RESET, ""));
    app.clock.advance(Duration::from_secs(3601));
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::RESET);
    assert!(app
        .page(&client, paths::RESET)
        .await
        .contains("invalid, has expired"));
    let res = app
        .post(&client, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
        .await;
    assert_redirect(&res, paths::FORGOT);

    // A fresh link (the minute has passed) works.
    let client = request_reset(&app, &email).await;
    let link = wait_for_mail(&email, 3).await[2].link(&paths::with_token(paths::RESET, ""));
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::RESET);
    let res = app
        .post(&client, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::HOME,
    );
}

#[tokio::test]
async fn forgot_answers_the_same_for_unknown_emails_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let known = app.confirmed_user("known").await;
    let unknown = unique_email("ghost");
    let a = browser();
    let b = browser();
    let ra = app
        .post(&a, fns::FORGOT_PASSWORD, &[("email", &known)])
        .await;
    let rb = app
        .post(&b, fns::FORGOT_PASSWORD, &[("email", &unknown)])
        .await;
    assert_eq!((ra.status(), location(&ra)), (rb.status(), location(&rb)));
    let pa = app
        .page(&a, paths::FORGOT_SENT)
        .await
        .replace(&known, "EMAIL");
    let pb = app
        .page(&b, paths::FORGOT_SENT)
        .await
        .replace(&unknown, "EMAIL");
    assert_eq!(pa, pb);
    wait_for_mail(&known, 2).await;
    assert!(mails_to(&unknown).await.is_empty());
    assert_eq!(
        app.world.tally().await.one_time_tokens,
        1,
        "one reset link, for the known address"
    );
}
