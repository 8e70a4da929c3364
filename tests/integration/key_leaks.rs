//! API keys after a leak and across instances (issue 25): rolling a key (REST and the keys
//! page), the public leak report `POST /credentials/revoke`, and usage per key.
use std::time::Duration;

use app::domain::api_keys;
use app::domain::clock::Clock as _;
use app::domain::ids::ApiKeyId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const REPORTED: &str = "An API key was reported as leaked and revoked";

/// The one-time token of a rendered form.
fn form_token(html: &str) -> String {
    let at = html
        .find("name=\"form_token\"")
        .unwrap_or_else(|| panic!("no form_token in:\n{html}"));
    let rest = &html[at..];
    let value = rest.find("value=\"").unwrap() + "value=\"".len();
    rest[value..].split('"').next().unwrap().to_owned()
}

async fn roll(app: &TestApp, owner: &Owner, id: &str, body: Value) -> reqwest::Response {
    owner
        .browser
        .post(app.url(&format!("/api/v1/api_keys/{id}/roll")))
        .header("origin", &app.base)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn keys(app: &TestApp, owner: &Owner) -> Vec<Value> {
    let list: Value = owner
        .browser
        .get(app.url("/api/v1/api_keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().clone()
}

async fn status(app: &TestApp, key: &str) -> StatusCode {
    app.api(Method::GET, "/records", key)
        .send()
        .await
        .unwrap()
        .status()
}

async fn report(app: &TestApp, credentials: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/credentials/revoke"))
        .json(&json!({ "credentials": credentials }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rolled_key_works_until_its_grace_ends_then_gets_the_exact_401() {
    let app = TestApp::spawn().await;
    let owner = app.owner("roller").await;
    let old = app
        .create_key(&owner, json!({"name": "ci", "scopes": ["records:read"]}))
        .await;
    let old_key = old["key"].as_str().unwrap().to_owned();
    let old_id = old["id"].as_str().unwrap().to_owned();

    let res = roll(&app, &owner, &old_id, json!({"expires_in_hours": 2})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let new: Value = res.json().await.unwrap();
    let new_key = new["key"].as_str().unwrap().to_owned();
    assert!(api_keys::is_well_formed(&new_key));
    assert_ne!(new_key, old_key);
    assert_eq!(new["name"], "ci");
    assert_eq!(new["scopes"], json!(["records:read"]));
    let ends = app.clock.now().plus(Duration::from_secs(2 * 3600));
    assert_eq!(new["rolled_from"]["id"], old_id.as_str());
    assert_eq!(new["rolled_from"]["expires_at"], ends.to_rfc3339());

    // Both listed, the old one with its end; neither with its secret.
    let listed = keys(&app, &owner).await;
    assert_eq!(listed.len(), 2);
    let old_listed = listed.iter().find(|k| k["id"] == old_id.as_str()).unwrap();
    assert_eq!(old_listed["expires_at"], ends.to_rfc3339());
    assert!(listed.iter().all(|k| k.get("key").is_none()));

    assert_eq!(status(&app, &old_key).await, StatusCode::OK);
    assert_eq!(status(&app, &new_key).await, StatusCode::OK);
    app.clock.advance(Duration::from_secs(2 * 3600 - 1));
    assert_eq!(status(&app, &old_key).await, StatusCode::OK, "in its grace");
    app.clock.advance(Duration::from_secs(1));
    assert_invalid_key(
        app.api(Method::GET, "/records", &old_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status(&app, &new_key).await, StatusCode::OK);
}

#[tokio::test]
async fn rolling_with_no_grace_stops_the_old_key_at_once_and_bad_input_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner("roller0").await;
    let old = app.create_key(&owner, json!({"name": "ci"})).await;
    let old_key = old["key"].as_str().unwrap().to_owned();
    let old_id = old["id"].as_str().unwrap().to_owned();

    for (body, code, path) in [
        (json!({}), "parameter_missing", "/expires_in_hours"),
        (
            json!({"expires_in_hours": 169}),
            "parameter_invalid",
            "/expires_in_hours",
        ),
        (
            json!({"expires_in_hours": -1}),
            "parameter_invalid",
            "/expires_in_hours",
        ),
        (
            json!({"expires_in_hours": "1"}),
            "parameter_invalid",
            "/expires_in_hours",
        ),
        (
            json!({"expires_in_hours": 1, "x": 1}),
            "parameter_unknown",
            "/x",
        ),
    ] {
        let res = roll(&app, &owner, &old_id, body.clone()).await;
        let error = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
        assert_eq!(error["path"], path, "{body}");
    }
    let res = roll(&app, &owner, "key_nope", json!({"expires_in_hours": 1})).await;
    assert_api_error(
        res,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
    )
    .await;
    // A key cannot roll keys.
    let res = app
        .api(Method::POST, &format!("/api_keys/{old_id}/roll"), &old_key)
        .json(&json!({"expires_in_hours": 1}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("admin_only"),
    )
    .await;
    assert_eq!(keys(&app, &owner).await.len(), 1, "nothing rolled");

    let res = roll(&app, &owner, &old_id, json!({"expires_in_hours": 0})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let new: Value = res.json().await.unwrap();
    assert_invalid_key(
        app.api(Method::GET, "/records", &old_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status(&app, new["key"].as_str().unwrap()).await,
        StatusCode::OK
    );
    // The stopped key cannot be rolled again.
    let res = roll(&app, &owner, &old_id, json!({"expires_in_hours": 1})).await;
    assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("api_key_expired"),
    )
    .await;
}

#[tokio::test]
async fn rolling_needs_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let owner = app.owner("rollstale").await;
    let old = app.create_key(&owner, json!({"name": "ci"})).await;
    app.clock.advance(Duration::from_secs(11 * 60));
    let res = roll(
        &app,
        &owner,
        old["id"].as_str().unwrap(),
        json!({"expires_in_hours": 1}),
    )
    .await;
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("reauthentication_required"),
    )
    .await;
    assert_eq!(keys(&app, &owner).await.len(), 1);
}

#[tokio::test]
async fn the_keys_page_rolls_a_key_and_shows_the_new_one_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pageroll").await;
    let old = app.create_key(&owner, json!({"name": "nightly"})).await;
    let old_key = old["key"].as_str().unwrap().to_owned();
    let id = ApiKeyId::from_stored(old["id"].as_str().unwrap());
    let list = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(list.contains(&format!("href=\"{}\"", paths::api_key_roll(&id))));

    let page = app.page(&owner.browser, &paths::api_key_roll(&id)).await;
    assert!(page.contains("Roll API key") && page.contains("nightly"));
    let form = [
        ("expires_in_hours", "24"),
        ("form_token", &form_token(&page)),
    ];
    let res = app
        .post(&owner.browser, &paths::api_key_roll(&id), &form)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    assert!(html.contains("it will not be shown again"));
    let start = html.find("thub_").unwrap();
    let new_key = &html[start..start + api_keys::KEY_LEN];
    assert!(api_keys::is_well_formed(new_key));
    // The page repeats the name and shows a curl with the new key in it.
    assert!(html.contains("id=\"new-key-name\">nightly<"), "{html}");
    assert_eq!(
        html.matches(new_key).count(),
        2,
        "the key and the curl: {html}"
    );
    assert!(html.contains("id=\"new-key-curl\""));
    // A reload posts again: nothing more is rolled.
    let again = app
        .post(&owner.browser, &paths::api_key_roll(&id), &form)
        .await;
    assert_redirect(&again, paths::API_KEYS);
    assert_eq!(keys(&app, &owner).await.len(), 2);

    assert_eq!(status(&app, &old_key).await, StatusCode::OK);
    assert_eq!(status(&app, new_key).await, StatusCode::OK);
    let ends = app.clock.now().plus(Duration::from_secs(24 * 3600));
    let list = app.page(&owner.browser, paths::API_KEYS).await;
    let shown = ends.to_rfc3339();
    // The old key's end shows on the page (as "YYYY-MM-DD HH:MM UTC").
    assert!(
        list.contains(&format!("{} {} UTC", &shown[..10], &shown[11..16])),
        "{list}"
    );
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_invalid_key(
        app.api(Method::GET, "/records", &old_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_reported_key_is_revoked_and_its_owners_are_told_without_the_key() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("leaky").await;
    let browser = browser();
    assert_redirect(&app.sign_in(&browser, &email, PASSWORD).await, paths::HOME);
    let owner = Owner { browser };
    let leaked = app.create_key(&owner, json!({"name": "ci deploy"})).await;
    let leaked_key = leaked["key"].as_str().unwrap().to_owned();
    let kept_key = app.full_key(&owner).await;

    // What a report of nothing answers is what a report of a live key answers.
    let nothing = report(
        &app,
        json!(["thub_not_a_key", api_keys::generate().expose()]),
    )
    .await;
    assert_eq!(nothing.status(), StatusCode::ACCEPTED);
    let nothing_body = nothing.text().await.unwrap();
    let res = report(
        &app,
        json!([format!("found in a gist: {leaked_key}"), leaked_key]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.headers().get("set-cookie").is_none(), "no session");
    assert_eq!(res.text().await.unwrap(), nothing_body);

    assert_invalid_key(
        app.api(Method::GET, "/records", &leaked_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status(&app, &kept_key).await, StatusCode::OK);
    let listed = keys(&app, &owner).await;
    assert_eq!(listed.len(), 1, "the reported key is gone from the list");

    let mail = wait_for_subject(&email, REPORTED).await;
    assert!(mail.text.contains("\"ci deploy\""), "{}", mail.text);
    assert!(mail.text.contains(&leaked_key[..9]));
    assert!(!mail.text.contains(&leaked_key));
    assert!(!mail.html.unwrap_or_default().contains(&leaked_key));

    // Reported again: the same answer.
    let again = report(&app, json!([leaked_key])).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.text().await.unwrap(), nothing_body);
}

#[tokio::test]
async fn a_report_needs_no_session_and_bad_bodies_get_the_envelope() {
    let app = TestApp::spawn().await;
    let owner = app.owner("reportshape").await;
    let key = app.full_key(&owner).await;
    // With a signed-in browser's cookie and another site's Origin: not a session request.
    let res = owner
        .browser
        .post(app.url("/credentials/revoke"))
        .header("origin", "https://elsewhere.example")
        .json(&json!({"credentials": [key]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.headers().get("set-cookie").is_none());
    assert_invalid_key(app.api(Method::GET, "/records", &key).send().await.unwrap()).await;

    let client = reqwest::Client::new();
    let url = app.url("/credentials/revoke");
    let res = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
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
    let res = client
        .post(&url)
        .body("credentials=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (body, code, path) in [
        (json!({}), "parameter_missing", "/credentials"),
        (
            json!({"credentials": []}),
            "parameter_invalid_empty",
            "/credentials",
        ),
        (
            json!({"credentials": vec!["x"; 101]}),
            "parameter_invalid",
            "/credentials",
        ),
        (
            json!({"credentials": ["x", 3]}),
            "parameter_invalid",
            "/credentials/1",
        ),
        (
            json!({"credentials": ["x"], "more": 1}),
            "parameter_unknown",
            "/more",
        ),
    ] {
        let res = client.post(&url).json(&body).send().await.unwrap();
        let error = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
        assert_eq!(error["path"], path);
    }
    let res = client.get(&url).send().await.unwrap();
    assert_api_error(
        res,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
    )
    .await;
}

#[tokio::test]
async fn reports_are_limited_per_client_network() {
    let app = TestApp::spawn_with(|c| c.floods.requests_per_ip_per_hour = 3).await;
    for _ in 0..3 {
        assert_eq!(
            report(&app, json!(["x"])).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let res = report(&app, json!(["x"])).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600);
    assert_api_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("too_many_requests"),
    )
    .await;
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        report(&app, json!(["x"])).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn usage_per_day_and_the_last_ip_are_kept_for_30_days() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("usage").await;
    let owner = Owner { browser: browser() };
    // Days pass in this test: sessions end after a day idle, so sign in again each time.
    let sign_in = || async {
        assert_redirect(
            &app.sign_in(&owner.browser, &email, PASSWORD).await,
            paths::HOME,
        );
    };
    sign_in().await;
    let key = app.full_key(&owner).await;
    let first_day = app.clock.now().to_rfc3339()[..10].to_owned();
    for _ in 0..3 {
        assert_eq!(status(&app, &key).await, StatusCode::OK);
    }
    // Listing keys writes this instance's pending batch first.
    let listed = keys(&app, &owner).await;
    assert_eq!(
        listed[0]["usage"],
        json!([{"date": first_day, "requests": 3}])
    );
    assert_eq!(listed[0]["last_used_ip"], "127.0.0.1");
    let page = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(page.contains("from 127.0.0.1"), "{page}");
    assert!(page.contains(&format!("{first_day}: 3")));

    app.clock.advance(Duration::from_secs(24 * 3600));
    sign_in().await;
    let second_day = app.clock.now().to_rfc3339()[..10].to_owned();
    for _ in 0..2 {
        assert_eq!(status(&app, &key).await, StatusCode::OK);
    }
    let listed = keys(&app, &owner).await;
    assert_eq!(
        listed[0]["usage"],
        json!([{"date": first_day, "requests": 3}, {"date": second_day, "requests": 2}])
    );
    // 30 days after the first day, it is no longer shown.
    app.clock.advance(Duration::from_secs(29 * 24 * 3600));
    sign_in().await;
    let listed = keys(&app, &owner).await;
    assert_eq!(
        listed[0]["usage"],
        json!([{"date": second_day, "requests": 2}])
    );
    // Pruning deletes the days before the one it is given (the server prunes what is older
    // than 30 days; here, everything up to today).
    let tomorrow = api_keys::day_of(app.clock.now()) + 1;
    app.world.prune_key_usage(tomorrow).await;
    assert_eq!(keys(&app, &owner).await[0]["usage"], json!([]));
}
