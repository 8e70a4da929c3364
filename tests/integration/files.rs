//! What the server keeps on disk and in its session table: the data directory is `0700`,
//! its files `0600` (database, WAL, shared memory, outbox mail, secret key), and the session
//! table holds no usable cookie value. The first test runs the real binary as an operator
//! would, with the default layout under one data directory and no SMTP server.
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Stdio;

use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::helpers::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Reads the server's log until a line contains `needle` (an event, not a sleep).
async fn wait_for_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    needle: &str,
) {
    let mut seen = Vec::new();
    loop {
        match lines.next_line().await.unwrap() {
            Some(line) if line.contains(needle) => return,
            Some(line) => seen.push(line),
            None => panic!("no {needle:?} in:\n{}", seen.join("\n")),
        }
    }
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_terminus-hub"))
        .arg("serve")
        .current_dir(root.path())
        .env("TERMINUS_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start terminus-hub");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    wait_for_line(&mut lines, "is listening on").await;

    let email = unique_email("private");
    let res = browser()
        .post(format!("{base}/_fn/sign_up"))
        .header("origin", &base)
        .form(&[("email", email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_for_line(&mut lines, "email written to the outbox").await;

    assert_eq!(mode(&data), 0o700, "data/");
    for file in [
        "terminus.db",
        "terminus.db-wal",
        "terminus.db-shm",
        "secret.key",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "data/{file}");
    }
    let outbox = data.join("outbox");
    assert_eq!(mode(&outbox), 0o700, "data/outbox/");
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(mode(&mails[0]), 0o600, "{}", mails[0].display());
    // Named by time (UTC), a sequence number, and what the mail is.
    let name = mails[0].file_name().unwrap().to_str().unwrap();
    assert!(
        name.ends_with("-0001-confirm-your-email-address.eml")
            && chrono::NaiveDateTime::parse_from_str(&name[..16], "%Y%m%dT%H%M%SZ").is_ok(),
        "{name}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_session_table_holds_no_usable_cookie_value() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("cookie").await;
    let res = app.sign_in(&browser(), &email, PASSWORD).await;
    let cookie = session_cookie(res.headers()).expect("a session cookie");
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id_hash, data FROM sessions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (id_hash, data) in &rows {
        assert!(!id_hash.contains(&cookie) && !data.contains(&cookie));
    }
    // What is stored is the SHA-256 of the id the cookie carries.
    use base64::Engine as _;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cookie)
        .expect("a base64 session id");
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(&id)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(rows.iter().any(|(h, _)| *h == digest));
    // A stolen row is no cookie: presenting the stored hash as a cookie opens nothing.
    let (stored, _) = &rows[0];
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = thief
        .get(app.url(paths::HOME))
        .header("cookie", format!("thub_session={stored}"))
        .send()
        .await
        .unwrap();
    assert_redirect(&res, paths::SIGN_IN);
}

#[tokio::test]
async fn a_secure_public_url_gets_strict_transport_security() {
    let app = TestApp::spawn_with(|c| {
        c.public_url = c
            .public_url
            .as_ref()
            .map(|u| u.replace("http://", "https://"));
    })
    .await;
    for path in ["/healthz", paths::SIGN_IN, "/api/v1/account"] {
        let res = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
    let plain = TestApp::spawn().await;
    let res = browser()
        .get(plain.url(paths::SIGN_IN))
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"));
}
