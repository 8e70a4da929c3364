//! Password reset: clears the lock, confirms the email, ends other sessions, single use, 1 h.
use std::time::Duration;

use crate::helpers::*;

const NEW_PASSWORD: &str = "quiet harbour lantern";

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let res = app
        .post(&client, "/_fn/forgot_password", &[("email", email)])
        .await;
    assert_redirect(&res, "/forgot/sent");
    assert!(app
        .page(&client, "/forgot/sent")
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
    assert_redirect(&app.sign_in(&laptop, &email, PASSWORD).await, "/home");
    assert_eq!(app.get(&laptop, "/home").await.status(), 200);

    // Someone locks the account.
    for _ in 0..5 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }

    let client = request_reset(&app, &email).await;
    let mail = wait_for_mail(&email, 3)
        .await
        .into_iter()
        .find(|m| m.subject == "Reset your password")
        .unwrap();
    let link = mail.link("/reset?token=");
    let res = client.get(&link).send().await.unwrap();
    assert_redirect(&res, "/reset");
    let page = app.page(&client, "/reset").await;
    assert!(page.contains("autocomplete=\"new-password\""));

    // The policy applies; the link survives a refused password.
    let res = app
        .post(
            &client,
            "/_fn/reset_password",
            &[("password", "password123")],
        )
        .await;
    assert_redirect(&res, "/reset");
    assert!(app.page(&client, "/reset").await.contains("too common"));

    let res = app
        .post(
            &client,
            "/_fn/reset_password",
            &[("password", NEW_PASSWORD)],
        )
        .await;
    assert_redirect(&res, "/sign-in");
    assert!(app
        .page(&client, "/sign-in")
        .await
        .contains("Your password was changed"));

    // The lock is gone, the new password works, the old one does not.
    assert_eq!(app.failed_attempts(&email).await, 0);
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        "/sign-in/password",
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        "/home",
    );

    // The laptop's session ended.
    assert_redirect(&app.get(&laptop, "/home").await, "/sign-in");

    // "Your password was changed" arrives.
    let mails = wait_for_mail(&email, 4).await;
    assert!(mails
        .iter()
        .any(|m| m.subject == "Your password was changed"));

    // The link is spent.
    let replay = browser();
    assert_redirect(&replay.get(&link).send().await.unwrap(), "/reset");
    assert!(app
        .page(&replay, "/reset")
        .await
        .contains("invalid, has expired or was already used"));
    let res = app
        .post(
            &replay,
            "/_fn/reset_password",
            &[("password", "yet another passphrase")],
        )
        .await;
    assert_redirect(&res, "/forgot");
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        "/home",
    );
}

#[tokio::test]
async fn reset_link_expires_after_an_hour_and_a_fresh_one_works() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("expiring").await;

    let client = request_reset(&app, &email).await;
    let link = wait_for_mail(&email, 2).await[1].link("/reset?token=");
    app.clock.advance(Duration::from_secs(3601));
    assert_redirect(&client.get(&link).send().await.unwrap(), "/reset");
    assert!(app
        .page(&client, "/reset")
        .await
        .contains("invalid, has expired"));
    let res = app
        .post(
            &client,
            "/_fn/reset_password",
            &[("password", NEW_PASSWORD)],
        )
        .await;
    assert_redirect(&res, "/forgot");

    // A fresh link (the minute has passed) works.
    let client = request_reset(&app, &email).await;
    let link = wait_for_mail(&email, 3).await[2].link("/reset?token=");
    assert_redirect(&client.get(&link).send().await.unwrap(), "/reset");
    let res = app
        .post(
            &client,
            "/_fn/reset_password",
            &[("password", NEW_PASSWORD)],
        )
        .await;
    assert_redirect(&res, "/sign-in");
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        "/home",
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
        .post(&a, "/_fn/forgot_password", &[("email", &known)])
        .await;
    let rb = app
        .post(&b, "/_fn/forgot_password", &[("email", &unknown)])
        .await;
    assert_eq!((ra.status(), location(&ra)), (rb.status(), location(&rb)));
    let pa = app.page(&a, "/forgot/sent").await.replace(&known, "EMAIL");
    let pb = app
        .page(&b, "/forgot/sent")
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
