//! Sign-up (an email only), the page behind the confirmation link where the mailbox's holder
//! chooses the password, and the first sign-in.
use app::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn happy_path_sign_up_confirm_choose_a_password_and_land_on_main() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("alice");

    let form = app.page(&client, paths::SIGN_UP).await;
    assert!(form.contains("name=\"email\""));
    assert!(
        !form.contains("type=\"password\""),
        "sign-up asks for no password:\n{form}"
    );
    app.sign_up(&client, &email).await;
    let check = app.page(&client, paths::CHECK_EMAIL).await;
    assert!(check.contains("Check your email") && check.contains(&email));
    assert_eq!(
        app.world.tally().await.users,
        0,
        "nothing but a pending sign-up before the link is used"
    );

    // Real mail over SMTP, read back from the sink.
    let mail = wait_for_mail(&email, 1).await.remove(0);
    assert_eq!(mail.subject, "Confirm your email address");
    assert!(
        mail.html
            .as_deref()
            .unwrap_or("")
            .contains(&paths::with_token(paths::CONFIRM, "")),
        "HTML part carries the link"
    );
    let link = mail.link(&paths::with_token(paths::CONFIRM, ""));
    assert!(
        link.starts_with(&app.base),
        "links are absolute, from TERMINUS_PUBLIC_URL: {link}"
    );

    // The page behind the link shows the address (also to password managers) and asks for
    // the password; opening it uses nothing.
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::CONFIRM);
    let page = app.page(&client, paths::CONFIRM).await;
    assert!(page.contains(&email), "{page}");
    assert!(
        page.contains("autocomplete=\"username\"")
            && page.contains("autocomplete=\"new-password\""),
        "{page}"
    );
    assert_eq!(app.world.tally().await.users, 0);

    let res = app
        .post(&client, fns::CONFIRM_EMAIL, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::HOME);
    let home = app.page(&client, paths::HOME).await;
    assert!(home.contains("Your email is confirmed"), "{home}");
    assert!(
        home.contains(">Main<"),
        "home lists the workspace Main:\n{home}"
    );

    // One transaction made all four rows.
    assert_eq!(app.world.tally().await.users, 1);
    assert_eq!(app.world.tally().await.accounts, 1);
    assert_eq!(app.world.tally().await.memberships, 1);
    let memberships = app.world.memberships(&email).await;
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].role, Role::Owner);
    assert_eq!(
        app.world
            .workspace_names(memberships[0].account_id.as_str())
            .await,
        ["Main"]
    );
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);

    // The password chosen there is the account's.
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );

    // The confirmation link is single use.
    let again = browser();
    let res = again.get(&link).send().await.expect("reopen");
    assert_redirect(&res, paths::CONFIRM);
    let page = app.page(&again, paths::CONFIRM).await;
    assert!(page.contains("invalid, has expired or was already used"));
    assert!(!page.contains("action=\"/_fn/confirm_email\""));
    let res = app
        .post(
            &again,
            fns::CONFIRM_EMAIL,
            &[("password", "another fine passphrase")],
        )
        .await;
    assert_redirect(&res, paths::CONFIRM);
    assert_eq!(app.world.tally().await.users, 1);
}

#[tokio::test]
async fn confirmation_link_expires_after_24_hours() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("late");
    app.sign_up(&client, &email).await;
    let link = wait_for_mail(&email, 1).await[0].link(&paths::with_token(paths::CONFIRM, ""));
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let res = client.get(&link).send().await.expect("open");
    assert_redirect(&res, paths::CONFIRM);
    assert!(app
        .page(&client, paths::CONFIRM)
        .await
        .contains("invalid, has expired"));
    let res = app
        .post(&client, fns::CONFIRM_EMAIL, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::CONFIRM);
    assert_eq!(app.world.tally().await.users, 0);
}

/// Before the link is used there is no user: signing in gets the one generic message (the
/// same as for an address nobody signed up with), which links to "Resend the confirmation".
#[tokio::test]
async fn nothing_exists_before_confirmation_and_sign_in_says_only_the_generic_message() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("eager");
    app.sign_up(&client, &email).await;
    wait_for_mail(&email, 1).await;
    assert_eq!(app.world.tally().await.users, 0);
    assert_eq!(app.world.tally().await.accounts, 0);
    assert_eq!(app.world.tally().await.workspaces, 0);
    assert_eq!(app.world.tally().await.pending_sign_ups, 1);

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
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    let page = app.page(&pending, paths::SIGN_IN_PASSWORD).await;
    assert!(page.contains("Incorrect email or password."));
    assert!(page.contains("href=\"/resend-confirmation\""));
    assert_eq!(
        app.get(&pending, paths::HOME).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn resend_answers_the_same_for_every_address_and_sends_at_most_one_a_minute() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("resend");
    app.sign_up(&client, &email).await;
    let first = wait_for_mail(&email, 1).await.remove(0);

    // The page asks for an address; the answer never depends on it.
    let page = app.page(&browser(), paths::RESEND_CONFIRMATION).await;
    assert!(page.contains("autocomplete=\"username\""));
    let ask = |who: String| {
        let app = &app;
        async move {
            let c = browser();
            let res = app
                .post(&c, fns::RESEND_CONFIRMATION, &[("email", &who)])
                .await;
            assert_redirect(&res, paths::CHECK_EMAIL);
            app.page(&c, paths::CHECK_EMAIL)
                .await
                .replace(&who, "EMAIL")
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
            .get(first.link(&paths::with_token(paths::CONFIRM, "")))
            .send()
            .await
            .unwrap(),
        paths::CONFIRM,
    );
    assert!(app
        .page(&client, paths::CONFIRM)
        .await
        .contains("invalid, has expired"));
    // Again at once: nothing more this minute.
    ask(email.clone()).await;
    app.clock.advance(std::time::Duration::from_secs(1));
    let res = app
        .confirm_with(
            &client,
            &mails[1].link(&paths::with_token(paths::CONFIRM, "")),
            PASSWORD,
        )
        .await;
    assert_redirect(&res, paths::HOME);
    assert_eq!(mails_to(&email).await.len(), 2);
    assert!(
        mails_to(&unknown).await.is_empty(),
        "nothing for an unknown address"
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
}

/// The review's takeover, replayed: an attacker signs up the victim's address with a password
/// of their own and holds the per-recipient mail slot; the victim's own sign-up within the
/// minute is dropped, and "resend" renews the only link. Whatever the attacker typed, the
/// person who opens the link in the victim's mailbox chooses the password, and the attacker's
/// password opens nothing.
#[tokio::test]
async fn a_password_typed_before_the_link_is_opened_never_becomes_the_accounts() {
    let app = TestApp::spawn().await;
    let victim = unique_email("victim");
    let attacker = browser();
    let res = app
        .post(
            &attacker,
            fns::SIGN_UP,
            &[
                ("email", &victim),
                ("password", "attacker chosen passphrase"),
            ],
        )
        .await;
    assert_redirect(&res, paths::CHECK_EMAIL);
    // The attacker's sign-up mailed the victim's mailbox (the work after the answer is done).
    wait_for_mail(&victim, 1).await;
    // The victim signs up within the minute: the slot is taken, no second mail. (Should this
    // sign-up's work run only after the clock moves on below, it mails the second link
    // itself and the resend sends none: two mails either way.)
    app.sign_up(&browser(), &victim).await;
    // A minute later the attacker asks for the link again.
    app.clock.advance(std::time::Duration::from_secs(61));
    let res = app
        .post(&attacker, fns::RESEND_CONFIRMATION, &[("email", &victim)])
        .await;
    assert_redirect(&res, paths::CHECK_EMAIL);
    let mails = wait_for_mail(&victim, 2).await;
    // The victim opens the newest link in their mailbox and chooses a password.
    let person = browser();
    let res = app
        .confirm_with(
            &person,
            &mails[1].link(&paths::with_token(paths::CONFIRM, "")),
            PASSWORD,
        )
        .await;
    assert_redirect(&res, paths::HOME);

    let res = app
        .sign_in(&browser(), &victim, "attacker chosen passphrase")
        .await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert_redirect(
        &app.sign_in(&browser(), &victim, PASSWORD).await,
        paths::HOME,
    );
    // The attacker's browser holds no session and no link.
    assert_eq!(
        app.get(&attacker, paths::HOME).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = app.page(&attacker, paths::CONFIRM).await;
    assert!(!page.contains("action=\"/_fn/confirm_email\""), "{page}");
}

/// An invitation arriving while someone else's sign-up for the address is pending: the
/// person joins through the invitation, and the pending sign-up's link dies with it.
#[tokio::test]
async fn a_sign_up_someone_else_never_confirmed_opens_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner("globex").await;
    let newhire = unique_email("newhire");
    app.sign_up(&browser(), &newhire).await;
    let stale_link = wait_for_mail(&newhire, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));

    let res = app
        .post(
            &owner.browser,
            fns::INVITE_MEMBER,
            &[("email", &newhire), ("role", "member")],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    let invite = wait_for_mail(&newhire, 2)
        .await
        .remove(1)
        .link(&paths::with_token(paths::INVITE, ""));
    let person = browser();
    assert_redirect(&person.get(&invite).send().await.unwrap(), paths::INVITE);
    let res = app
        .post(&person, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::HOME);

    assert_eq!(app.world.tally().await.pending_sign_ups, 0);
    let other = browser();
    let res = other.get(&stale_link).send().await.unwrap();
    assert_redirect(&res, paths::CONFIRM);
    assert!(app
        .page(&other, paths::CONFIRM)
        .await
        .contains("invalid, has expired"));
    assert_eq!(app.world.tally().await.users, 2);
    assert_redirect(
        &app.sign_in(&browser(), &newhire, PASSWORD).await,
        paths::HOME,
    );
}

/// The same through single sign-on: the person's first SSO sign-in provisions their user
/// (without a password); the pending sign-up is gone with it.
#[tokio::test]
async fn a_pending_sign_up_dies_when_single_sign_on_provisions_the_address() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("globex", "globex.test").await;
    app.connect_sso(&owner, &["globex.test"], true).await;
    let newhire = format!("newhire-{}@globex.test", uuid::Uuid::now_v7().simple());
    app.sign_up(&browser(), &newhire).await;
    let stale_link = wait_for_mail(&newhire, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_IN_EMAIL, &[("email", &newhire)])
        .await;
    let callback = provider_login(&location(&res), &newhire).await;
    assert_redirect(&client.get(&callback).send().await.unwrap(), paths::HOME);
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);
    let hash = app.world.password_hash(&newhire).await;
    assert!(hash.is_none(), "no password came with the provisioned user");
    let other = browser();
    assert_redirect(
        &other.get(&stale_link).send().await.unwrap(),
        paths::CONFIRM,
    );
    assert!(app
        .page(&other, paths::CONFIRM)
        .await
        .contains("invalid, has expired"));
}

/// Confirming an address on a domain that enforces single sign-on creates the account but
/// starts no password session: enforcement holds at this door too.
#[tokio::test]
async fn confirming_on_an_enforced_domain_starts_no_password_session() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.owner_at("initech", "initech.test").await;
    app.connect_sso(&owner, &["initech.test"], true).await;
    let person = format!("person-{}@initech.test", uuid::Uuid::now_v7().simple());
    app.sign_up(&browser(), &person).await;
    let link = wait_for_mail(&person, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    let client = browser();
    let res = app.confirm_with(&client, &link, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("single sign-on"));
    assert_eq!(
        app.get(&client, paths::HOME).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_new_sign_up_replaces_the_pending_one() {
    let app = TestApp::spawn().await;
    let email = unique_email("twice");
    app.sign_up(&browser(), &email).await;
    let old = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    app.clock.advance(std::time::Duration::from_secs(61));
    let client = browser();
    app.sign_up(&client, &email).await;
    let new = wait_for_mail(&email, 2)
        .await
        .remove(1)
        .link(&paths::with_token(paths::CONFIRM, ""));
    assert_eq!(app.world.tally().await.pending_sign_ups, 1);

    assert_redirect(&client.get(&old).send().await.unwrap(), paths::CONFIRM);
    assert!(app
        .page(&client, paths::CONFIRM)
        .await
        .contains("invalid, has expired"));
    let res = app.confirm_with(&client, &new, PASSWORD).await;
    assert_redirect(&res, paths::HOME);
    assert_eq!(app.world.tally().await.accounts, 1);
    let account = app.world.only_account_of(&email).await;
    let actions = app.world.audit_actions(&account).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "account.created").count(),
        1,
        "the audit event is written with the account"
    );
}

#[tokio::test]
async fn sign_up_with_existing_email_answers_the_same_and_notifies_the_owner() {
    let app = TestApp::spawn().await;
    let email = unique_email("taken");
    let first = browser();
    let res = app.post(&first, fns::SIGN_UP, &[("email", &email)]).await;
    let (status_new, location_new) = (res.status(), location(&res));
    let page_new = app.page(&first, paths::CHECK_EMAIL).await;
    let link = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    assert_redirect(
        &app.confirm_with(&first, &link, PASSWORD).await,
        paths::HOME,
    );

    let second = browser();
    let upper = email.to_uppercase();
    let res = app.post(&second, fns::SIGN_UP, &[("email", &upper)]).await;
    assert_eq!((res.status(), location(&res)), (status_new, location_new));
    assert_eq!(
        app.page(&second, paths::CHECK_EMAIL).await,
        page_new,
        "same page, whether or not the email exists"
    );

    let mails = wait_for_mail(&email, 2).await;
    assert_eq!(mails[1].subject, "You already have a Terminus Hub account");
    assert_eq!(app.world.tally().await.users, 1);
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);
}

#[tokio::test]
async fn emails_are_normalised_and_hidden_characters_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_UP, &[("email", "Bob@Höli.TEST")])
        .await;
    assert_redirect(&res, paths::CHECK_EMAIL);
    let mail = wait_for_mail("bob@xn--hli-sna.test", 1).await.remove(0);
    assert_eq!(mail.subject, "Confirm your email address");
    for hidden in ["bob\u{202e}@example.com", "bo\u{200b}b@example.com"] {
        let res = app.post(&client, fns::SIGN_UP, &[("email", hidden)]).await;
        assert_redirect(&res, paths::SIGN_UP);
        assert!(app
            .page(&client, paths::SIGN_UP)
            .await
            .contains("invisible or direction-changing characters"));
    }
    assert_eq!(app.world.tally().await.pending_sign_ups, 1);
}

/// The page behind the link keeps the password rules: common, short and empty passwords are
/// refused with zxcvbn's reason next to the field, the link stays good, and nothing typed is
/// echoed back.
#[tokio::test]
async fn the_confirmation_page_refuses_weak_passwords_and_keeps_the_link() {
    let app = TestApp::spawn().await;
    let client = browser();
    let email = unique_email("weak");
    app.sign_up(&client, &email).await;
    let link = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::CONFIRM);
    let huge = "p".repeat(1024 * 1024);
    for (password, message) in [
        (
            "password1",
            "too common or too easy to guess. This is a very common password.",
        ),
        ("weak-ab", "at least 8 characters"),
        (&huge, "Use at most 128 characters."),
        ("", "Enter a password"),
    ] {
        let res = app
            .post(&client, fns::CONFIRM_EMAIL, &[("password", password)])
            .await;
        assert_redirect(&res, paths::CONFIRM);
        let page = app.page(&client, paths::CONFIRM).await;
        assert!(
            page.contains(message),
            "{password:?} → {message:?}:\n{page}"
        );
        assert!(page.contains(&email), "the address is still shown");
        assert!(
            password.is_empty() || !page.contains(password),
            "passwords are never echoed"
        );
    }
    assert_eq!(app.world.tally().await.users, 0);
    let res = app
        .post(&client, fns::CONFIRM_EMAIL, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::HOME);
}
