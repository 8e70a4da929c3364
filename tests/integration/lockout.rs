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
            assert_redirect(&res, "/sign-in/password");
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
    assert_redirect(&res, "/sign-in/password");
    assert!(app
        .page(&client, "/sign-in/password")
        .await
        .contains("Incorrect email or password."));

    // Exactly one unlock mail; its link works once.
    let mails = wait_for_mail(&email, 2).await;
    let unlock: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Your account has been locked")
        .collect();
    assert_eq!(unlock.len(), 1);
    let link = unlock[0].link("/unlock?token=");
    let res = app
        .follow_link(&client, &link, "/unlock", "/_fn/unlock_account")
        .await;
    assert_redirect(&res, "/sign-in");
    assert!(app
        .page(&client, "/sign-in")
        .await
        .contains("Your account is unlocked"));
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, "/home");

    let replay = browser();
    let res = replay.get(&link).send().await.unwrap();
    assert_redirect(&res, "/unlock");
    assert!(app
        .page(&replay, "/unlock")
        .await
        .contains("invalid, has expired or was already used"));
    let res = app.post(&replay, "/_fn/unlock_account", &[]).await;
    assert_redirect(&res, "/unlock");
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
        "/sign-in/password",
    );
    assert_eq!(
        app.failed_attempts(&email).await,
        5,
        "a refused attempt while locked is not counted"
    );

    app.clock.advance(Duration::from_secs(61));
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, "/home");
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
    assert_redirect(&app.sign_in(&browser(), &email, PASSWORD).await, "/home");
    for _ in 0..4 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }
    assert_redirect(&app.sign_in(&browser(), &email, PASSWORD).await, "/home");
}
