//! A statistical check that an unknown email costs as much as a wrong password.
use std::time::{Duration, Instant};

use crate::helpers::*;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

#[tokio::test]
async fn unknown_email_and_wrong_password_take_the_same_time() {
    let app = TestApp::spawn_alone().await;
    let known = app.confirmed_user("timed").await;
    let unknown = unique_email("absent");
    let client = browser();
    // Both go through the email step once, so each attempt below is one request.
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    // Interleaved, alternating which goes first, so background work (other processes, the
    // database's own housekeeping) hits both series alike.
    // 45 of each: 90 failures, under the per-IP limit of 100 in 15 minutes.
    for round in 0..45 {
        let mut pair = [(&known, &mut known_times), (&unknown, &mut unknown_times)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (email, times) in pair {
            let start = Instant::now();
            let res = app
                .sign_in_password(&client, email, "wrong password here")
                .await;
            times.push(start.elapsed());
            assert_redirect(&res, "/sign-in/password");
        }
    }
    if std::env::var("TIMING_DEBUG").is_ok() {
        eprintln!("known: {known_times:?}\nunknown: {unknown_times:?}");
    }
    let (k, u) = (median(known_times), median(unknown_times));
    let diff = (k.as_secs_f64() - u.as_secs_f64()).abs() / k.as_secs_f64().max(u.as_secs_f64());
    assert!(
        diff < 0.15,
        "medians differ by {:.1} %: known {k:?}, unknown {u:?}",
        diff * 100.0
    );
}
