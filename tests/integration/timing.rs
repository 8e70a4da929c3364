//! Statistical checks that nothing a stranger can time tells accounts apart: sign-in, sign-up,
//! forgot-password and resend each take as long for an address with an account (or a pending
//! sign-up) as for one without.
use std::future::Future;
use std::time::{Duration, Instant};

use crate::helpers::*;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Times `attempt` for the two addresses, interleaved and alternating which goes first (so
/// background work — other processes, the database's housekeeping, mail sent after an
/// answer — hits both series alike), and asserts that, within a round, one address takes
/// less than 15 % of the typical time longer than the other (the median of the paired
/// differences).
async fn same_time<F, Fut>(what: &str, rounds: usize, known: &str, unknown: &str, attempt: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut pair = [(known, &mut known_times), (unknown, &mut unknown_times)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (email, times) in pair {
            let start = Instant::now();
            attempt(email.to_owned()).await;
            times.push(start.elapsed());
        }
    }
    if std::env::var("TIMING_DEBUG").is_ok() {
        eprintln!("{what}\nknown: {known_times:?}\nunknown: {unknown_times:?}");
    }
    // Each round times the two addresses back to back, so the difference within a round is
    // what the address changes, and load that comes and goes (other processes on the same
    // cores) shifts both alike: the median of those differences, against the median time,
    // is the leak. (The medians of the two series are printed too, for a reader.)
    let paired: Vec<f64> = known_times
        .iter()
        .zip(&unknown_times)
        .map(|(k, u)| k.as_secs_f64() - u.as_secs_f64())
        .collect();
    let leak = median_f64(paired);
    let all: Vec<Duration> = known_times.iter().chain(&unknown_times).copied().collect();
    let (k, u) = (median(known_times), median(unknown_times));
    let typical = median(all).as_secs_f64();
    let diff = leak.abs() / typical;
    assert!(
        diff < 0.15,
        "{what}: within a round, the known address takes {:+.1} % of the typical time longer (medians: known {k:?}, unknown {u:?})",
        leak / typical * 100.0
    );
}

fn median_f64(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::test]
async fn unknown_email_and_wrong_password_take_the_same_time() {
    let app = TestApp::spawn_alone().await;
    let known = app.confirmed_user("timed").await;
    let unknown = unique_email("absent");
    let client = browser();
    // 45 of each: 90 failures, under the per-IP limit of 100 in 15 minutes.
    same_time("sign-in", 45, &known, &unknown, |email| {
        let (app, client) = (&app, &client);
        async move {
            let res = app
                .sign_in_password(client, &email, "wrong password here")
                .await;
            assert_redirect(&res, paths::SIGN_IN_PASSWORD);
        }
    })
    .await;
}

#[tokio::test]
async fn sign_up_takes_as_long_for_a_taken_email_as_for_a_new_one() {
    let app = TestApp::spawn_alone().await;
    let taken = app.confirmed_user("taken").await;
    let fresh = unique_email("fresh");
    same_time("sign-up", 30, &taken, &fresh, |email| {
        let app = &app;
        async move {
            app.sign_up(&browser(), &email).await;
        }
    })
    .await;
}

#[tokio::test]
async fn forgot_password_takes_as_long_for_a_known_email_as_for_an_unknown_one() {
    let app = TestApp::spawn_alone().await;
    let known = app.confirmed_user("forgetful").await;
    let unknown = unique_email("stranger");
    let client = browser();
    same_time("forgot-password", 150, &known, &unknown, |email| {
        let (app, client) = (&app, &client);
        async move {
            let res = app
                .post(client, fns::FORGOT_PASSWORD, &[("email", &email)])
                .await;
            assert_redirect(&res, paths::FORGOT_SENT);
        }
    })
    .await;
}

#[tokio::test]
async fn resend_takes_as_long_for_a_pending_sign_up_as_for_an_unknown_email() {
    let app = TestApp::spawn_alone().await;
    let pending = unique_email("pending");
    app.sign_up(&browser(), &pending).await;
    wait_for_mail(&pending, 1).await;
    let unknown = unique_email("nobody");
    same_time("resend", 150, &pending, &unknown, |email| {
        let app = &app;
        async move {
            // A fresh browser each time: the page's own once-a-minute note is per session.
            let res = app
                .post(&browser(), fns::RESEND_CONFIRMATION, &[("email", &email)])
                .await;
            assert_redirect(&res, paths::CHECK_EMAIL);
        }
    })
    .await;
}
