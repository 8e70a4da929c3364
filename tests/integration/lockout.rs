//! Lockout after 5 consecutive failures: atomic counting, the unlock email, the timed unlock.
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn ten_concurrent_wrong_attempts_lock_even_the_right_password_out() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("target").await;

    let attempts = (0..10).map(|i| {
        let app = &app;
        let email = email.clone();
        async move {
            let client = browser();
            let res = app
                .sign_in(&client, &email, &format!("wrong guess {i}"))
                .await;
            assert_redirect(&res, paths::SIGN_IN_PASSWORD);
        }
    });
    join_all(attempts).await;

    assert_eq!(
        app.failed_attempts(&email).await,
        5,
        "no more than 5 guesses got in"
    );
    let client = browser();
    let res = app.sign_in(&client, &email, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Incorrect email or password."));

    // Exactly one unlock mail; its link works once.
    let mails = wait_for_mail(&email, 2).await;
    let unlock: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Your account has been locked")
        .collect();
    assert_eq!(unlock.len(), 1);
    let link = unlock[0].link(&paths::with_token(paths::UNLOCK, ""));
    let res = app
        .follow_link(&client, &link, paths::UNLOCK, fns::UNLOCK_ACCOUNT)
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("Your account is unlocked"));
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);

    let replay = browser();
    let res = replay.get(&link).send().await.unwrap();
    assert_redirect(&res, paths::UNLOCK);
    assert!(app
        .page(&replay, paths::UNLOCK)
        .await
        .contains("invalid, has expired or was already used"));
    let res = app.post(&replay, fns::UNLOCK_ACCOUNT, &[]).await;
    assert_redirect(&res, paths::UNLOCK);
}

#[tokio::test]
async fn lock_lifts_by_itself_after_ten_minutes() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("patient").await;
    let client = browser();
    for _ in 0..5 {
        app.sign_in(&client, &email, "wrong wrong wrong").await;
    }
    app.clock.advance(Duration::from_secs(9 * 60));
    assert_redirect(
        &app.sign_in(&client, &email, PASSWORD).await,
        paths::SIGN_IN_PASSWORD,
    );
    assert_eq!(
        app.failed_attempts(&email).await,
        5,
        "a refused attempt while locked is not counted"
    );

    app.clock.advance(Duration::from_secs(61));
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    assert_eq!(
        app.failed_attempts(&email).await,
        0,
        "a success resets the count"
    );
}

#[tokio::test]
async fn a_success_resets_the_count() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("typo").await;
    for _ in 0..4 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
    for _ in 0..4 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
}
