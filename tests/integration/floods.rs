//! Floods: the doors that send mail are limited per client network before any work; a mailbox
//! gets one mail of a kind a minute however its address is spelt; one domain gets so many
//! confirmations an hour; one person sends so many invitations, and makes so many accounts, a
//! day, across every account they have.
use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};

use crate::helpers::*;

/// The server behind a trusted proxy (so tests can speak for many client IPs), with
/// `per_ip` requests an hour at each door.
async fn behind_proxy(per_ip: u32) -> TestApp {
    TestApp::spawn_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse::<IpAddr>().unwrap()];
        c.floods.requests_per_ip_per_hour = per_ip;
    })
    .await
}

/// A same-origin form post from `client_ip`, as the proxy forwards it.
async fn post_from(
    app: &TestApp,
    client: &Client,
    client_ip: &str,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(app.url(path))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("x-forwarded-for", client_ip)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn assert_too_many(res: Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After: {retry}");
    let page = res.text().await.unwrap();
    assert!(page.contains("Too many requests"), "{page}");
}

#[tokio::test]
async fn sign_up_is_limited_per_client_network_before_any_work() {
    let app = behind_proxy(3).await;
    let client = browser();
    let mut admitted = Vec::new();
    for _ in 0..3 {
        let email = unique_email("flood");
        let res = post_from(
            &app,
            &client,
            "203.0.113.7",
            fns::SIGN_UP,
            &[("email", &email)],
        )
        .await;
        assert_redirect(&res, paths::CHECK_EMAIL);
        admitted.push(email);
    }
    let refused = unique_email("refused");
    let res = post_from(
        &app,
        &client,
        "203.0.113.7",
        fns::SIGN_UP,
        &[("email", &refused)],
    )
    .await;
    assert_too_many(res).await;
    for email in &admitted {
        wait_for_mail(email, 1).await;
    }
    // The refused request never reached the flow: no pending sign-up, no task after it.
    assert_eq!(app.world.tally().await.pending_sign_ups, 3);

    // Another client is not affected; IPv6 clients are counted per /64.
    let other = unique_email("other");
    let res = post_from(
        &app,
        &client,
        "198.51.100.1",
        fns::SIGN_UP,
        &[("email", &other)],
    )
    .await;
    assert_redirect(&res, paths::CHECK_EMAIL);
    for i in 1..=3 {
        let res = post_from(
            &app,
            &client,
            &format!("2001:db8:1:2::{i}"),
            fns::SIGN_UP,
            &[("email", &unique_email("v6"))],
        )
        .await;
        assert_redirect(&res, paths::CHECK_EMAIL);
    }
    let res = post_from(
        &app,
        &client,
        "2001:db8:1:2:ffff::9",
        fns::SIGN_UP,
        &[("email", &unique_email("v6"))],
    )
    .await;
    assert_too_many(res).await;
    let res = post_from(
        &app,
        &client,
        "2001:db8:1:3::1",
        fns::SIGN_UP,
        &[("email", &unique_email("v6"))],
    )
    .await;
    assert_redirect(&res, paths::CHECK_EMAIL);

    // The budget is an hour's.
    app.clock.advance(Duration::from_secs(3601));
    let res = post_from(
        &app,
        &client,
        "203.0.113.7",
        fns::SIGN_UP,
        &[("email", &unique_email("later"))],
    )
    .await;
    assert_redirect(&res, paths::CHECK_EMAIL);
}

#[tokio::test]
async fn resend_forgot_and_unlock_are_limited_per_client_network() {
    let app = behind_proxy(2).await;
    let email = unique_email("someone");
    for (path, form, next) in [
        (
            fns::RESEND_CONFIRMATION,
            vec![("email", email.as_str())],
            paths::CHECK_EMAIL,
        ),
        (
            fns::FORGOT_PASSWORD,
            vec![("email", email.as_str())],
            paths::FORGOT_SENT,
        ),
        (fns::UNLOCK_ACCOUNT, vec![], paths::UNLOCK),
    ] {
        for _ in 0..2 {
            // A fresh browser each time: nothing the session remembers is what refuses.
            let res = post_from(&app, &browser(), "203.0.113.50", path, &form).await;
            assert_redirect(&res, next);
        }
        let res = post_from(&app, &browser(), "203.0.113.50", path, &form).await;
        assert_too_many(res).await;
        // Each door has its own budget, and the client next door has its own.
        let res = post_from(&app, &browser(), "203.0.113.51", path, &form).await;
        assert_redirect(&res, next);
    }
}

/// `victim+1@…`, `victim+2@…` and `victim@…` are one mailbox: one confirmation a minute
/// reaches it, however many sign-ups name it.
#[tokio::test]
async fn sub_addresses_share_the_mailbox_slot() {
    let app = TestApp::spawn().await;
    let victim = format!("victim-{}", uuid::Uuid::now_v7().simple());
    let mut addresses = vec![format!("{victim}@example.com")];
    addresses.extend((1..=8).map(|i| format!("{victim}+{i}@example.com")));
    for address in &addresses {
        app.sign_up(&browser(), address).await;
    }
    // Stopping waits for the work done after each answer and for the mail queue.
    app.stop().await;
    let mut delivered = 0;
    for address in &addresses {
        delivered += mails_to(address).await.len();
    }
    assert_eq!(delivered, 1, "one mail reached the mailbox");
}

/// Confirmation mails to one domain are capped per hour (the sign-ups still answer alike).
#[tokio::test]
async fn confirmation_mails_to_one_domain_are_capped_per_hour() {
    let app = TestApp::spawn_with(|c| c.floods.confirm_mails_per_domain_per_hour = 2).await;
    let domain = format!("d{}.example", uuid::Uuid::now_v7().simple());
    let addresses: Vec<String> = (0..4).map(|i| format!("person{i}@{domain}")).collect();
    for address in &addresses {
        app.sign_up(&browser(), address).await;
    }
    app.stop().await;
    let mut delivered = 0;
    for address in &addresses {
        delivered += mails_to(address).await.len();
    }
    assert_eq!(delivered, 2);
}

async fn create_account(app: &TestApp, owner: &Owner, name: &str) -> Response {
    app.post(&owner.browser, fns::CREATE_ACCOUNT, &[("name", name)])
        .await
}

async fn invite_api(app: &TestApp, owner: &Owner, email: &str) -> Response {
    owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"email": email, "role": "member"}))
        .send()
        .await
        .unwrap()
}

/// The review's relay: three accounts, each with its own daily allowance. The allowance is
/// the person's, across all of them.
#[tokio::test]
async fn invitations_are_capped_per_person_across_their_accounts() {
    let app = TestApp::spawn_with(|c| c.floods.invitations_per_person_per_day = 3).await;
    let owner = app.owner("relay").await;
    assert_eq!(
        invite_api(&app, &owner, &unique_email("one"))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_redirect(&create_account(&app, &owner, "Spam 2").await, paths::HOME);
    for name in ["two", "three"] {
        assert_eq!(
            invite_api(&app, &owner, &unique_email(name)).await.status(),
            StatusCode::CREATED
        );
    }
    assert_redirect(&create_account(&app, &owner, "Spam 3").await, paths::HOME);
    let err = assert_api_error(
        invite_api(&app, &owner, &unique_email("four")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("invitation_limit_reached"),
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("You have sent"));
    assert_eq!(app.world.tally().await.invitations, 3);
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(
        invite_api(&app, &owner, &unique_email("tomorrow"))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn creating_accounts_is_capped_per_person_per_day() {
    let app = TestApp::spawn_with(|c| c.floods.accounts_per_person_per_day = 2).await;
    let owner = app.owner("maker").await;
    for name in ["Second", "Third"] {
        assert_redirect(&create_account(&app, &owner, name).await, paths::HOME);
    }
    assert_redirect(
        &create_account(&app, &owner, "Fourth").await,
        paths::ACCOUNTS,
    );
    let page = app.page(&owner.browser, paths::ACCOUNTS).await;
    assert!(
        page.contains("You have created as many accounts as you may today"),
        "{page}"
    );
    assert!(page.contains("value=\"Fourth\""), "what was typed is kept");
    assert_eq!(app.world.tally().await.accounts, 3);
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_redirect(&create_account(&app, &owner, "Fourth").await, paths::HOME);
}

/// The account's name is the creator's text: never in the subject, quoted beside the
/// inviter's address in the body.
#[tokio::test]
async fn an_invitation_quotes_the_account_name_beside_the_inviter_and_keeps_it_out_of_the_subject()
{
    let app = TestApp::spawn().await;
    let owner_email = app.confirmed_user("phisher").await;
    let owner = Owner { browser: browser() };
    assert_redirect(
        &app.sign_in(&owner.browser, &owner_email, PASSWORD).await,
        paths::HOME,
    );
    let name = "Spam 2 visit http://phish.example/login";
    assert_redirect(&create_account(&app, &owner, name).await, paths::HOME);
    let invitee = unique_email("mark");
    assert_eq!(
        invite_api(&app, &owner, &invitee).await.status(),
        StatusCode::CREATED
    );
    let mail = wait_for_mail(&invitee, 1).await.remove(0);
    assert_eq!(
        mail.subject,
        "You are invited to an account on Terminus Hub"
    );
    assert!(
        mail.text.contains(&format!(
            "The account's name, as {owner_email} wrote it: \"{name}\""
        )),
        "{}",
        mail.text
    );
    assert!(
        mail.text.starts_with(&format!("{owner_email} invited you")),
        "{}",
        mail.text
    );
}
