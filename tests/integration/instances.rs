//! Several server processes on one database (as behind a load balancer): nothing that
//! decides security lives in one process's memory. Also concurrency on one instance.
use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// A `terminus-hub serve` process.
struct Instance {
    base: String,
    child: Child,
}

async fn start_instance(database_url: &str, dir: &std::path::Path) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_terminus-hub"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("TERMINUS_ADDR", format!("127.0.0.1:{port}"))
        .env("TERMINUS_PUBLIC_URL", &base)
        .env("SMTP_URL", smtp_url())
        .env("TERMINUS_OUTBOX_DIR", dir.join("outbox"))
        .env("TERMINUS_SECRET_KEY_FILE", dir.join("secret.key"))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start terminus-hub");
    // Ready when it says so (an event, not a sleep); if it dies first, show why.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next_line().await.unwrap() {
            Some(line) if line.contains("is listening on") => break,
            Some(line) => seen.push(line),
            None => panic!("terminus-hub exited before listening:\n{}", seen.join("\n")),
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance { base, child }
}

async fn post(
    client: &reqwest::Client,
    instance: &Instance,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}{path}", instance.base))
        .header("origin", &instance.base)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn sign_in(
    client: &reqwest::Client,
    at: &Instance,
    email: &str,
    password: &str,
) -> reqwest::Response {
    assert_redirect(
        &post(client, at, fns::SIGN_IN_EMAIL, &[("email", email)]).await,
        paths::SIGN_IN_PASSWORD,
    );
    post(
        client,
        at,
        fns::SIGN_IN_PASSWORD,
        &[("email", email), ("password", password)],
    )
    .await
}

#[tokio::test]
async fn two_instances_share_sessions_keys_lockouts_and_tokens() {
    // The in-process app migrates the database and serves as the test's helper for mail.
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let a = start_instance(&app.database_url, dir.path()).await;
    let b = start_instance(&app.database_url, dir.path()).await;

    // Concurrent sign-ups of one email, one on each instance: one pending sign-up, one link
    // (the per-recipient mail slot is shared), then exactly one user.
    let email = unique_email("twice");
    let (ca, cb) = (browser(), browser());
    let form = [("email", email.as_str())];
    let (ra, rb) = tokio::join!(
        post(&ca, &a, fns::SIGN_UP, &form),
        post(&cb, &b, fns::SIGN_UP, &form)
    );
    assert_redirect(&ra, paths::CHECK_EMAIL);
    assert_redirect(&rb, paths::CHECK_EMAIL);
    let mails = wait_for_mail(&email, 1).await;
    assert_eq!(app.world.tally().await.pending_sign_ups, 1);
    assert_eq!(app.world.tally().await.users, 0);
    let confirm = mails
        .iter()
        .find(|m| m.subject == "Confirm your email address")
        .unwrap();
    let res = ca
        .get(confirm.link(&paths::with_token(paths::CONFIRM, "")))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::CONFIRM);
    assert_redirect(
        &post(&ca, &a, fns::CONFIRM_EMAIL, &[("password", PASSWORD)]).await,
        paths::HOME,
    );

    // A session made on A works on B (cookies are per host, not per port).
    let client = browser();
    assert_redirect(&sign_in(&client, &a, &email, PASSWORD).await, paths::HOME);
    assert_eq!(
        client
            .get(format!("{}/home", b.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // A key created through A works on B; deleted through A, B refuses it at once.
    let res = client
        .post(format!("{}/api/v1/api_keys", a.base))
        .header("origin", &a.base)
        .json(&json!({"name": "shared"}))
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    let on_b = |key: &str| {
        reqwest::Client::new()
            .request(Method::GET, format!("{}/api/v1/workspaces", b.base))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(on_b(key).await.unwrap().status(), StatusCode::OK);
    let res = client
        .delete(format!(
            "{}/api/v1/api_keys/{}",
            a.base,
            created["id"].as_str().unwrap()
        ))
        .header("origin", &a.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_invalid_key(on_b(key).await.unwrap()).await;

    // A reset link used on A is dead on B.
    let reset_client = browser();
    assert_redirect(
        &post(
            &reset_client,
            &b,
            fns::FORGOT_PASSWORD,
            &[("email", &email)],
        )
        .await,
        paths::FORGOT_SENT,
    );
    let link = wait_for_subject(&email, "Reset your password")
        .await
        .link(&paths::with_token(paths::RESET, ""));
    let token = link.split("token=").nth(1).unwrap().to_owned();
    assert_redirect(
        &reset_client
            .get(format!("{}/reset?token={token}", a.base))
            .send()
            .await
            .unwrap(),
        paths::RESET,
    );
    assert_redirect(
        &post(
            &reset_client,
            &a,
            fns::RESET_PASSWORD,
            &[("password", "fresh lantern harbour")],
        )
        .await,
        paths::SIGN_IN,
    );
    let other = browser();
    assert_redirect(
        &other
            .get(format!("{}/reset?token={token}", b.base))
            .send()
            .await
            .unwrap(),
        paths::RESET,
    );
    assert_redirect(
        &post(
            &other,
            &b,
            fns::RESET_PASSWORD,
            &[("password", "another lantern")],
        )
        .await,
        paths::FORGOT,
    );

    // The reset ended the session on both instances.
    assert_redirect(
        &client.get(format!("{}/home", b.base)).send().await.unwrap(),
        paths::SIGN_IN,
    );

    // Five failures split across A and B lock the user everywhere.
    for (i, at) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        assert_redirect(
            &sign_in(&browser(), at, &email, &format!("wrong {i}")).await,
            paths::SIGN_IN_PASSWORD,
        );
    }
    assert_eq!(app.failed_attempts(&email).await, 5);
    assert_redirect(
        &sign_in(&browser(), &b, &email, "fresh lantern harbour").await,
        paths::SIGN_IN_PASSWORD,
    );
}

#[tokio::test]
async fn fifty_concurrent_sign_ups_and_api_writes_lose_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner("busy").await;
    let key = app.full_key(&owner).await;
    let ws: serde_json::Value = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws_id = ws["data"][0]["id"].as_str().unwrap().to_owned();

    let crowd: Vec<String> = (0..50)
        .map(|i| unique_email(&format!("crowd{i}")))
        .collect();
    let sign_ups = crowd.iter().map(|email| {
        let app = &app;
        async move {
            let res = app
                .post(&browser(), fns::SIGN_UP, &[("email", email.as_str())])
                .await;
            assert_redirect(&res, paths::CHECK_EMAIL);
        }
    });
    let writes = (0..50).map(|i| {
        let (app, key, ws_id) = (&app, &key, &ws_id);
        async move {
            let res = app
                .api(Method::POST, "/records", key)
                .json(&json!({"workspace_id": ws_id, "data": {"i": i}}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::CREATED,
                "{}",
                res.text().await.unwrap_or_default()
            );
        }
    });
    tokio::join!(join_all(sign_ups), join_all(writes));
    // Every sign-up is pending with its link in the mail; all fifty confirm at once.
    let confirms = crowd.iter().map(|email| {
        let app = &app;
        async move {
            let link = wait_for_mail(email, 1)
                .await
                .remove(0)
                .link(&paths::with_token(paths::CONFIRM, ""));
            let res = app.confirm_with(&browser(), &link, PASSWORD).await;
            assert_redirect(&res, paths::HOME);
        }
    });
    join_all(confirms).await;
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);
    assert_eq!(app.world.tally().await.users, 51);
    assert_eq!(app.world.tally().await.accounts, 51);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM workspaces WHERE name = 'Main'")
            .await,
        51
    );
    assert_eq!(app.world.tally().await.records, 50);
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut instance = start_instance(&app.database_url, dir.path()).await;
    let res = reqwest::get(format!("{}/healthz", instance.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let pid = instance.child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = instance.child.wait().await.unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the process with status 0, got {status}"
    );
    assert!(
        reqwest::get(format!("{}/healthz", instance.base))
            .await
            .is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn migrate_subcommand_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    for _ in 0..2 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_terminus-hub"))
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("database is up to date"));
    }
    let db = any_pool(&url).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(n, 0, "the schema exists");
}
