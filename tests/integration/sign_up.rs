//! Sign-up, confirmation and the first sign-in.
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn happy_path_sign_up_confirm_sign_in_lands_on_main() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("alice");

    app.sign_up(&client, &email, PASSWORD).await;
    let check = app.page(&client, "/check-email").await;
    assert!(check.contains("Check your email") && check.contains(&email));

    // Real mail over SMTP, read back from the sink.
    let mail = wait_for_mail(&email, 1).await.remove(0);
    assert_eq!(mail.subject, "Confirm your email address");
    assert!(
        mail.html
            .as_deref()
            .unwrap_or("")
            .contains("/confirm?token="),
        "HTML part carries the link"
    );
    let link = mail.link("/confirm?token=");
    assert!(
        link.starts_with(&app.base),
        "links are absolute, from TERMINUS_PUBLIC_URL: {link}"
    );

    let res = app
        .follow_link(&client, &link, "/confirm", "/_fn/confirm_email")
        .await;
    assert_redirect(&res, "/sign-in");
    assert!(app
        .page(&client, "/sign-in")
        .await
        .contains("Your email is confirmed"));

    let res = app.sign_in(&client, &email, PASSWORD).await;
    assert_redirect(&res, "/home");
    let home = app.page(&client, "/home").await;
    assert!(home.contains("Workspaces"));
    assert!(
        home.contains(">Main<"),
        "home lists the workspace Main:\n{home}"
    );

    // One transaction made all four rows.
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM memberships WHERE role = 'owner'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM workspaces WHERE name = 'Main'")
            .await,
        1
    );

    // The confirmation link is single use.
    let again = browser();
    let res = again.get(&link).send().await.expect("reopen");
    assert_redirect(&res, "/confirm");
    let page = app.page(&again, "/confirm").await;
    assert!(page.contains("invalid, has expired or was already used"));
    assert!(!page.contains("action=\"/_fn/confirm_email\""));
}

#[tokio::test]
async fn confirmation_link_expires_after_24_hours() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("late");
    app.sign_up(&client, &email, PASSWORD).await;
    let link = wait_for_mail(&email, 1).await[0].link("/confirm?token=");
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let res = client.get(&link).send().await.expect("open");
    assert_redirect(&res, "/confirm");
    assert!(app
        .page(&client, "/confirm")
        .await
        .contains("invalid, has expired"));
    let res = app.post(&client, "/_fn/confirm_email", &[]).await;
    assert_redirect(&res, "/confirm");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email_confirmed_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn unconfirmed_sign_in_lands_on_check_email_and_resend_is_throttled() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("eager");
    app.sign_up(&client, &email, PASSWORD).await;
    wait_for_mail(&email, 1).await;

    let other = browser();
    let res = app.sign_in(&other, &email, PASSWORD).await;
    assert_redirect(&res, "/check-email");
    let page = app.page(&other, "/check-email").await;
    assert!(page.contains("Confirm your email address to sign in") && page.contains(&email));
    assert!(
        app.get(&other, "/home").await.status() == StatusCode::SEE_OTHER,
        "not signed in"
    );

    // Right after sign-up: throttled, no new mail.
    let res = app.post(&client, "/_fn/resend_confirmation", &[]).await;
    assert_redirect(&res, "/check-email");
    assert!(app
        .page(&client, "/check-email")
        .await
        .contains("less than a minute ago"));

    // A minute later: a new mail.
    app.clock.advance(std::time::Duration::from_secs(61));
    let res = app.post(&client, "/_fn/resend_confirmation", &[]).await;
    assert_redirect(&res, "/check-email");
    assert!(app
        .page(&client, "/check-email")
        .await
        .contains("We sent another email"));
    let mails = wait_for_mail(&email, 2).await;
    assert_eq!(mails.len(), 2);

    // Again at once, from another browser too: the address gets nothing more this minute.
    let res = app.post(&client, "/_fn/resend_confirmation", &[]).await;
    assert_redirect(&res, "/check-email");
    assert!(app
        .page(&client, "/check-email")
        .await
        .contains("less than a minute ago"));
    let res = app.post(&other, "/_fn/resend_confirmation", &[]).await;
    assert_redirect(&res, "/check-email");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM one_time_tokens WHERE purpose = 'confirm'")
            .await,
        2,
        "at most one confirmation mail a minute"
    );

    // Either link confirms.
    let res = app
        .follow_link(
            &client,
            &mails[1].link("/confirm?token="),
            "/confirm",
            "/_fn/confirm_email",
        )
        .await;
    assert_redirect(&res, "/sign-in");
    assert_redirect(&app.sign_in(&other, &email, PASSWORD).await, "/home");
}

#[tokio::test]
async fn sign_up_with_existing_email_answers_the_same_and_notifies_the_owner() {
    let app = TestApp::spawn().await;
    let email = unique_email("taken");
    let first = browser();
    let res = app
        .post(
            &first,
            "/_fn/sign_up",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    let (status_new, location_new) = (res.status(), location(&res));
    let page_new = app.page(&first, "/check-email").await;

    let second = browser();
    let upper = email.to_uppercase();
    let res = app
        .post(
            &second,
            "/_fn/sign_up",
            &[("email", &upper), ("password", "another fine passphrase")],
        )
        .await;
    assert_eq!((res.status(), location(&res)), (status_new, location_new));
    assert_eq!(
        app.page(&second, "/check-email").await,
        page_new,
        "same page, whether or not the email exists"
    );

    let mails = wait_for_mail(&email, 2).await;
    let subjects: Vec<_> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert!(subjects.contains(&"Confirm your email address"));
    assert!(subjects.contains(&"You already have a Terminus Hub account"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "emails are unique case-insensitively"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts").await,
        1,
        "nothing else was written"
    );
}

#[tokio::test]
async fn sign_up_refuses_common_and_short_passwords_and_keeps_the_email() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("weak");
    for (password, message) in [
        ("password1", "too common or too easy to guess"),
        ("short", "at least 8 characters"),
        ("", "Enter a password"),
    ] {
        let res = app
            .post(
                &client,
                "/_fn/sign_up",
                &[("email", &email), ("password", password)],
            )
            .await;
        assert_redirect(&res, "/sign-up");
        let page = app.page(&client, "/sign-up").await;
        assert!(
            page.contains(message),
            "{password:?} → {message:?}:\n{page}"
        );
        assert!(
            page.contains(&format!("value=\"{email}\"")),
            "the email typed is kept"
        );
        assert!(
            !page.contains(&format!("value=\"{password}\"")) || password.is_empty(),
            "passwords are never echoed"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}
