//! Every error keeps its shape: under `/api/v1` the JSON envelope with `x-request-id`,
//! elsewhere an HTML page; and the request id a client sends is used only when it is short
//! and plain.
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn api_errors_are_always_the_envelope() {
    let app = TestApp::spawn().await;
    let owner = app.owner("shapes").await;
    let key = app.full_key(&owner).await;

    // A path id that does not decode to UTF-8.
    let res = app
        .api(Method::GET, "/workspaces/%FF", &key)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("invalid_request"),
    )
    .await;

    // The API's root, with and without the slash, for a key and for nobody.
    for path in ["/api/v1", "/api/v1/"] {
        let res = reqwest::Client::new()
            .get(app.url(path))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert_api_error(
            res,
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("route_not_found"),
        )
        .await;
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_api_error(
            res,
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("route_not_found"),
        )
        .await;
    }

    // Two Authorization headers are refused, not guessed between.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/workspaces"))
        .header("authorization", format!("Bearer {key}"))
        .header("authorization", "Bearer thub_someone_else")
        .send()
        .await
        .unwrap();
    let error = assert_api_error(
        res,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("duplicate_authorization_header"),
    )
    .await;
    assert_eq!(error["param"], "Authorization");
}

#[tokio::test]
async fn the_cross_site_check_answers_the_api_in_its_envelope_and_skips_bearer_keys() {
    let app = TestApp::spawn().await;
    let owner = app.owner("csrf").await;
    let key = app.full_key(&owner).await;

    // A session request from another site: refused, in the envelope.
    let res = owner
        .browser
        .post(app.url("/api/v1/api_keys"))
        .header("origin", "https://evil.example")
        .json(&json!({"name": "stolen"}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("cross_site_request"),
    )
    .await;
    // Without any Origin or Referer, a session request is refused the same way.
    let res = owner
        .browser
        .delete(app.url("/api/v1/api_keys/key_whatever"))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("cross_site_request"),
    )
    .await;

    // A bearer-key request is not a session request, even when the script's cookie jar
    // sends the session cookie along: no cross-site check at all.
    let res = owner
        .browser
        .post(app.url("/api/v1/workspaces"))
        .header("authorization", format!("Bearer {key}"))
        .header("origin", "https://elsewhere.example")
        .json(&json!({"name": "from a script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // The web app's forms keep their HTML refusal.
    let res = owner
        .browser
        .post(app.url(fns::SIGN_OUT))
        .header("origin", "https://evil.example")
        .header("accept", "text/html")
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Request refused"));
    assert_eq!(
        app.get(&owner.browser, paths::HOME).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn oversized_requests_get_414_and_431_in_the_right_shape() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(17 * 1024);
    let big_header = "y".repeat(17 * 1024);

    let res = reqwest::get(app.url(&format!("/api/v1/workspaces?q={long}")))
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::URI_TOO_LONG,
        "invalid_request_error",
        Some("uri_too_long"),
    )
    .await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/workspaces"))
        .header("x-filler", &big_header)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "invalid_request_error",
        Some("headers_too_large"),
    )
    .await;

    for res in [
        reqwest::get(app.url(&format!("/sign-in?q={long}")))
            .await
            .unwrap(),
        reqwest::Client::new()
            .get(app.url(paths::SIGN_IN))
            .header("x-filler", &big_header)
            .send()
            .await
            .unwrap(),
    ] {
        assert!(matches!(
            res.status(),
            StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        ));
        assert!(res.headers().contains_key("x-request-id"));
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res.text().await.unwrap().contains("Request refused"));
    }

    // Beyond hyper's own limit (64 KiB of URL) hyper answers before any of our code runs:
    // a bare 414 without a body (documented in the README); the server keeps serving.
    let request = format!(
        "GET /api/v1/workspaces?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "z".repeat(70_000)
    );
    let (head, body) = raw_http(&app.base, request.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 414"), "{head}");
    assert_eq!(body, "", "hyper's own answer has no body");
    // So do its refusals of a negative or a repeated, differing Content-Length: 400, no body.
    for lengths in [
        "Content-Length: -1\r\n",
        "Content-Length: 1\r\nContent-Length: 2\r\n",
    ] {
        let request = format!(
            "POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\n{lengths}Connection: close\r\n\r\nxx"
        );
        let (head, body) = raw_http(&app.base, request.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{lengths}: {head}");
        assert_eq!(body, "");
    }
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_request_id_is_used_only_when_short_and_plain() {
    let app = TestApp::spawn().await;
    let echo = |id: &str| {
        let app = &app;
        let id = id.to_owned();
        async move {
            let res = reqwest::Client::new()
                .get(app.url("/healthz"))
                .header("x-request-id", id)
                .send()
                .await
                .unwrap();
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(echo("trace-42.a:b_c").await, "trace-42.a:b_c");
    let max = "a".repeat(64);
    assert_eq!(echo(&max).await, max);
    for bad in ["a".repeat(65), "x".repeat(8 * 1024), "has space".into()] {
        let got = echo(&bad).await;
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "a new UUID, got {got}");
    }

    // Bytes outside ASCII, and two ids at once: a new one.
    let (head, _) = raw_http(
        &app.base,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: caf\xc3\xa9\r\nConnection: close\r\n\r\n",
    )
    .await;
    let got = header(&head, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(got).is_ok(), "{head}");
    let (head, _) = raw_http(
        &app.base,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: one\r\nx-request-id: two\r\nConnection: close\r\n\r\n",
    )
    .await;
    let got = header(&head, "x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(got).is_ok(), "{head}");
}

#[tokio::test]
async fn record_data_comes_back_exactly_as_sent() {
    let app = TestApp::spawn().await;
    let owner = app.owner("exact").await;
    let key = app.full_key(&owner).await;
    let ws: Value = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws = ws["data"][0]["id"].as_str().unwrap().to_owned();
    let sent = r#"{"m":12345678901234567890123,"z":-0,"d":0.1000000000000000055511151231257827,"b":1,"a":2}"#;
    let send = |method: Method, path: String, body: String| {
        app.api(method, &path, &key)
            .header("content-type", "application/json")
            .body(body)
    };

    let res = send(
        Method::POST,
        "/records".into(),
        format!(r#"{{"workspace_id":"{ws}","data":{sent}}}"#),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let text = res.text().await.unwrap();
    assert!(text.contains(&format!(r#""data":{sent}"#)), "POST: {text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let read = |path: String| {
        let app = &app;
        let key = &key;
        async move {
            let res = app.api(Method::GET, &path, key).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let text = read(format!("/records/{id}")).await;
    assert!(text.contains(&format!(r#""data":{sent}"#)), "GET: {text}");
    let text = read(format!("/records?workspace_id={ws}")).await;
    assert!(text.contains(&format!(r#""data":{sent}"#)), "list: {text}");

    let changed =
        r#"{"big":-98765432109876543210987654321,"tiny":1e-400,"order":{"z":0,"a":[1.50,-0.0]}}"#;
    let res = send(
        Method::PATCH,
        format!("/records/{id}"),
        format!(r#"{{"data":{changed}}}"#),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(&format!(r#""data":{changed}"#)),
        "PATCH: {text}"
    );
    let text = read(format!("/records/{id}")).await;
    assert!(
        text.contains(&format!(r#""data":{changed}"#)),
        "GET: {text}"
    );
    let text = read(format!("/records?workspace_id={ws}")).await;
    assert!(
        text.contains(&format!(r#""data":{changed}"#)),
        "list: {text}"
    );

    // Numbers are kept as sent when they parse as JSON numbers within a 64-bit float's range
    // (digits beyond its precision included, as above); beyond it (1e400) the body is refused
    // as invalid JSON, as is `data` nested 127 levels deep or more (counting `data` itself).
    let nested = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    for refused in [
        r#"{"n":1e400}"#.to_owned(),
        r#"{"n":-1e400}"#.to_owned(),
        nested(127),
    ] {
        let res = send(
            Method::POST,
            "/records".into(),
            format!(r#"{{"workspace_id":"{ws}","data":{refused}}}"#),
        )
        .send()
        .await
        .unwrap();
        assert_api_error(
            res,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("invalid_json"),
        )
        .await;
    }
    for kept in [r#"{"n":1.7e308,"m":-1.7e308}"#.to_owned(), nested(126)] {
        let res = send(
            Method::POST,
            "/records".into(),
            format!(r#"{{"workspace_id":"{ws}","data":{kept}}}"#),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let text = res.text().await.unwrap();
        assert!(text.contains(&format!(r#""data":{kept}"#)), "{text}");
    }

    // Still validated: an object, at most 256 KiB.
    let res = send(
        Method::PATCH,
        format!("/records/{id}"),
        r#"{"data":[1,2]}"#.into(),
    )
    .send()
    .await
    .unwrap();
    assert_api_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid"),
    )
    .await;
    let too_big = format!(r#"{{"data":{{"s":"{}"}}}}"#, "a".repeat(256 * 1024));
    let res = send(Method::PATCH, format!("/records/{id}"), too_big)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        Some("record_too_large"),
    )
    .await;
}

/// An HTML error page: `status`, `x-request-id`, and that id and `says` in the page.
async fn assert_error_page(res: reqwest::Response, status: StatusCode, says: &str) {
    assert_eq!(res.status(), status, "{says}");
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{status}: {content_type}"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains(says), "{status}: {html}");
    assert!(
        html.contains(&id),
        "{status}: the page shows its request id {id}:\n{html}"
    );
}

/// A chunked form post of `total` bytes (no `Content-Length`), written while the answer is
/// read; returns the answer's head and body.
async fn chunked_post(base: &str, path: &str, total: usize) -> (String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: {base}\r\nAccept: text/html\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
        write.write_all(head.as_bytes()).await?;
        write.write_all(b"a\r\npassword=a\r\n").await?;
        for _ in 0..total / (64 * 1024) {
            write.write_all(chunk.as_bytes()).await?;
        }
        write.write_all(b"0\r\n\r\n").await
    });
    // The server may answer (and close) before reading it all: read until it closes.
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let _ = writer.await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_owned(), body.to_owned())
}

/// Every error a browser can meet is an HTML page with the request id: forms over the 2 MiB
/// limit (with a `Content-Length`, and chunked without one, which a server function used to
/// answer with its 400 "unreadable form" page), and axum's own plain-text refusals on the API
/// keys page (a repeated field: 422; a wrong content type: 415; too large: 413).
#[tokio::test]
async fn browser_errors_are_html_pages_with_the_request_id() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pages").await;
    let big = "p".repeat(3 * 1024 * 1024);

    let res = app
        .post(
            &browser(),
            fns::SIGN_UP,
            &[("email", "big@example.com"), ("password", &big)],
        )
        .await;
    assert_error_page(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than the server accepts",
    )
    .await;

    let (head, body) = chunked_post(&app.base, fns::SIGN_UP, 3 * 1024 * 1024).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let id = header(&head, "x-request-id").expect("x-request-id");
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("text/html")),
        "{head}"
    );
    assert!(
        body.contains("larger than the server accepts") && body.contains(id),
        "{body}"
    );
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);

    let keys = |body: String, content_type: &'static str| {
        owner
            .browser
            .post(app.url(paths::API_KEYS))
            .header("origin", &app.base)
            .header("accept", "text/html")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let res = keys(
        "name=one&name=two&expires_on=&form_token=x".into(),
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();
    assert_error_page(res, StatusCode::UNPROCESSABLE_ENTITY, "sent more than once").await;
    let res = keys(r#"{"name":"json"}"#.into(), "application/json")
        .await
        .unwrap();
    assert_error_page(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "in a format the server does not read",
    )
    .await;
    let res = keys(format!("name={big}"), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_error_page(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than the server accepts",
    )
    .await;
    assert_eq!(app.world.tally().await.api_keys, 0);

    let res = app.get(&browser(), "/no/such/page").await;
    assert_error_page(
        res,
        StatusCode::NOT_FOUND,
        "There is no page at this address.",
    )
    .await;
    // The session still works: none of this broke it.
    assert_eq!(
        app.get(&owner.browser, paths::HOME).await.status(),
        StatusCode::OK
    );
}
