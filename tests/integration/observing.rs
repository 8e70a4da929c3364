//! Watching it run, through the real binary: JSON log lines with one access line per request
//! (route template, never a query string), Prometheus metrics scraped over HTTP after real
//! traffic, and the server's limits against slow clients.
use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::helpers::*;
use crate::operating::{free_port, Binary};

#[tokio::test]
async fn json_logs_have_one_access_line_per_request_and_never_a_query_string() {
    let root = tempfile::tempdir().unwrap();
    let server = Binary::start(root.path(), &[("TERMINUS_LOG_FORMAT", "json")]).await;
    let client = browser();
    let mut expected = Vec::new();
    for (path, route, status) in [
        ("/healthz", "/healthz", 200),
        ("/confirm?token=Qx7hiddenQx7", paths::CONFIRM, 303),
        ("/sign-in?token=Qx7hiddenQx7", paths::SIGN_IN, 200),
        (
            "/api/v1/workspaces/ws_0000?token=Qx7hiddenQx7",
            "/api/v1/workspaces/{id}",
            401,
        ),
        ("/no/such/page?token=Qx7hiddenQx7", "unmatched", 404),
    ] {
        let res = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        expected.push((route, status, id));
    }
    let lines = server.stop().await;

    let mut access = Vec::new();
    for line in &lines {
        assert!(
            !line.contains("Qx7hidden"),
            "a query string or path leaked: {line}"
        );
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        if entry["target"] == "access" {
            access.push(entry["fields"].clone());
        }
    }
    assert_eq!(
        access.len(),
        expected.len(),
        "one access line per request: {access:?}"
    );
    for (route, status, id) in expected {
        let line = access
            .iter()
            .find(|f| f["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no access line for {route} ({id}): {access:?}"));
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["method"], "GET");
        assert_eq!(line["status"], status);
        assert_eq!(line["message"], "request");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
    }
}

#[tokio::test]
async fn text_logs_written_to_a_pipe_have_no_colour_codes() {
    let root = tempfile::tempdir().unwrap();
    let server = Binary::start(root.path(), &[]).await;
    reqwest::get(server.url("/healthz")).await.unwrap();
    let lines = server.stop().await;
    assert!(
        lines.iter().any(|l| l.contains("route=/healthz")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains('\x1b')), "{lines:?}");
}

/// The samples of a Prometheus text exposition: series (name and labels) → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_scraped_after_real_traffic_without_personal_data() {
    let root = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let smtp = smtp_url();
    let server = Binary::start(
        root.path(),
        &[
            ("TERMINUS_METRICS_ADDR", &metrics_addr),
            ("SMTP_URL", &smtp),
        ],
    )
    .await;

    // A sign-up (its mail goes out over SMTP), a wrong and a right password, API calls.
    let email = unique_email("metered");
    let client = browser();
    assert_redirect(
        &server
            .post(&client, fns::SIGN_UP, &[("email", &email)])
            .await,
        paths::CHECK_EMAIL,
    );
    let link = wait_for_mail(&email, 1)
        .await
        .remove(0)
        .link(&paths::with_token(paths::CONFIRM, ""));
    assert_redirect(&client.get(&link).send().await.unwrap(), paths::CONFIRM);
    assert_redirect(
        &server
            .post(&client, fns::CONFIRM_EMAIL, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    let sign_in = |password: &'static str| {
        let client = client.clone();
        let server = &server;
        let email = email.clone();
        async move {
            assert_redirect(
                &server
                    .post(&client, fns::SIGN_IN_EMAIL, &[("email", &email)])
                    .await,
                paths::SIGN_IN_PASSWORD,
            );
            server
                .post(
                    &client,
                    fns::SIGN_IN_PASSWORD,
                    &[("email", &email), ("password", password)],
                )
                .await
        }
    };
    assert_redirect(&sign_in("not the password").await, paths::SIGN_IN_PASSWORD);
    assert_redirect(&sign_in(PASSWORD).await, paths::HOME);
    let created: Value = client
        .post(server.url("/api/v1/api_keys"))
        .header("origin", &server.base)
        .json(&json!({"name": "metrics"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let api = |path: &str| {
        reqwest::Client::new()
            .request(Method::GET, server.url(path))
            .header("authorization", format!("Bearer {key}"))
            .send()
    };
    assert_eq!(
        api("/api/v1/workspaces").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        api("/api/v1/workspaces/ws_0000").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Not on the public port.
    assert_eq!(
        reqwest::get(server.url("/metrics")).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let res = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let s = samples(&text);
    let get = |series: &str| {
        *s.get(series)
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    assert_eq!(
        get(
            r#"terminus_http_requests_total{method="GET",route="/api/v1/workspaces",status="200"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"terminus_http_requests_total{method="GET",route="/api/v1/workspaces/{id}",status="404"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"terminus_http_requests_total{method="POST",route="/_fn/sign_up",status="303"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"terminus_http_request_duration_seconds_count{method="GET",route="/api/v1/workspaces",status="200"}"#
        ),
        1.0
    );
    assert!(
        get(
            r#"terminus_http_request_duration_seconds_sum{method="POST",route="/_fn/sign_in_password",status="303"}"#
        ) > 0.0
    );
    assert_eq!(
        get(
            r#"terminus_http_request_duration_seconds_bucket{method="GET",route="/api/v1/workspaces",status="200",le="+Inf"}"#
        ),
        1.0
    );
    assert!(
        text.contains(r#"le="0.001""#) && text.contains(r#"le="60""#),
        "the buckets set"
    );
    assert_eq!(get(r#"terminus_sign_ins_total{outcome="signed_in"}"#), 1.0);
    assert_eq!(
        get(r#"terminus_sign_ins_total{outcome="wrong_password_or_unknown"}"#),
        1.0
    );
    // Registered at zero at start, so alert rules see them before the first event.
    for outcome in ["locked", "sso_required", "throttled", "blocked"] {
        assert_eq!(
            get(&format!(
                r#"terminus_sign_ins_total{{outcome="{outcome}"}}"#
            )),
            0.0
        );
    }
    assert_eq!(get("terminus_lockouts_total"), 0.0);
    // Every series is described; the build is named.
    for (name, _) in s.iter() {
        let family = name.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| family.strip_suffix(suffix))
            .filter(|base| text.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(family);
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "no HELP for {family}:\n{text}"
        );
    }
    let build = format!(
        r#"terminus_build_info{{version="{}",commit="{}"}}"#,
        env!("CARGO_PKG_VERSION"),
        env!("TERMINUS_COMMIT")
    );
    assert_eq!(get(&build), 1.0, "{text}");
    assert!(get("process_resident_memory_bytes") > 0.0);
    assert!(get("process_open_fds") > 0.0);
    // Hashed: the sign-up's password and both sign-ins.
    assert!(get("terminus_password_hash_queue_wait_seconds_count") >= 3.0);
    assert_eq!(get(r#"terminus_mails_sent_total{transport="smtp"}"#), 1.0);
    assert_eq!(get(r#"terminus_mails_failed_total{transport="smtp"}"#), 0.0);
    assert!(get("terminus_db_pool_connections") >= 1.0);
    assert!(get("terminus_db_pool_idle_connections") >= 0.0);
    assert_eq!(get("terminus_db_pool_max_connections"), 10.0);

    // No label carries an email, a key, a token or an id.
    for series in s.keys() {
        let labels = series.split_once('{').map_or("", |(_, l)| l);
        for secret in [
            "@", "thub_", "token", "ws_0000", "acct_", "usr_", "key_", &email,
        ] {
            assert!(!labels.contains(secret), "{secret} in {series}");
        }
    }
    server.stop().await;
}

/// What happened on a connection, in the order it happened.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    /// The server closed a slow connection; `sent` bytes of its request had gone out.
    SlowClosed { sent: usize, answer: String },
    /// Another client got its answer.
    Answered(String),
}

/// Connects and sends `request` a byte a second (see [`slow_client_on`]).
async fn slow_client(base: String, request: Vec<u8>, events: mpsc::UnboundedSender<Event>) {
    let stream = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    slow_client_on(stream, request, events).await;
}

#[tokio::test]
async fn slow_clients_are_cut_off_while_others_are_served() {
    let root = tempfile::tempdir().unwrap();
    let server = Binary::start(
        root.path(),
        &[
            ("TERMINUS_HEADER_TIMEOUT_SECS", "2"),
            ("TERMINUS_REQUEST_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    let (events, mut seen) = mpsc::unbounded_channel();

    // Headers a byte a second: cut off after the header timeout, long before they end.
    let headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(60)
    );
    tokio::spawn(slow_client(
        server.base.clone(),
        headers.clone().into_bytes(),
        events.clone(),
    ));
    // Other clients are answered meanwhile.
    for _ in 0..3 {
        let res = reqwest::get(server.url("/healthz")).await.unwrap();
        events
            .send(Event::Answered(res.status().to_string()))
            .unwrap();
    }
    let mut order = Vec::new();
    while !matches!(order.last(), Some(Event::SlowClosed { .. })) {
        order.push(seen.recv().await.unwrap());
    }
    assert_eq!(
        order[..3],
        [
            Event::Answered("200 OK".into()),
            Event::Answered("200 OK".into()),
            Event::Answered("200 OK".into())
        ],
        "served while the slow client was still sending"
    );
    let Event::SlowClosed { sent, .. } = order[3] else {
        unreachable!()
    };
    assert!(
        sent < headers.len(),
        "closed after {sent} of {} bytes",
        headers.len()
    );

    // A whole head, then its body a byte a second: 408 after the request timeout.
    let origin = &server.base;
    let body = format!("email=slow%40example.com&password=x{}", "y".repeat(40));
    let mut request = format!(
        "POST /_fn/sign_up HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let head = request.len();
    request.extend_from_slice(body.as_bytes());
    let mut stream = TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(&request[..head]).await.unwrap();
    tokio::spawn(slow_client_on(
        stream,
        request[head..].to_vec(),
        events.clone(),
    ));
    let Some(Event::SlowClosed { sent, answer }) = seen.recv().await else {
        unreachable!()
    };
    assert_eq!(
        answer, "HTTP/1.1 408 Request Timeout",
        "after {sent} bytes of the body"
    );
    assert!(sent < body.len());
    let lines = server.stop().await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("route=/_fn/sign_up") && l.contains("status=408")),
        "the 408 has its access line"
    );
}

/// Sends `rest` a byte a second until the server closes the connection (or all of it is
/// sent); reports the close with the first line the server answered, if any.
async fn slow_client_on(
    mut stream: TcpStream,
    rest: Vec<u8>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut answer = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_secs(1)), if sent < rest.len() => {
                if stream.write_all(&rest[sent..=sent]).await.is_err() {
                    break;
                }
                sent += 1;
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let _ = events.send(Event::SlowClosed { sent, answer });
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let root = tempfile::tempdir().unwrap();
    let server = Binary::start(
        root.path(),
        &[
            ("TERMINUS_MAX_CONNECTIONS", "2"),
            ("TERMINUS_HEADER_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    let (events, mut seen) = mpsc::unbounded_channel();
    let request =
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".to_vec();
    // Two slow clients take both connections (connected one after the other, so the
    // server accepts them first)...
    for _ in 0..2 {
        let stream = TcpStream::connect(server.base.trim_start_matches("http://"))
            .await
            .unwrap();
        tokio::spawn(slow_client_on(stream, request.clone(), events.clone()));
    }
    // ...so a third is answered only once the server has closed one of them.
    let third = {
        let events = events.clone();
        let url = server.url("/healthz");
        tokio::spawn(async move {
            let res = reqwest::get(url).await.unwrap();
            events
                .send(Event::Answered(res.status().to_string()))
                .unwrap();
        })
    };
    third.await.unwrap();
    let first = seen.recv().await.unwrap();
    assert!(
        matches!(first, Event::SlowClosed { .. }),
        "a slow connection was closed before the third client was served: {first:?}"
    );
    server.stop().await;
}

/// Colours only on a terminal: the same command under a pseudo-terminal (`script`, from
/// util-linux) has them, unless `NO_COLOR` is set.
#[test]
fn log_colours_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("terminus.db").display());
    let run = |terminal: bool, no_color: bool| {
        let bin = env!("CARGO_BIN_EXE_terminus-hub");
        let mut command = if terminal {
            let mut c = std::process::Command::new("script");
            c.args(["-q", "-e", "-c", &format!("{bin} migrate"), "/dev/null"]);
            c
        } else {
            let mut c = std::process::Command::new(bin);
            c.arg("migrate");
            c
        };
        command
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("TERMINUS_LOG_FORMAT");
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.output().expect("run terminus-hub");
        assert!(out.status.success(), "{out:?}");
        // Under `script` the terminal's output arrives on stdout; otherwise the log is stderr.
        let log =
            String::from_utf8_lossy(if terminal { &out.stdout } else { &out.stderr }).into_owned();
        assert!(log.contains("database is up to date"), "{log}");
        log
    };
    assert!(run(true, false).contains("\x1b["), "colours on a terminal");
    assert!(!run(true, true).contains('\x1b'), "NO_COLOR turns them off");
    assert!(!run(false, false).contains('\x1b'), "none into a pipe");
}

/// The security events a JSON log carries (failed sign-ins, the lockout, the operator's
/// commands) name the user by id with the client's IP, never by email; access lines carry
/// the client's IP and user agent; the configuration is logged at start as fields, secrets
/// redacted; the lockout is counted.
#[tokio::test]
async fn security_events_name_the_user_by_id_and_the_client_by_ip() {
    let root = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let settings = [
        ("TERMINUS_LOG_FORMAT", "json"),
        ("TERMINUS_METRICS_ADDR", metrics_addr.as_str()),
        (
            "TERMINUS_SECRET_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ];
    let server = Binary::start(root.path(), &settings).await;
    let email = unique_email("evented");
    let cli = [
        ("TERMINUS_PUBLIC_URL", server.base.as_str()),
        (
            "TERMINUS_SECRET_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ];
    let created =
        crate::operating::run_cli(root.path(), &cli, &["admin", "user", "create", &email]);
    assert!(created.ok, "{}", created.stderr);
    let user_id = created
        .stdout
        .split(['(', ')'])
        .find(|w| w.starts_with("usr_"))
        .unwrap()
        .to_owned();
    let client = reqwest::Client::builder()
        .user_agent("EventTest/1.0 (\"quoted\")")
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    for _ in 0..6 {
        server
            .post(
                &client,
                fns::SIGN_IN_PASSWORD,
                &[("email", &email), ("password", "wrong wrong wrong")],
            )
            .await;
    }
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = samples(&text);
    assert_eq!(s["terminus_lockouts_total"], 1.0, "{text}");
    assert_eq!(
        s[r#"terminus_sign_ins_total{outcome="wrong_password_or_unknown"}"#],
        5.0
    );
    assert_eq!(s[r#"terminus_sign_ins_total{outcome="locked"}"#], 1.0);
    // The mailed unlock link, from the outbox.
    let outbox = crate::operating::run_cli(root.path(), &cli, &["outbox"]);
    let unlock_link = outbox
        .stdout
        .split_whitespace()
        .find(|w| w.contains("/unlock?token="))
        .unwrap_or_else(|| panic!("no unlock link in:\n{}", outbox.stdout))
        .to_owned();
    client.get(&unlock_link).send().await.unwrap();
    assert_redirect(
        &server.post(&client, fns::UNLOCK_ACCOUNT, &[]).await,
        paths::SIGN_IN,
    );
    // A reset link the operator printed, used in the browser.
    let reset =
        crate::operating::run_cli(root.path(), &cli, &["admin", "user", "reset-link", &email]);
    let reset_link = reset
        .stdout
        .split_whitespace()
        .find(|w| w.contains("/reset?token="))
        .unwrap()
        .to_owned();
    client.get(&reset_link).send().await.unwrap();
    assert_redirect(
        &server
            .post(
                &client,
                fns::RESET_PASSWORD,
                &[("password", "quiet harbour lantern")],
            )
            .await,
        paths::SIGN_IN,
    );
    let unlocked =
        crate::operating::run_cli(root.path(), &cli, &["admin", "user", "unlock", &email]);
    assert!(unlocked.ok, "{}", unlocked.stderr);
    assert!(
        unlocked.stdout.contains("was not locked"),
        "{}",
        unlocked.stdout
    );
    assert!(
        reset.stderr.contains("admin.command"),
        "the command's own security line: {}",
        reset.stderr
    );
    assert!(!reset.stderr.contains(&email), "{}", reset.stderr);
    let lines = server.stop().await;

    let entries: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let events = |name: &str| -> Vec<&Value> {
        entries
            .iter()
            .filter(|e| e["fields"]["event"] == name)
            .map(|e| &e["fields"])
            .collect()
    };
    let failed = events("sign_in.failed");
    assert_eq!(failed.len(), 6, "{lines:?}");
    assert!(failed
        .iter()
        .all(|f| f["user_id"] == user_id.as_str() && f["client_ip"] == "127.0.0.1"));
    assert_eq!(failed.iter().filter(|f| f["reason"] == "locked").count(), 1);
    for event in ["user.unlocked", "user.password_reset"] {
        let found = events(event);
        assert_eq!(found.len(), 1, "{event}: {lines:?}");
        assert_eq!(found[0]["user_id"], user_id.as_str());
        assert_eq!(found[0]["client_ip"], "127.0.0.1");
    }
    let locked = events("user.locked");
    assert_eq!(locked.len(), 1, "{lines:?}");
    assert_eq!(locked[0]["user_id"], user_id.as_str());
    assert_eq!(locked[0]["client_ip"], "127.0.0.1");
    for line in &lines {
        assert!(!line.contains(&email), "an email in the log: {line}");
        assert!(
            !line.contains("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
            "{line}"
        );
    }
    let access: Vec<&Value> = entries
        .iter()
        .filter(|e| e["target"] == "access" && e["fields"]["route"] == "/_fn/sign_in_password")
        .map(|e| &e["fields"])
        .collect();
    assert_eq!(access.len(), 6);
    assert_eq!(access[0]["client_ip"], "127.0.0.1");
    assert_eq!(access[0]["user_agent"], "EventTest/1.0 (\"quoted\")");
    let configuration: Vec<&Value> = entries
        .iter()
        .filter(|e| e["fields"]["message"] == "configuration")
        .map(|e| &e["fields"])
        .collect();
    assert!(configuration.iter().any(
        |f| f["setting"] == "secret_key" && f["value"].as_str().unwrap().contains("[redacted]")
    ));
    assert!(configuration.iter().any(|f| f["setting"] == "addr"));
}
