//! Two-factor authentication through the real server: enrolment from the page (the test reads
//! the secret the page shows and computes codes with `totp-rs`, as an authenticator app does),
//! the second sign-in step, single use of codes, recovery codes, the shared lockout counter,
//! removal, the password reset door and the notices.
use std::time::Duration;

use app::domain::clock::Clock as _;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::*;

const GENERIC: &str = "That code did not work. Check it and try again.";
const NEW_PASSWORD: &str = "quiet harbour lantern";

/// What an authenticator app holds after scanning: the secret, and the codes shown once.
pub(crate) struct Enrolled {
    pub(crate) totp: TOTP,
    recovery_codes: Vec<String>,
}

/// The text inside the element with `id` (comment markers and tags dropped).
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</").unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in rest[open..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Every `XXXXX-XXXXX` recovery code on a page.
fn recovery_codes(html: &str) -> Vec<String> {
    let at = html.find("id=\"recovery-codes\"").expect("a list of codes");
    let list = &html[at..at + html[at..].find("</ol>").unwrap()];
    list.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.len() == 11 && w.as_bytes()[5] == b'-')
        .map(str::to_owned)
        .collect()
}

fn code_at(app: &TestApp, totp: &TOTP) -> String {
    totp.generate(u64::try_from(app.clock.now().millis() / 1000).unwrap())
}

/// A signed-in browser of a fresh user.
async fn signed_in(app: &TestApp, name: &str) -> (String, reqwest::Client) {
    let email = app.confirmed_user(name).await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    (email, client)
}

/// Enrols an authenticator app from the two-factor page, as a person would; the clock then
/// moves on a step (the confirming code is spent).
pub(crate) async fn enrol(app: &TestApp, client: &reqwest::Client) -> Enrolled {
    let security = app.page(client, paths::SECURITY).await;
    assert!(security.contains("Off: signing in takes your password only."));
    assert!(security.contains(&format!("href=\"{}\"", paths::SECURITY_TWO_FACTOR)));
    let page = app.page(client, paths::SECURITY_TWO_FACTOR).await;
    assert!(page.contains("<svg"), "a QR code:\n{page}");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("inputmode=\"numeric\""));
    let shown: String = text_of(&page, "totp-secret")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(shown.len(), 32, "160 bits in base32: {shown}");
    // The page shows the same secret until it is confirmed (a reload does not change it).
    let again = app.page(client, paths::SECURITY_TWO_FACTOR).await;
    assert_eq!(
        text_of(&again, "totp-secret")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
        shown
    );
    let bytes = Secret::Encoded(shown).to_bytes().unwrap();
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).unwrap();

    // A wrong code confirms nothing.
    let wrong = if code_at(app, &totp) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = app
        .post(
            client,
            paths::SECURITY_TWO_FACTOR,
            &[("action", "confirm"), ("code", wrong)],
        )
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    assert!(app
        .page(client, paths::SECURITY_TWO_FACTOR)
        .await
        .contains("That code is not the one your app shows now."));

    let res = app
        .post(
            client,
            paths::SECURITY_TWO_FACTOR,
            &[("action", "confirm"), ("code", &code_at(app, &totp))],
        )
        .await;
    assert_eq!(res.status(), 200);
    let shown = res.text().await.unwrap();
    let codes = recovery_codes(&shown);
    assert_eq!(codes.len(), 10, "{shown}");
    // Shown once: the page now only says how many are left.
    let page = app.page(client, paths::SECURITY_TWO_FACTOR).await;
    assert!(page.contains("10 of 10 recovery codes left"), "{page}");
    assert!(!page.contains(&codes[0]));
    app.clock.advance(Duration::from_secs(30));
    Enrolled {
        totp,
        recovery_codes: codes,
    }
}

/// The password step for a user with a second factor: to the second step, signed in nowhere.
async fn password_then_second_step(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let client = browser();
    let res = app.sign_in(&client, email, password).await;
    assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);
    assert_redirect(&app.get(&client, paths::HOME).await, paths::SIGN_IN);
    client
}

async fn send_code(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.post(client, fns::SIGN_IN_CODE, &[("code", code)]).await
}

async fn refused_with_the_one_message(
    app: &TestApp,
    client: &reqwest::Client,
    res: reqwest::Response,
) {
    assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);
    let page = app.page(client, paths::SIGN_IN_SECOND_FACTOR).await;
    assert!(page.contains(GENERIC), "{page}");
}

#[tokio::test]
async fn enrol_then_sign_in_with_a_code_which_works_once() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "totp").await;
    let enrolled = enrol(&app, &client).await;
    wait_for_subject(&email, "Two-factor authentication was turned on").await;
    assert!(app
        .page(&client, paths::SECURITY)
        .await
        .contains("On: an authenticator app, and 10 recovery codes left."));

    // A wrong password reads exactly as for anyone: nothing before it reveals the factor.
    let stranger = browser();
    let res = app.sign_in(&stranger, &email, "wrong wrong wrong").await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&stranger, paths::SIGN_IN_PASSWORD)
        .await
        .contains("Incorrect email or password."));

    // The password alone no longer signs in.
    let laptop = password_then_second_step(&app, &email, PASSWORD).await;
    let page = app.page(&laptop, paths::SIGN_IN_SECOND_FACTOR).await;
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("inputmode=\"numeric\""));
    let res = send_code(&app, &laptop, "12345").await;
    refused_with_the_one_message(&app, &laptop, res).await;

    let code = code_at(&app, &enrolled.totp);
    let res = send_code(&app, &laptop, &code).await;
    assert_redirect(&res, paths::HOME);
    assert_eq!(app.get(&laptop, paths::HOME).await.status(), 200);
    assert_eq!(
        app.failed_attempts(&email).await,
        0,
        "a completed sign-in resets"
    );

    // The same code, replayed in another browser after the right password, is refused.
    let phone = password_then_second_step(&app, &email, PASSWORD).await;
    let res = send_code(&app, &phone, &code).await;
    refused_with_the_one_message(&app, &phone, res).await;
    assert_redirect(&app.get(&phone, paths::HOME).await, paths::SIGN_IN);
    // The next step's code works.
    app.clock.advance(Duration::from_secs(30));
    let res = send_code(&app, &phone, &code_at(&app, &enrolled.totp)).await;
    assert_redirect(&res, paths::HOME);
}

#[tokio::test]
async fn two_concurrent_requests_with_one_code_sign_in_once() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "race").await;
    let enrolled = enrol(&app, &client).await;
    let a = password_then_second_step(&app, &email, PASSWORD).await;
    let b = password_then_second_step(&app, &email, PASSWORD).await;
    let code = code_at(&app, &enrolled.totp);
    let answers = collect_all([&a, &b].into_iter().map(|c| {
        let (app, code) = (&app, code.clone());
        async move { location(&send_code(app, c, &code).await) }
    }))
    .await;
    let homes = answers.iter().filter(|l| *l == paths::HOME).count();
    assert_eq!(homes, 1, "{answers:?}");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_says_how_many_are_left() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "recovery").await;
    let enrolled = enrol(&app, &client).await;
    let code = enrolled.recovery_codes[4].to_lowercase();

    let laptop = password_then_second_step(&app, &email, PASSWORD).await;
    let res = app
        .post(
            &laptop,
            fns::SIGN_IN_RECOVERY_CODE,
            &[("recovery_code", &code)],
        )
        .await;
    assert_redirect(&res, paths::HOME);
    assert!(app
        .page(&laptop, paths::HOME)
        .await
        .contains("You used a recovery code: 9 are left."));
    assert!(app
        .page(&laptop, paths::SECURITY_TWO_FACTOR)
        .await
        .contains("9 of 10 recovery codes left"));

    let phone = password_then_second_step(&app, &email, PASSWORD).await;
    let res = app
        .post(
            &phone,
            fns::SIGN_IN_RECOVERY_CODE,
            &[("recovery_code", &code)],
        )
        .await;
    assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);
    let page = app.page(&phone, paths::SIGN_IN_SECOND_FACTOR).await;
    assert!(
        page.contains(GENERIC),
        "the same message for a used recovery code"
    );
    assert_redirect(&app.get(&phone, paths::HOME).await, paths::SIGN_IN);
}

#[tokio::test]
async fn ten_concurrent_wrong_codes_get_at_most_five_guesses_then_the_lock() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "guesser").await;
    let enrolled = enrol(&app, &client).await;
    // The attacker knows the password: it counts as a guess until a sign-in completes.
    let attacker = password_then_second_step(&app, &email, PASSWORD).await;
    assert_eq!(app.failed_attempts(&email).await, 1);
    let right = code_at(&app, &enrolled.totp);
    let guesses = (0..10).map(|i| {
        let (app, attacker) = (&app, &attacker);
        let mut guess = format!("{:06}", 100_000 + i * 7919);
        if guess == right {
            guess = format!("{:06}", 999_999 - i);
        }
        async move {
            let res = send_code(app, attacker, &guess).await;
            assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);
        }
    });
    join_all(guesses).await;
    assert_eq!(
        app.failed_attempts(&email).await,
        5,
        "no more than 5 guesses"
    );

    // Locked: the right code gets the same message, and so does the password step.
    let res = send_code(&app, &attacker, &right).await;
    refused_with_the_one_message(&app, &attacker, res).await;
    let res = app.sign_in(&browser(), &email, PASSWORD).await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);

    // One unlock mail; after unlocking, password and code sign in.
    wait_for_subject(&email, "Your account has been locked").await;
    let mails = mails_to(&email).await;
    let unlock: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Your account has been locked")
        .collect();
    assert_eq!(unlock.len(), 1);
    let link = unlock[0].link(&paths::with_token(paths::UNLOCK, ""));
    let owner = browser();
    let res = app
        .follow_link(&owner, &link, paths::UNLOCK, fns::UNLOCK_ACCOUNT)
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    app.clock.advance(Duration::from_secs(30));
    let back = password_then_second_step(&app, &email, PASSWORD).await;
    let res = send_code(&app, &back, &code_at(&app, &enrolled.totp)).await;
    assert_redirect(&res, paths::HOME);
}

#[tokio::test]
async fn a_password_reset_still_needs_the_second_step() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "reset").await;
    let enrolled = enrol(&app, &client).await;
    let reset = browser();
    let res = app
        .post(&reset, fns::FORGOT_PASSWORD, &[("email", &email)])
        .await;
    assert_redirect(&res, paths::FORGOT_SENT);
    let mail = wait_for_subject(&email, "Reset your password").await;
    let res = reset
        .get(mail.link(&paths::with_token(paths::RESET, "")))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::RESET);
    let res = app
        .post(&reset, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert_redirect(&app.get(&reset, paths::HOME).await, paths::SIGN_IN);

    // The new password leads to the second step, not in.
    let after = password_then_second_step(&app, &email, NEW_PASSWORD).await;
    let res = send_code(&app, &after, &code_at(&app, &enrolled.totp)).await;
    assert_redirect(&res, paths::HOME);
}

#[tokio::test]
async fn a_second_step_left_waiting_expires() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "slow").await;
    let enrolled = enrol(&app, &client).await;
    let laptop = password_then_second_step(&app, &email, PASSWORD).await;
    app.clock.advance(Duration::from_secs(5 * 60));
    let res = send_code(&app, &laptop, &code_at(&app, &enrolled.totp)).await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app
        .page(&laptop, paths::SIGN_IN)
        .await
        .contains("Your sign-in took too long."));
    assert_redirect(&app.get(&laptop, paths::HOME).await, paths::SIGN_IN);
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_and_removal_needs_a_code() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "remover").await;
    let enrolled = enrol(&app, &client).await;

    // New recovery codes, shown once on the answer to the form.
    let page = app.page(&client, paths::SECURITY_TWO_FACTOR).await;
    let token_at = page.find("name=\"form_token\"").unwrap();
    let token = page[token_at..]
        .split("value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap()
        .to_owned();
    let form = [("action", "regenerate"), ("form_token", token.as_str())];
    let res = app.post(&client, paths::SECURITY_TWO_FACTOR, &form).await;
    assert_eq!(res.status(), 200);
    let fresh = recovery_codes(&res.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !enrolled.recovery_codes.contains(c)));
    // A reload makes nothing new.
    let res = app.post(&client, paths::SECURITY_TWO_FACTOR, &form).await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);

    let old = password_then_second_step(&app, &email, PASSWORD).await;
    let res = app
        .post(
            &old,
            fns::SIGN_IN_RECOVERY_CODE,
            &[("recovery_code", &enrolled.recovery_codes[0])],
        )
        .await;
    assert_redirect(&res, paths::SIGN_IN_SECOND_FACTOR);

    // Removing asks for a code: a wrong one is refused next to the field.
    let res = app
        .post(&client, fns::REMOVE_TWO_FACTOR, &[("code", "AAAAA-AAAAA")])
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    assert!(app
        .page(&client, paths::SECURITY_TWO_FACTOR)
        .await
        .contains("That code did not work. Enter a current code from your app"));
    let res = app
        .post(
            &client,
            fns::REMOVE_TWO_FACTOR,
            &[("code", &code_at(&app, &enrolled.totp))],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
    assert!(app
        .page(&client, paths::SECURITY)
        .await
        .contains("Two-factor authentication is off"));

    // The password alone signs in again.
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );

    // Each change was mailed.
    wait_for_subject(&email, "Your recovery codes were replaced").await;
    wait_for_subject(&email, "Two-factor authentication was turned off").await;
    let mails = mails_to(&email).await;
    for subject in [
        "Two-factor authentication was turned on",
        "Your recovery codes were replaced",
        "Two-factor authentication was turned off",
    ] {
        assert_eq!(
            mails.iter().filter(|m| m.subject == subject).count(),
            1,
            "{subject}: {:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn with_two_factor_on_confirming_it_is_you_takes_the_password_and_a_code() {
    let app = TestApp::spawn().await;
    let (email, client) = signed_in(&app, "sudo2fa").await;
    let enrolled = enrol(&app, &client).await;
    app.clock.advance(Duration::from_secs(10 * 60 + 1));

    // Removing the app with a stale sign-in goes to "Confirm it's you" first.
    let res = app
        .post(
            &client,
            fns::REMOVE_TWO_FACTOR,
            &[("code", &code_at(&app, &enrolled.totp))],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    let page = app.page(&client, paths::REAUTHENTICATE).await;
    assert!(page.contains("name=\"code\"") && page.contains("autocomplete=\"one-time-code\""));

    // The password alone is not enough; nor is a wrong code.
    let wrong = if code_at(&app, &enrolled.totp) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = app
        .post(&client, fns::REAUTHENTICATE, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    assert!(app
        .page(&client, paths::REAUTHENTICATE)
        .await
        .contains("field-code-error"));
    let res = app
        .post(
            &client,
            fns::REAUTHENTICATE,
            &[("password", PASSWORD), ("code", wrong)],
        )
        .await;
    assert_redirect(&res, paths::REAUTHENTICATE);
    assert!(
        app.failed_attempts(&email).await >= 1,
        "a wrong code is a guess"
    );

    let res = app
        .post(
            &client,
            fns::REAUTHENTICATE,
            &[
                ("password", PASSWORD),
                ("code", &code_at(&app, &enrolled.totp)),
            ],
        )
        .await;
    assert_redirect(&res, paths::SECURITY_TWO_FACTOR);
    assert_eq!(
        app.failed_attempts(&email).await,
        0,
        "a complete proof clears the count"
    );
    app.clock.advance(Duration::from_secs(30));
    let res = app
        .post(
            &client,
            fns::REMOVE_TWO_FACTOR,
            &[("code", &code_at(&app, &enrolled.totp))],
        )
        .await;
    assert_redirect(&res, paths::SECURITY);
}
