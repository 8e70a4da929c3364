//! The Security page, through the real server: reached from the user menu, it lists where the
//! person is signed in (device, IP, how) and signs out one session or all others, changes the
//! password (the current one required; other sessions end; a notice is mailed) and lists the
//! API keys the person created.
use reqwest::{Client, StatusCode};

use crate::helpers::*;

const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const NEW_PASSWORD: &str = "copper kettle morning rain";

/// A browser that says it is `user_agent`, signed in as `email`.
async fn signed_in_as(app: &TestApp, email: &str, user_agent: &str) -> Client {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    assert_redirect(&app.sign_in(&client, email, PASSWORD).await, paths::HOME);
    client
}

/// Like [`signed_in_as`], also answering the session cookie the sign-in set.
async fn signed_in_with_cookie(app: &TestApp, email: &str) -> (Client, String) {
    let client = browser();
    let res = app.sign_in(&client, email, PASSWORD).await;
    assert_redirect(&res, paths::HOME);
    let cookie = session_cookie(res.headers()).expect("the sign-in sets the session cookie");
    (client, cookie)
}

/// The handle the sessions list posts back for the row that names `device`.
fn handle_for(html: &str, device: &str) -> String {
    let row = html
        .split("<tr>")
        .find(|row| row.contains(device))
        .unwrap_or_else(|| panic!("no session of {device} listed:\n{html}"));
    let start = row
        .find("name=\"session\" value=\"")
        .unwrap_or_else(|| panic!("no sign-out form for {device}:\n{row}"))
        + "name=\"session\" value=\"".len();
    row[start..].split('"').next().unwrap().to_owned()
}

async fn is_signed_in(app: &TestApp, client: &Client) -> bool {
    let res = app.get(client, paths::HOME).await;
    match res.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(location(&res), paths::SIGN_IN);
            false
        }
        other => panic!("GET /home answered {other}"),
    }
}

#[tokio::test]
async fn the_sessions_list_shows_each_device_and_signs_out_one_or_all_others() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("sessions").await;
    let laptop = signed_in_as(&app, &email, FIREFOX_LINUX).await;
    let phone = signed_in_as(&app, &email, SAFARI_IPHONE).await;
    let tablet = signed_in_as(
        &app,
        &email,
        SAFARI_IPHONE.replace("iPhone", "iPad").as_str(),
    )
    .await;

    let home = app.page(&laptop, paths::HOME).await;
    assert!(
        home.contains(&format!("href=\"{}\"", paths::SECURITY)),
        "the user menu leads to the Security page:\n{home}"
    );
    let page = app.page(&laptop, paths::SECURITY).await;
    let laptop_row = page
        .split("<tr>")
        .find(|row| row.contains("Firefox on Linux"))
        .expect("the laptop is listed");
    assert!(laptop_row.contains("This device"), "{laptop_row}");
    assert!(laptop_row.contains("127.0.0.1") && laptop_row.contains("Password"));
    assert!(
        !laptop_row.contains("name=\"session\""),
        "no sign-out form for this one"
    );
    assert_eq!(page.matches(">Safari on iOS</td>").count(), 2, "{page}");

    // Another person's session handle ends nothing.
    let bob = app.confirmed_user("bob").await;
    let bob_laptop = signed_in_as(&app, &bob, FIREFOX_LINUX).await;
    let _bob_phone = signed_in_as(&app, &bob, SAFARI_IPHONE).await;
    let bobs_handle = handle_for(
        &app.page(&bob_laptop, paths::SECURITY).await,
        "Safari on iOS",
    );
    let res = app
        .post(&laptop, fns::END_SESSION, &[("session", &bobs_handle)])
        .await;
    assert_redirect(&res, paths::SECURITY);
    assert!(app
        .page(&laptop, paths::SECURITY)
        .await
        .contains("That session no longer exists."));
    assert!(
        app.page(&bob_laptop, paths::SECURITY)
            .await
            .contains(&bobs_handle),
        "bob's phone is still signed in"
    );

    // One session.
    let phone_handle = handle_for(&page, "Safari on iOS");
    let res = app
        .post(&laptop, fns::END_SESSION, &[("session", &phone_handle)])
        .await;
    assert_redirect(&res, paths::SECURITY);
    let page = app.page(&laptop, paths::SECURITY).await;
    assert!(page.contains("That session was signed out."), "{page}");
    assert!(!page.contains(&phone_handle));
    let ended_one = [
        is_signed_in(&app, &phone).await,
        is_signed_in(&app, &tablet).await,
    ];
    assert_eq!(
        ended_one.iter().filter(|signed| !**signed).count(),
        1,
        "exactly the chosen Safari session ended"
    );

    // Every other one (the confirming browser's and the remaining Safari).
    let res = app.post(&laptop, fns::END_OTHER_SESSIONS, &[]).await;
    assert_redirect(&res, paths::SECURITY);
    let page = app.page(&laptop, paths::SECURITY).await;
    assert!(page.contains("Signed out of 2 other sessions."), "{page}");
    assert!(!is_signed_in(&app, &phone).await && !is_signed_in(&app, &tablet).await);
    assert!(is_signed_in(&app, &laptop).await, "this session stays");
    assert_eq!(
        page.matches("<tr>").count(),
        2,
        "the header row and this session:\n{page}"
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("changer").await;
    let (here, old_cookie) = signed_in_with_cookie(&app, &email).await;
    let elsewhere = signed_in_as(&app, &email, SAFARI_IPHONE).await;

    let res = app
        .post(
            &here,
            fns::CHANGE_PASSWORD,
            &[
                ("current_password", "not my password"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    let page = app.page(&here, paths::SECURITY).await;
    assert!(
        page.contains("That is not your current password."),
        "{page}"
    );
    assert!(
        is_signed_in(&app, &elsewhere).await,
        "a refused change ends nothing"
    );
    assert_eq!(
        app.failed_attempts(&email).await,
        1,
        "a wrong current password is a guess"
    );

    let res = app
        .post(
            &here,
            fns::CHANGE_PASSWORD,
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1"),
            ],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    let page = app.page(&here, paths::SECURITY).await;
    assert!(
        page.contains("field-new_password-error"),
        "a weak password is refused next to its field:\n{page}"
    );

    let res = app
        .post(
            &here,
            fns::CHANGE_PASSWORD,
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    let page = app.page(&here, paths::SECURITY).await;
    assert!(page.contains("Your password was changed"), "{page}");
    assert!(
        is_signed_in(&app, &here).await,
        "the session that changed it stays"
    );
    assert!(
        !is_signed_in(&app, &elsewhere).await,
        "every other session ended"
    );
    assert_redirect(
        &get_with_session(&app, paths::HOME, &old_cookie).await,
        paths::SIGN_IN,
    );
    assert_eq!(app.failed_attempts(&email).await, 0);

    wait_for_subject(&email, "Your password was changed").await;
    let notice = mails_to(&email).await;
    assert!(
        notice
            .iter()
            .any(|m| m.subject == "Your password was changed"),
        "the notice is mailed: {:?}",
        notice.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let stranger = browser();
    assert_ne!(
        location(&app.sign_in(&stranger, &email, PASSWORD).await),
        paths::HOME,
        "the old password no longer signs in"
    );
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::HOME,
    );
}

#[tokio::test]
async fn the_keys_a_person_created_are_listed_on_their_security_page() {
    let app = TestApp::spawn().await;
    let owner = app.owner("keys").await;
    let key = app
        .create_key(&owner, serde_json::json!({"name": "deploy bot"}))
        .await;
    let page = app.page(&owner.browser, paths::SECURITY).await;
    let hint = key["hint"]
        .as_str()
        .or(key["key_hint"].as_str())
        .unwrap_or_default();
    assert!(page.contains("deploy bot"), "{page}");
    assert!(
        !hint.is_empty() && page.contains(hint),
        "the key's hint {hint:?} is shown:\n{page}"
    );
    assert!(
        !page.contains(key["key"].as_str().unwrap()),
        "never the key itself"
    );
}

#[tokio::test]
async fn an_email_changes_when_the_link_sent_to_the_new_address_is_used() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("mover").await;
    let new_email = unique_email("moved");
    let browser_now = signed_in_as(&app, &email, FIREFOX_LINUX).await;
    let page = app.page(&browser_now, paths::SECURITY).await;
    assert!(
        page.contains(&format!("href=\"{}\"", paths::SECURITY_EMAIL)),
        "{page}"
    );
    assert!(app
        .page(&browser_now, paths::SECURITY_EMAIL)
        .await
        .contains("autocomplete=\"current-password\""));

    let res = app
        .post(
            &browser_now,
            fns::REQUEST_EMAIL_CHANGE,
            &[("new_email", &new_email), ("current_password", "wrong one")],
        )
        .await;
    assert_redirect(&res, paths::SECURITY_EMAIL);
    let page = app.page(&browser_now, paths::SECURITY_EMAIL).await;
    assert!(
        page.contains("That is not your current password."),
        "{page}"
    );
    assert!(page.contains(&new_email), "what was typed is kept:\n{page}");

    let res = app
        .post(
            &browser_now,
            fns::REQUEST_EMAIL_CHANGE,
            &[("new_email", &new_email), ("current_password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    let link_mail = wait_for_mail(&new_email, 1).await.remove(0);
    assert_eq!(link_mail.subject, "Confirm your new email address");
    // Nothing changed yet: the old address still signs in.
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );

    // The new mailbox's holder opens the link in another browser, signed out.
    let mailbox = browser();
    let res = app
        .follow_link(
            &mailbox,
            &link_mail.link(&paths::with_token(paths::EMAIL_CHANGE, "")),
            paths::EMAIL_CHANGE,
            fns::CONFIRM_EMAIL_CHANGE,
        )
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&mailbox, paths::SIGN_IN)
        .await
        .contains(&format!("Your email is now {new_email}")));

    wait_for_subject(&email, "Your email address was changed").await;
    let notices = mails_to(&email).await;
    assert!(
        notices
            .iter()
            .any(|m| m.subject == "Your email address was changed" && m.text.contains(&new_email)),
        "the old address is told"
    );
    assert_redirect(
        &app.sign_in(&browser(), &new_email, PASSWORD).await,
        paths::HOME,
    );
    assert_ne!(
        location(&app.sign_in(&browser(), &email, PASSWORD).await),
        paths::HOME,
        "the old address no longer signs in"
    );
    assert!(
        app.page(&browser_now, paths::SECURITY)
            .await
            .contains(&new_email),
        "the signed-in session follows the change"
    );
    // The link works once.
    let again = browser();
    let res = again
        .get(link_mail.link(&paths::with_token(paths::EMAIL_CHANGE, "")))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::EMAIL_CHANGE);
    assert!(app
        .page(&again, paths::EMAIL_CHANGE)
        .await
        .contains("This link is invalid, has expired or was already used."));
}

#[tokio::test]
async fn asking_for_an_address_that_has_an_account_answers_the_same_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("asker").await;
    let taken = app.confirmed_user("taken").await;
    let client = signed_in_as(&app, &email, FIREFOX_LINUX).await;
    let res = app
        .post(
            &client,
            fns::REQUEST_EMAIL_CHANGE,
            &[("new_email", &taken), ("current_password", PASSWORD)],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    assert!(app
        .page(&client, paths::SECURITY)
        .await
        .contains(&format!("We sent a link to {taken}")));
    let mails = wait_for_mail(&taken, 2).await;
    let notice = mails.last().unwrap();
    assert_eq!(notice.subject, "Someone tried to use your email address");
    assert!(!notice.text.contains("token="));
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
}
