//! The REST API: bearer keys, account scoping, scopes and expiry, the error envelope,
//! pagination, rate limits, and the OpenAPI document.
use std::time::Duration;

use app::domain::clock::Clock as _;
use app::domain::ids::ApiKeyId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn key_lifecycle_create_use_list_delete() {
    let app = TestApp::spawn().await;
    let owner = app.owner("apiowner").await;
    let created = app
        .create_key(&owner, json!({"name": "nightly export"}))
        .await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("thub_") && key.len() == 37, "{key}");
    assert_eq!(created["hint"], &key[..9]);
    assert_eq!(created["name"], "nightly export");
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    for field in ["scopes", "expires_at", "last_used_at", "created_at"] {
        assert!(created.get(field).is_some(), "{field}");
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE '%' || $1 || '%'")
            .bind(&key)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, 0, "the key itself is never stored");

    let res = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().contains_key("ratelimit-policy") && res.headers().contains_key("ratelimit")
    );
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["object"], "list");
    assert_eq!(list["has_more"], false);
    assert_eq!(list["data"][0]["name"], "Main");

    // Lists never contain the secret; last use shows (this instance flushes before listing).
    let keys: Value = owner
        .browser
        .get(app.url("/api/v1/api_keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["data"].as_array().unwrap().len(), 1);
    assert!(keys["data"][0].get("key").is_none());
    assert!(!keys.to_string().contains(&key[9..]));
    assert!(keys["data"][0]["last_used_at"].is_string(), "{keys}");

    // Delete: 204, then refused on the very next request.
    let id = created["id"].as_str().unwrap();
    let account = app.world.key_account(id).await;
    let res = owner
        .browser
        .delete(app.url(&format!("/api/v1/api_keys/{id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_invalid_key(
        app.api(Method::GET, "/workspaces", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let audit = app
        .world
        .audit_events(&account)
        .await
        .iter()
        .filter(|e| {
            ["api_key.created", "api_key.deleted"].contains(&e.action.as_str())
                && e.actor_user_id.is_some()
        })
        .count();
    assert_eq!(
        audit, 2,
        "create and delete are audit events with their actor"
    );
}

#[tokio::test]
async fn every_bad_key_gets_the_same_401() {
    let app = TestApp::spawn().await;
    let owner = app.owner("keys401").await;
    let good = app.full_key(&owner).await;
    let expiring = app
        .create_key(
            &owner,
            json!({"name": "short-lived", "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    let expiring_key = expiring["key"].as_str().unwrap().to_owned();
    let mut typo = good.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = app::domain::api_keys::generate().expose().to_owned();

    let client = reqwest::Client::new();
    let url = app.url("/api/v1/workspaces");
    assert_invalid_key(client.get(&url).send().await.unwrap()).await;
    for header in [
        "Bearer".to_owned(),
        "Bearer abc".to_owned(),
        format!("Basic {good}"),
        format!("Bearer {typo}"),
        format!("Bearer {unknown}"),
        format!("Bearer {good}x"),
    ] {
        assert_invalid_key(
            client
                .get(&url)
                .header("authorization", header)
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    // The scheme is case-insensitive and surrounding whitespace is not part of the key.
    let res = client
        .get(&url)
        .header("authorization", format!("bEaReR   {good}  "))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Expired: fine before, the exact 401 after.
    assert_eq!(
        app.api(Method::GET, "/account", &expiring_key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let until = chrono::DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z")
        .unwrap()
        .timestamp_millis();
    // From the app's own clock, which stopped when the app started (the wall clock has moved
    // on since, by more than a second on a busy machine).
    let now = app.clock.now().millis();
    app.clock
        .advance(Duration::from_millis((until - now + 1000) as u64));
    assert_invalid_key(
        app.api(Method::GET, "/account", &expiring_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn keys_see_only_their_own_account() {
    let app = TestApp::spawn().await;
    let alice = app.owner("alice").await;
    let bob = app.owner("bob").await;
    let alice_key = app.full_key(&alice).await;
    let bob_key = app.full_key(&bob).await;

    let alice_ws: Value = app
        .api(Method::GET, "/workspaces", &alice_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws_id = alice_ws["data"][0]["id"].as_str().unwrap().to_owned();
    let rec: Value = app
        .api(Method::POST, "/records", &alice_key)
        .json(&json!({"workspace_id": ws_id, "data": {"secret": "alice's"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rec_id = rec["id"].as_str().unwrap().to_owned();

    for (method, path, body) in [
        (Method::GET, format!("/workspaces/{ws_id}"), None),
        (
            Method::PATCH,
            format!("/workspaces/{ws_id}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("/workspaces/{ws_id}"), None),
        (Method::GET, format!("/records/{rec_id}"), None),
        (
            Method::PATCH,
            format!("/records/{rec_id}"),
            Some(json!({"data": {}})),
        ),
        (Method::DELETE, format!("/records/{rec_id}"), None),
        (
            Method::POST,
            "/records".to_owned(),
            Some(json!({"workspace_id": ws_id, "data": {}})),
        ),
    ] {
        let mut req = app.api(method.clone(), &path, &bob_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        assert_api_error(
            req.send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
        )
        .await;
    }
    let bob_records: Value = app
        .api(Method::GET, "/records", &bob_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bob_records["data"].as_array().unwrap().len(), 0);
    let still: Value = app
        .api(Method::GET, &format!("/records/{rec_id}"), &alice_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        still["data"]["secret"], "alice's",
        "nothing of Alice's changed"
    );
}

#[tokio::test]
async fn admin_routes_refuse_keys_and_members() {
    let app = TestApp::spawn().await;
    let owner = app.owner("admin").await;
    let key = app.full_key(&owner).await;
    for (method, path) in [
        (Method::GET, "/api_keys"),
        (Method::POST, "/api_keys"),
        (Method::DELETE, "/api_keys/key_x"),
    ] {
        let res = app
            .api(method, path, &key)
            .json(&json!({"name": "x"}))
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
    }
    // No credentials at all: the 401.
    assert_invalid_key(reqwest::get(app.url("/api/v1/api_keys")).await.unwrap()).await;

    // A member's session: 403, and the change of role takes effect on the next request.
    assert_eq!(
        owner
            .browser
            .get(app.url("/api/v1/api_keys"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    sqlx::query("UPDATE memberships SET role = 'member'")
        .execute(&app.db)
        .await
        .unwrap();
    let res = owner
        .browser
        .get(app.url("/api/v1/api_keys"))
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
    assert_eq!(
        app.get(&owner.browser, paths::API_KEYS).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn scopes_limit_what_a_key_does() {
    let app = TestApp::spawn().await;
    let owner = app.owner("scoped").await;
    let read_ws = app
        .create_key(&owner, json!({"name": "ro", "scopes": ["workspaces:read"]}))
        .await;
    let rk = read_ws["key"].as_str().unwrap();
    assert_eq!(read_ws["scopes"], json!(["workspaces:read"]));
    assert_eq!(
        app.api(Method::GET, "/workspaces", rk)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let res = app
        .api(Method::POST, "/workspaces", rk)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("insufficient_scope"),
    )
    .await;
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("workspaces:write"));
    let res = app.api(Method::GET, "/records", rk).send().await.unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("insufficient_scope"),
    )
    .await;

    let rw = app
        .create_key(&owner, json!({"name": "rw", "scopes": ["records:write"]}))
        .await;
    let rw = rw["key"].as_str().unwrap();
    assert_eq!(
        app.api(Method::GET, "/records", rw)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "write includes read"
    );

    for (body, code, path) in [
        (
            json!({"name": "x", "scopes": []}),
            "parameter_invalid_empty",
            "/scopes",
        ),
        (
            json!({"name": "x", "scopes": ["records:read", "admin:all"]}),
            "parameter_invalid",
            "/scopes/1",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "parameter_invalid",
            "/expires_at",
        ),
        (
            json!({"name": "x", "expires_at": "tomorrow"}),
            "parameter_invalid",
            "/expires_at",
        ),
        (json!({"name": ""}), "parameter_invalid_empty", "/name"),
        (
            json!({"name": "x".repeat(101)}),
            "parameter_invalid_string_too_long",
            "/name",
        ),
        (json!({}), "parameter_missing", "/name"),
    ] {
        let res = owner
            .browser
            .post(app.url("/api/v1/api_keys"))
            .header("origin", &app.base)
            .json(&body)
            .send()
            .await
            .unwrap();
        let err = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some(code),
        )
        .await;
        assert_eq!(err["path"], path, "{body}");
    }
}

#[tokio::test]
async fn crud_validation_and_the_error_envelope() {
    let app = TestApp::spawn().await;
    let owner = app.owner("crud").await;
    let key = app.full_key(&owner).await;

    let res = app
        .api(Method::POST, "/workspaces", &key)
        .json(&json!({"name": "  Reports  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let ws: Value = res.json().await.unwrap();
    assert_eq!(ws["name"], "Reports");
    let ws_id = ws["id"].as_str().unwrap().to_owned();
    assert!(ws_id.starts_with("ws_"));
    assert!(chrono::DateTime::parse_from_rfc3339(ws["created_at"].as_str().unwrap()).is_ok());

    let res = app
        .api(Method::PATCH, &format!("/workspaces/{ws_id}"), &key)
        .json(&json!({"name": "Reports 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "Reports 2");

    let rec: Value = app
        .api(Method::POST, "/records", &key)
        .json(&json!({"workspace_id": ws_id, "data": {"n": 1, "tags": ["a"]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["data"], json!({"n": 1, "tags": ["a"]}));
    let rec_id = rec["id"].as_str().unwrap().to_owned();
    let updated: Value = app
        .api(Method::PATCH, &format!("/records/{rec_id}"), &key)
        .json(&json!({"data": {"n": 2}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["data"], json!({"n": 2}));
    let filtered: Value = app
        .api(Method::GET, &format!("/records?workspace_id={ws_id}"), &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);

    // Bad bodies.
    let post = |body: &'static str, ct: &'static str| {
        app.api(Method::POST, "/workspaces", &key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let err = assert_api_error(
        post("{\"name\": ", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("invalid_json"),
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("line 1"));
    assert_api_error(
        post("[1]", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("invalid_json"),
    )
    .await;
    assert_api_error(
        post("name=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request_error",
        Some("unsupported_media_type"),
    )
    .await;
    let err = assert_api_error(
        post("{\"name\":\"x\",\"nmae\":1}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_unknown"),
    )
    .await;
    assert_eq!(
        (err["param"].as_str(), err["path"].as_str()),
        (Some("nmae"), Some("/nmae"))
    );
    let err = assert_api_error(
        post("{\"name\": 7}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid"),
    )
    .await;
    assert_eq!(err["path"], "/name");

    let res = app
        .api(Method::POST, "/records", &key)
        .json(&json!({"workspace_id": ws_id, "data": [1, 2]}))
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
    let big = "x".repeat(257 * 1024);
    let res = app
        .api(Method::POST, "/records", &key)
        .json(&json!({"workspace_id": ws_id, "data": {"big": big}}))
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        Some("record_too_large"),
    )
    .await;
    assert_eq!(err["path"], "/data");
    let huge = "y".repeat(2 * 1024 * 1024);
    let res = app
        .api(Method::POST, "/records", &key)
        .json(&json!({"workspace_id": ws_id, "data": {"big": huge}}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        Some("body_too_large"),
    )
    .await;

    // Routing errors keep the envelope.
    assert_api_error(
        app.api(Method::GET, "/nope", &key).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("route_not_found"),
    )
    .await;
    assert_api_error(
        app.api(Method::PUT, "/workspaces", &key)
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
    )
    .await;
    let res = app
        .api(Method::GET, "/workspaces?limit=0", &key)
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid"),
    )
    .await;
    assert_eq!(err["param"], "limit");

    // Deleting a workspace deletes its records.
    assert_eq!(
        app.api(Method::DELETE, &format!("/workspaces/{ws_id}"), &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.api(Method::GET, &format!("/records/{rec_id}"), &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = app
        .api(Method::GET, "/account", &key)
        .header("x-request-id", "req-abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-abc");
    let account: Value = res.json().await.unwrap();
    assert_eq!(
        (account["object"].as_str(), account["plan"].as_str()),
        (Some("account"), Some("free"))
    );
    assert_eq!(account["limits"], json!({"per_minute": 600, "burst": 100}));
}

#[tokio::test]
async fn plans_come_from_the_configuration() {
    let app = TestApp::spawn_with(|c| {
        c.plans.insert(
            "startup".into(),
            app::plans::PlanLimits {
                per_minute: 120,
                burst: 3,
            },
        );
        c.default_plan = Some("startup".into());
    })
    .await;
    let owner = app.owner("planned").await;
    // Creating the key is the account's first request of its burst of 3.
    let key = app.full_key(&owner).await;
    let account: Value = app
        .api(Method::GET, "/account", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        account["plan"], "startup",
        "new accounts get the default plan"
    );
    assert_eq!(account["limits"], json!({"per_minute": 120, "burst": 3}));
    let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the third of the burst of 3");
    assert_eq!(res.headers()["ratelimit-policy"], "120;w=60;burst=3");
    let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
    assert_api_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("rate_limited"),
    )
    .await;

    // An account stored on a plan the configuration does not define gets the default plan.
    let other = app.owner("orphan").await;
    let other_key = app.full_key(&other).await;
    let other_id = app
        .api(Method::GET, "/account", &other_key)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.world.put_on_plan(&other_id, "discontinued").await;
    let account: Value = app
        .api(Method::GET, "/account", &other_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            account["plan"].as_str(),
            account["limits"]["burst"].as_u64()
        ),
        (Some("startup"), Some(3))
    );
}

#[tokio::test]
async fn lists_paginate_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pager").await;
    let key = app.full_key(&owner).await;
    for i in 0..24 {
        let res = app
            .api(Method::POST, "/workspaces", &key)
            .json(&json!({"name": format!("ws {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/workspaces?limit=10&starting_after={c}"),
            None => "/workspaces?limit=10".to_owned(),
        };
        let page: Value = app
            .api(Method::GET, &path, &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap();
        seen.extend(data.iter().map(|w| w["name"].as_str().unwrap().to_owned()));
        cursor = data.last().map(|w| w["id"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            break;
        }
        assert_eq!(data.len(), 10);
    }
    assert_eq!(seen.len(), 25, "24 new ones and Main");
    assert_eq!(seen[0], "ws 23");
    assert_eq!(seen[24], "Main");
    let default: Value = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default["data"].as_array().unwrap().len(), 20);
}

/// The ids of a list's page and its `has_more`, from a request for it.
async fn page_ids(req: reqwest::RequestBuilder) -> (Vec<String>, bool) {
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["object"], "list");
    let ids = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, page["has_more"].as_bool().unwrap())
}

/// Pages through `list` (a path with its query, e.g. `/workspaces?limit=5`) forward with
/// `starting_after` to the end, then back with `ending_before` from the last page to the
/// first, and checks both walks give the same pages, with `has_more` right each way.
/// Answers the forward pages.
async fn walk_both_ways(
    get: impl Fn(&str) -> reqwest::RequestBuilder,
    list: &str,
) -> Vec<Vec<String>> {
    let mut forward = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{list}&starting_after={c}"),
            None => list.to_owned(),
        };
        let (ids, more) = page_ids(get(&path)).await;
        cursor = ids.last().cloned();
        forward.push(ids);
        if !more {
            break;
        }
    }
    let mut back = vec![forward.last().unwrap().clone()];
    loop {
        let first = &back.last().unwrap()[0];
        let (ids, more) = page_ids(get(&format!("{list}&ending_before={first}"))).await;
        back.push(ids);
        // More before this page exactly while it is not the first page.
        assert_eq!(
            more,
            back.len() < forward.len(),
            "{list}: has_more backwards"
        );
        if !more {
            break;
        }
    }
    back.reverse();
    assert_eq!(back, forward, "{list}: the same pages backwards");
    // Before the newest object there is nothing.
    let newest = &forward[0][0];
    let (ids, more) = page_ids(get(&format!("{list}&ending_before={newest}"))).await;
    assert!(ids.is_empty() && !more, "{list}: nothing before the newest");
    forward
}

#[tokio::test]
async fn lists_page_backwards_with_ending_before() {
    let app = TestApp::spawn().await;
    let owner = app.owner("backpager").await;
    let key = app.full_key(&owner).await;
    let mut made = Vec::new();
    for i in 0..11 {
        let res = app
            .api(Method::POST, "/workspaces", &key)
            .json(&json!({"name": format!("ws {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        made.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let with_key = |path: &str| app.api(Method::GET, path, &key);
    let pages = walk_both_ways(with_key, "/workspaces?limit=5").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![5, 5, 2], "11 new ones and Main");
    assert_eq!(pages[0][0], made[10], "newest first");
    // Less than a page before the cursor; the default limit.
    let (ids, more) = page_ids(with_key(&format!(
        "/workspaces?limit=5&ending_before={}",
        made[7]
    )))
    .await;
    assert_eq!(
        ids,
        vec![made[10].clone(), made[9].clone(), made[8].clone()]
    );
    assert!(!more);
    let (ids, more) = page_ids(with_key(&format!("/workspaces?ending_before={}", made[0]))).await;
    assert_eq!(ids.len(), 10);
    assert!(!more);

    // Records, within one workspace: the other workspace's records are not in its pages.
    let (a, b) = (&made[0], &made[1]);
    for n in 0..5 {
        for ws in [a, b] {
            let res = app
                .api(Method::POST, "/records", &key)
                .json(&json!({"workspace_id": ws, "data": {"n": n}}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
        }
    }
    let in_a = walk_both_ways(with_key, &format!("/records?workspace_id={a}&limit=2")).await;
    assert_eq!(in_a.iter().map(Vec::len).sum::<usize>(), 5);
    let all = walk_both_ways(with_key, "/records?limit=3").await;
    assert_eq!(all.iter().map(Vec::len).sum::<usize>(), 10);

    // An admin list, with the owner's session: API keys.
    for i in 0..4 {
        app.create_key(&owner, json!({"name": format!("key {i}")}))
            .await;
    }
    let with_session = |path: &str| owner.browser.get(app.url(&format!("/api/v1{path}")));
    let keys = walk_both_ways(with_session, "/api_keys?limit=2").await;
    assert_eq!(keys.iter().map(Vec::len).sum::<usize>(), 5);
    walk_both_ways(with_session, "/events?limit=4").await;
}

#[tokio::test]
async fn accounts_are_rate_limited_with_retry_after() {
    // The limiter runs on the app's clock, which this test holds still: the count below is
    // exact however fast or slow the machine is.
    let app = TestApp::spawn().await;
    let owner = app.owner("busy").await;
    // Creating the key through the owner's session is the account's first request.
    let key = app.full_key(&owner).await;
    for n in 2..=100 {
        let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "request {n} of the burst of 100"
        );
        assert_eq!(
            res.headers()["ratelimit"],
            format!("limit=600, remaining={}, reset=0", 100 - n).as_str()
        );
    }
    let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
    // 600 a minute: the next token is 100 ms away, announced as 1 s.
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["ratelimit-policy"], "600;w=60;burst=100");
    assert_eq!(
        res.headers()["ratelimit"],
        "limit=600, remaining=0, reset=1"
    );
    assert_api_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("rate_limited"),
    )
    .await;

    // After the announced second, ten tokens are back (one per 100 ms), not more.
    app.clock.advance(Duration::from_secs(1));
    for _ in 0..10 {
        let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app.api(Method::GET, "/account", &key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn openapi_document_matches_the_router() {
    let app = TestApp::spawn().await;
    let owner = app.owner("doc").await;
    let key = app.full_key(&owner).await;
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in paths {
        let concrete = path.replace("{id}", "does_not_exist");
        // A path served outside /api/v1 has servers of its own (the leak report, at "/").
        let outside = item.get("servers").is_some();
        for method in ["get", "post", "patch", "delete", "put"] {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // A documented method is asked the way it is served; another method is asked
            // the way the path's keyed methods are (their fallback answers it), or with a
            // session on a path that only admins use.
            let by_session = |op: &Value| op["security"][0].get("adminSession").is_some();
            let admin = match item.get(method) {
                Some(op) => by_session(op),
                None => item.as_object().unwrap().values().all(by_session),
            };
            let req = if outside {
                reqwest::Client::new().request(m, app.url(&concrete))
            } else if admin {
                owner
                    .browser
                    .request(m, app.url(&format!("/api/v1{concrete}")))
                    .header("origin", &app.base)
            } else {
                app.api(m, &concrete, &key)
            };
            let res = req.json(&json!({})).send().await.unwrap();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().unwrap_or("");
            if item.get(method).is_some() {
                documented.insert((method.to_owned(), path.clone()));
                assert!(
                    !matches!(code, "route_not_found" | "method_not_allowed"),
                    "{method} {path} is documented but not served: {body}"
                );
            } else {
                assert_eq!(
                    code, "method_not_allowed",
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
    // The account's documented fields are the ones it has.
    let account: Value = app
        .api(Method::GET, "/account", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["Account"];
    for field in schema["required"].as_array().unwrap() {
        assert!(
            account.get(field.as_str().unwrap()).is_some(),
            "{field} in {account}"
        );
    }
    assert_eq!(
        schema["properties"]["limits"]["$ref"],
        "#/components/schemas/Limits"
    );
    for field in doc["components"]["schemas"]["Limits"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(
            account["limits"][field.as_str().unwrap()]
                .as_u64()
                .is_some(),
            "limits.{field} in {account}"
        );
    }
    let served: std::collections::BTreeSet<_> = terminus_hub::api::ROUTES
        .iter()
        .chain(terminus_hub::api::openapi::OUTSIDE_API)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, served,
        "the document and the router's table agree"
    );
}

#[tokio::test]
async fn keys_page_creates_shows_once_and_deletes() {
    let app = TestApp::spawn().await;
    let owner = app.owner("pageowner").await;
    let page = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(page.contains("No API keys yet."));
    assert!(app
        .page(&owner.browser, paths::HOME)
        .await
        .contains("href=\"/settings/api-keys\""));

    // Validation keeps what was typed.
    let token = form_token(&page);
    let res = app
        .post(
            &owner.browser,
            paths::API_KEYS,
            &[
                ("name", ""),
                ("expires_on", "2001-02-03"),
                ("form_token", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Give the key a name.")
            && html.contains("Choose a date in the future.")
            && html.contains("value=\"2001-02-03\"")
    );
    // Focus goes to the first field in error, and only there.
    let name_input = html.find("id=\"field-name\"").unwrap();
    let tag_end = name_input + html[name_input..].find('>').unwrap();
    assert!(html[name_input..tag_end].contains("autofocus"), "{html}");
    assert_eq!(html.matches("autofocus").count(), 1, "{html}");

    let form = [
        ("name", "deploy bot"),
        ("expires_on", "2099-12-31"),
        ("records:read", "on"),
        ("form_token", &form_token(&html)),
    ];
    let res = app.post(&owner.browser, paths::API_KEYS, &form).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    // Reloading that page posts the form again: nothing more is created.
    let again = app.post(&owner.browser, paths::API_KEYS, &form).await;
    assert_redirect(&again, paths::API_KEYS);
    assert!(app
        .page(&owner.browser, paths::API_KEYS)
        .await
        .contains("That key was already created"));
    assert_eq!(app.world.tally().await.api_keys, 1);
    // A post without a token from this session's form creates nothing either.
    let forged = app
        .post(
            &owner.browser,
            paths::API_KEYS,
            &[("name", "x"), ("form_token", "made-up")],
        )
        .await;
    assert_redirect(&forged, paths::API_KEYS);
    assert_eq!(app.world.tally().await.api_keys, 1);
    let start = html.find("thub_").unwrap();
    let key = &html[start..start + 37];
    assert!(html.contains("it will not be shown again"));
    assert_eq!(
        app.api(Method::GET, "/records", key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api(Method::GET, "/workspaces", key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    let list = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(list.contains("deploy bot") && list.contains(&key[..9]) && !list.contains(key));
    assert!(list.contains("2099-12-31 23:59 UTC") && list.contains("Read records"));
    let keys: Value = owner
        .browser
        .get(app.url("/api/v1/api_keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["data"].as_array().unwrap().len(), 1);
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let confirm = app
        .page(
            &owner.browser,
            &paths::api_key_deletion(&ApiKeyId::from_stored(id.as_str())),
        )
        .await;
    assert!(confirm.contains("cannot be undone"));
    let res = app
        .post(&owner.browser, fns::DELETE_API_KEY, &[("id", &id)])
        .await;
    assert_redirect(&res, paths::API_KEYS);
    assert!(app
        .page(&owner.browser, paths::API_KEYS)
        .await
        .contains("The API key was deleted"));
    assert_invalid_key(app.api(Method::GET, "/records", key).send().await.unwrap()).await;
}

/// The one-time token of a rendered form.
fn form_token(html: &str) -> String {
    let at = html
        .find("name=\"form_token\"")
        .unwrap_or_else(|| panic!("no form_token in:\n{html}"));
    let rest = &html[at..];
    let value = rest.find("value=\"").unwrap() + "value=\"".len();
    rest[value..].split('"').next().unwrap().to_owned()
}

/// The text of the element with this `id` (its tags stripped, entities undone).
fn element_text(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let open_end = at + html[at..].find('>').unwrap() + 1;
    let close = open_end + html[open_end..].find("</").unwrap();
    html[open_end..close]
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_keys_page_shows_ids_scopes_and_expiry_and_the_new_key_comes_with_a_curl() {
    let app = TestApp::spawn().await;
    let owner = app.owner("keyfacts").await;
    let scoped = app
        .create_key(
            &owner,
            json!({"name": "exporter", "scopes": ["records:write", "workspaces:read"]}),
        )
        .await;
    let scoped_id = scoped["id"].as_str().unwrap().to_owned();
    assert!(scoped_id.starts_with("key_"));

    // Created on the page: full access, an expiry.
    let page = app.page(&owner.browser, paths::API_KEYS).await;
    let form = [
        ("name", "ci pipeline"),
        ("expires_on", "2099-12-31"),
        ("form_token", &form_token(&page)),
    ];
    let res = app.post(&owner.browser, paths::API_KEYS, &form).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let key = element_text(&html, "new-key");
    assert!(key.starts_with("thub_") && key.len() == 37, "{key}");
    assert_eq!(element_text(&html, "new-key-name"), "ci pipeline");
    let new_id = element_text(&html, "new-key-id");
    assert!(
        new_id.starts_with("key_") && new_id != scoped_id,
        "{new_id}"
    );
    assert_eq!(element_text(&html, "new-key-scopes"), "Full access");
    assert_eq!(
        element_text(&html, "new-key-expires"),
        "2099-12-31 23:59 UTC"
    );

    // The curl shown is ready to run, with the key filled in; run exactly that request.
    let curl = element_text(&html, "new-key-curl");
    let url = app.url("/api/v1/workspaces");
    assert_eq!(
        curl,
        format!("curl -H \"Authorization: Bearer {key}\" {url}")
    );
    let header = curl
        .strip_prefix("curl -H \"")
        .and_then(|rest| rest.split_once("\" "))
        .unwrap();
    let (name, value) = header.0.split_once(": ").unwrap();
    let res = reqwest::Client::new()
        .get(header.1)
        .header(name, value)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["data"].is_array(), "{body}");

    // The list: each key's id, its scopes in words, and when it expires.
    let list = app.page(&owner.browser, paths::API_KEYS).await;
    assert!(!list.contains(&key), "the key is never shown again");
    for id in [&scoped_id, &new_id] {
        assert!(
            list.contains(&format!("<code class=\"id\">{id}</code>")),
            "{id} in {list}"
        );
    }
    assert!(
        list.contains("<td data-label=\"Scopes\">Read workspaces, read and write records</td>"),
        "{list}"
    );
    assert!(list.contains("<td data-label=\"Scopes\">Full access</td>"));
    assert!(list.contains("<td data-label=\"Expires\">2099-12-31 23:59 UTC</td>"));
    assert!(list.contains("<td data-label=\"Expires\">Never</td>"));
    assert!(list.contains("<code class=\"hint\">"));
    // Every cell is labelled, so the table stacks as cards on a phone.
    let cells = list.matches("<td").count();
    assert!(cells >= 18, "{cells}");
    assert_eq!(list.matches("<td data-label=\"").count(), cells);
}
