//! People come back where they were without retyping: a page opened while signed out is
//! where the sign-in lands (`next` too, local paths only); the email an unlock, reset or
//! confirmation link proved is already in the sign-in form; every password form offers
//! "Forgot your password?"; the one refusal carries a hint for the locked-out and the
//! unconfirmed that is the same for everyone; an invite-only server offers no sign-up.
use app::SignUpPolicy;
use reqwest::StatusCode;

use crate::helpers::*;

const NEW_PASSWORD: &str = "velvet orchard compass";

/// `value="…"` of the sign-in page's email field, as a browser would show it.
fn has_email_value(page: &str, email: &str) -> bool {
    page.contains(&format!("value=\"{email}\""))
}

#[tokio::test]
async fn a_page_opened_while_signed_out_is_where_the_sign_in_lands() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("deep").await;

    let client = browser();
    let res = app.get(&client, "/settings/security?tab=sessions").await;
    assert_redirect(&res, paths::SIGN_IN);
    assert_redirect(
        &app.sign_in(&client, &email, PASSWORD).await,
        "/settings/security?tab=sessions",
    );
    // Used once: the next sign-in lands home.
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );

    // `next` on the sign-in page: a local path is kept, anything else is not.
    let client = browser();
    assert_eq!(
        app.get(&client, "/sign-in?next=/settings/security")
            .await
            .status(),
        StatusCode::OK
    );
    assert_redirect(
        &app.sign_in(&client, &email, PASSWORD).await,
        paths::SECURITY,
    );
    for elsewhere in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let client = browser();
        let url = format!("/sign-in?next={}", urlencode(elsewhere));
        assert_eq!(app.get(&client, &url).await.status(), StatusCode::OK);
        assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    }
}

#[tokio::test]
async fn the_email_a_link_proved_is_already_in_the_sign_in_form() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("prefill").await;

    // Unlock: locked by wrong passwords, unlocked from a fresh browser.
    for _ in 0..5 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }
    let mail = wait_for_subject(&email, "Your account has been locked").await;
    let link = mail.link(&paths::with_token(paths::UNLOCK, ""));
    let client = browser();
    let res = app
        .follow_link(&client, &link, paths::UNLOCK, fns::UNLOCK_ACCOUNT)
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    let page = app.page(&client, paths::SIGN_IN).await;
    assert!(has_email_value(&page, &email), "{page}");

    // Reset.
    let client = browser();
    app.post(&client, fns::FORGOT_PASSWORD, &[("email", &email)])
        .await;
    let mail = wait_for_subject(&email, "Reset your password").await;
    let link = mail.link(&paths::with_token(paths::RESET, ""));
    let reader = browser();
    assert_redirect(&reader.get(&link).send().await.unwrap(), paths::RESET);
    let res = app
        .post(&reader, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    let page = app.page(&reader, paths::SIGN_IN).await;
    assert!(has_email_value(&page, &email), "{page}");
}

#[tokio::test]
async fn every_password_form_offers_a_reset_and_the_refusal_hints_at_the_mailbox() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("forgetful").await;
    let client = browser();
    for path in [paths::SIGN_IN, paths::SIGN_IN_DIRECT] {
        let page = app.page(&client, path).await;
        assert!(page.contains("Forgot your password?"), "{path}: {page}");
    }
    assert_redirect(
        &app.sign_in(&client, &email, "wrong wrong wrong").await,
        paths::SIGN_IN_PASSWORD,
    );
    let wrong = app.page(&client, paths::SIGN_IN_PASSWORD).await;
    assert!(wrong.contains("Forgot your password?"));
    assert!(wrong.contains("Locked out or not confirmed yet? Check your email."));
    // An unknown email reads the same.
    let stranger = browser();
    app.sign_in(&stranger, "nobody@example.com", "wrong wrong wrong")
        .await;
    let unknown = app.page(&stranger, paths::SIGN_IN_PASSWORD).await;
    assert_eq!(
        unknown.replace("nobody@example.com", "EMAIL"),
        wrong.replace(&email, "EMAIL")
    );

    // "Confirm it's you" too.
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    let page = app.page(&client, paths::REAUTHENTICATE).await;
    assert!(page.contains("Forgot your password?"), "{page}");
}

#[tokio::test]
async fn an_invite_only_server_offers_no_sign_up_on_the_sign_in_page() {
    let open = TestApp::spawn().await;
    assert!(open
        .page(&browser(), paths::SIGN_IN)
        .await
        .contains("Create an account"));
    let closed = TestApp::spawn_with(|c| c.signup = SignUpPolicy::InviteOnly).await;
    let page = closed.page(&browser(), paths::SIGN_IN).await;
    assert!(!page.contains("Create an account"), "{page}");
    assert!(
        !page.contains(&format!("href=\"{}\"", paths::SIGN_UP)),
        "{page}"
    );
}
