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

/// Before the link is used there is no user: signing in gets the one generic message (the
/// same as for an address nobody signed up with), which links to "Resend the confirmation".
#[tokio::test]
async fn nothing_exists_before_confirmation_and_sign_in_says_only_the_generic_message() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("eager");
    app.sign_up(&client, &email, PASSWORD).await;
    wait_for_mail(&email, 1).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 1);

    // With the right password: exactly what an unknown address gets.
    let pending = browser();
    let res = app.sign_in(&pending, &email, PASSWORD).await;
    let unknown = browser();
    let res_unknown = app
        .sign_in(&unknown, &unique_email("nobody"), PASSWORD)
        .await;
    assert_eq!(
        (res.status(), location(&res)),
        (res_unknown.status(), location(&res_unknown))
    );
    assert_redirect(&res, "/sign-in/password");
    let page = app.page(&pending, "/sign-in/password").await;
    assert!(page.contains("Incorrect email or password."));
    assert!(page.contains("href=\"/resend-confirmation\""));
    assert_eq!(
        app.get(&pending, "/home").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn resend_answers_the_same_for_every_address_and_sends_at_most_one_a_minute() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("resend");
    app.sign_up(&client, &email, PASSWORD).await;
    let first = wait_for_mail(&email, 1).await.remove(0);

    // The page asks for an address; the answer never depends on it.
    let page = app.page(&browser(), "/resend-confirmation").await;
    assert!(page.contains("autocomplete=\"username\""));
    let ask = |who: String| {
        let app = &app;
        async move {
            let c = browser();
            let res = app
                .post(&c, "/_fn/resend_confirmation", &[("email", &who)])
                .await;
            assert_redirect(&res, "/check-email");
            app.page(&c, "/check-email").await.replace(&who, "EMAIL")
        }
    };
    let unknown = unique_email("ghost");
    // Within the minute of the sign-up: no new mail, for the pending address or any other.
    assert_eq!(ask(email.clone()).await, ask(unknown.clone()).await);

    app.clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(ask(email.clone()).await, ask(unknown.clone()).await);
    let mails = wait_for_mail(&email, 2).await;
    assert_eq!(mails.len(), 2, "one new link");
    // The new link replaced the old one.
    assert_redirect(
        &client
            .get(first.link("/confirm?token="))
            .send()
            .await
            .unwrap(),
        "/confirm",
    );
    assert!(app
        .page(&client, "/confirm")
        .await
        .contains("invalid, has expired"));
    // Again at once: nothing more this minute.
    ask(email.clone()).await;
    app.clock.advance(std::time::Duration::from_secs(1));
    let res = app
        .follow_link(
            &client,
            &mails[1].link("/confirm?token="),
            "/confirm",
            "/_fn/confirm_email",
        )
        .await;
    assert_redirect(&res, "/sign-in");
    assert_eq!(mails_to(&email).await.len(), 2);
    assert!(
        mails_to(&unknown).await.is_empty(),
        "nothing for an unknown address"
    );
    assert_redirect(&app.sign_in(&browser(), &email, PASSWORD).await, "/home");
}

/// The pre-registration takeover: someone signs up a colleague's address with a password of
/// their choosing and never confirms. When the colleague arrives through an invitation, the
/// attacker's password opens nothing, and the attacker's link is dead.
#[tokio::test]
async fn a_sign_up_someone_else_never_confirmed_opens_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner("globex").await;
    let newhire = unique_email("newhire");
    app.sign_up(&browser(), &newhire, "attacker chosen passphrase")
        .await;
    let attacker_link = wait_for_mail(&newhire, 1)
        .await
        .remove(0)
        .link("/confirm?token=");

    // The real person joins through an invitation and sets their own password.
    let res = app
        .post(
            &owner.browser,
            "/_fn/invite_member",
            &[("email", &newhire), ("role", "member")],
        )
        .await;
    assert_redirect(&res, "/settings/members");
    let invite = wait_for_mail(&newhire, 2)
        .await
        .remove(1)
        .link("/invite?token=");
    let person = browser();
    assert_redirect(&person.get(&invite).send().await.unwrap(), "/invite");
    let res = app
        .post(&person, "/_fn/accept_invitation", &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, "/home");

    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 0);
    let attacker = browser();
    assert_redirect(
        &app.sign_in(&attacker, &newhire, "attacker chosen passphrase")
            .await,
        "/sign-in/password",
    );
    assert!(app
        .page(&attacker, "/sign-in/password")
        .await
        .contains("Incorrect email or password."));
    let res = attacker.get(&attacker_link).send().await.unwrap();
    assert_redirect(&res, "/confirm");
    assert!(app
        .page(&attacker, "/confirm")
        .await
        .contains("invalid, has expired"));
    assert_redirect(&app.sign_in(&browser(), &newhire, PASSWORD).await, "/home");
}

/// The same through single sign-on: the person's first SSO sign-in provisions their user;
/// the attacker's pending password is gone with it.
#[tokio::test]
async fn a_pending_sign_up_dies_when_single_sign_on_provisions_the_address() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("globex", "globex.test").await;
    app.connect_sso(&owner, &["globex.test"], true).await;
    let newhire = format!("newhire-{}@globex.test", uuid::Uuid::now_v7().simple());
    // Enforced: only the direct form still signs up; the attacker uses it.
    app.sign_up(&browser(), &newhire, "attacker chosen passphrase")
        .await;
    wait_for_mail(&newhire, 1).await;
    let client = browser();
    let res = app
        .post(&client, "/_fn/sign_in_email", &[("email", &newhire)])
        .await;
    let callback = provider_login(&location(&res), &newhire).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), "/home");
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 0);
    let (hash,): (Option<String>,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE email = $1")
            .bind(&newhire)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(hash.is_none(), "no password came with the provisioned user");
}

#[tokio::test]
async fn a_new_sign_up_replaces_the_pending_one() {
    let app = TestApp::spawn().await;
    let email = unique_email("twice");
    app.sign_up(&browser(), &email, "first pass phrase here")
        .await;
    let old = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link("/confirm?token=");
    app.clock.advance(std::time::Duration::from_secs(61));
    let client = browser();
    app.sign_up(&client, &email, PASSWORD).await;
    let new = wait_for_mail(&email, 2)
        .await
        .remove(1)
        .link("/confirm?token=");
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 1);

    assert_redirect(&client.get(&old).send().await.unwrap(), "/confirm");
    assert!(app
        .page(&client, "/confirm")
        .await
        .contains("invalid, has expired"));
    let res = app
        .follow_link(&client, &new, "/confirm", "/_fn/confirm_email")
        .await;
    assert_redirect(&res, "/sign-in");
    assert_redirect(
        &app.sign_in(&browser(), &email, "first pass phrase here")
            .await,
        "/sign-in/password",
    );
    assert_redirect(&app.sign_in(&browser(), &email, PASSWORD).await, "/home");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'account.created'")
            .await,
        1,
        "the audit event is written with the account"
    );
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
    let link = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link("/confirm?token=");
    let res = app
        .follow_link(&first, &link, "/confirm", "/_fn/confirm_email")
        .await;
    assert_redirect(&res, "/sign-in");

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
    assert_eq!(mails[1].subject, "You already have a Terminus Hub account");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 0);
    assert_redirect(
        &app.sign_in(&browser(), &email, "another fine passphrase")
            .await,
        "/sign-in/password",
    );
}

#[tokio::test]
async fn emails_are_normalised_and_hidden_characters_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let res = app
        .post(
            &client,
            "/_fn/sign_up",
            &[("email", "Bob@Höli.TEST"), ("password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, "/check-email");
    let mail = wait_for_mail("bob@xn--hli-sna.test", 1).await.remove(0);
    assert_eq!(mail.subject, "Confirm your email address");
    for hidden in ["bob\u{202e}@example.com", "bo\u{200b}b@example.com"] {
        let res = app
            .post(
                &client,
                "/_fn/sign_up",
                &[("email", hidden), ("password", PASSWORD)],
            )
            .await;
        assert_redirect(&res, "/sign-up");
        assert!(app
            .page(&client, "/sign-up")
            .await
            .contains("invisible or direction-changing characters"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ups").await, 1);
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
