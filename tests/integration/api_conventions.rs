//! Stripe's conventions, through the real server: `Idempotency-Key` on POST (once per key and
//! account, the first answer again for a retry, 409 for the key with another body, kept in
//! the database so another instance answers the same), `Location` on 201, unknown query
//! parameters and out-of-range values refused with 422, an unknown cursor with 404.
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_done_once_and_answered_the_same() {
    let app = TestApp::spawn().await;
    let owner = app.owner("idem").await;
    let key = app.full_key(&owner).await;
    let post = |body: Value, idem: &str| {
        app.api(Method::POST, "/workspaces", &key)
            .header("idempotency-key", idem)
            .json(&body)
    };

    let first = post(json!({"name": "Once"}), "7c1f3c2e-key-1")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/workspaces/{}", first["id"].as_str().unwrap())
    );

    // The retry: the same answer, flagged, and no second workspace.
    let again = post(json!({"name": "Once"}), "7c1f3c2e-key-1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location.as_str());
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let listed: Value = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let named_once = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "Once")
        .count();
    assert_eq!(named_once, 1);

    // The same key with another body; a malformed key.
    let res = post(json!({"name": "Twice"}), "7c1f3c2e-key-1")
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("idempotency_key_reused"),
    )
    .await;
    assert_eq!(err["param"], "Idempotency-Key");
    let res = post(json!({"name": "Bad"}), "has space")
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("idempotency_key_invalid"),
    )
    .await;

    // A refused request's answer is kept too: the retry gets the same 422.
    let bad = || post(json!({"name": ""}), "7c1f3c2e-key-2");
    let res = bad().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = bad().send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["idempotent-replayed"], "true");

    // Keyed per account: another account's same key is its own.
    let other = app.owner("idem-other").await;
    let other_key = app.full_key(&other).await;
    let res = app
        .api(Method::POST, "/workspaces", &other_key)
        .header("idempotency-key", "7c1f3c2e-key-1")
        .json(&json!({"name": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("idempotent-replayed").is_none());

    // A first request that never answered (its instance stopped) holds its key "in use" for
    // a while, not for the day: after five minutes the key is claimed again.
    let keys = app.listed(&owner.browser, "api_keys").await;
    let account = app.world.key_account(keys[0]["id"].as_str().unwrap()).await;
    // (The claim of that same request: SHA-256 of method, path within /api/v1 and body, as
    // the API keeps it.)
    let same_request = {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(b"POST\0/workspaces\0{\"name\":\"Late\"}");
        hash.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    app.world
        .claim_idempotency_key(&account, "died-mid-way", &same_request)
        .await;
    let res = post(json!({"name": "Late"}), "died-mid-way")
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("idempotency_key_in_use"),
    )
    .await;
    app.clock
        .advance(std::time::Duration::from_secs(5 * 60 + 1));
    let res = post(json!({"name": "Late"}), "died-mid-way")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // A new key (shown once) replays whole within the day, from the sealed copy.
    let create_key = || {
        owner
            .browser
            .post(app.url("/api/v1/api_keys"))
            .header("origin", &app.base)
            .header("idempotency-key", "key-create-1")
            .json(&json!({"name": "retried"}))
    };
    let made: Value = create_key().send().await.unwrap().json().await.unwrap();
    let replayed = create_key().send().await.unwrap();
    assert_eq!(replayed.headers()["cache-control"], "no-store");
    assert_eq!(replayed.json::<Value>().await.unwrap()["key"], made["key"]);
}

#[tokio::test]
async fn created_objects_have_a_location_and_bad_query_parameters_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner("conventions").await;
    let key = app.full_key(&owner).await;
    let ws: Value = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws_id = ws["data"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .api(Method::POST, "/records", &key)
        .json(&json!({"workspace_id": ws_id, "data": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let record: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/records/{}", record["id"].as_str().unwrap())
    );
    assert_eq!(
        app.api(Method::GET, location.trim_start_matches("/api/v1"), &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    for (path, param) in [
        ("/workspaces?limit=10&sort=name", "sort"),
        ("/records?workspace=ws_x", "workspace"),
        (
            &format!("/workspaces/{ws_id}?expand=records") as &str,
            "expand",
        ),
        ("/account?x=1", "x"),
    ] {
        let res = app.api(Method::GET, path, &key).send().await.unwrap();
        let err = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("parameter_unknown"),
        )
        .await;
        assert_eq!(err["param"], param, "{path}");
    }
    let res = app
        .api(Method::GET, "/workspaces?limit=500", &key)
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
    // Without a key, the answer is the usual 401 whatever the parameters.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/workspaces?sort=name"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A cursor that names nothing is 404, not page one again.
    for (path, param) in [
        (
            "/workspaces?starting_after=ws_00000000000000000000000000000000",
            "starting_after",
        ),
        ("/records?starting_after=rec_nothing", "starting_after"),
        (
            "/workspaces?ending_before=ws_00000000000000000000000000000000",
            "ending_before",
        ),
        ("/records?ending_before=rec_nothing", "ending_before"),
        (
            &format!("/records?ending_before={ws_id}") as &str,
            "ending_before",
        ),
    ] {
        let res = app.api(Method::GET, path, &key).send().await.unwrap();
        let err = assert_api_error(
            res,
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
        )
        .await;
        assert_eq!(err["param"], param, "{path}");
    }
    for cursor in ["starting_after", "ending_before"] {
        let res = app
            .api(Method::GET, &format!("/workspaces?{cursor}={ws_id}"), &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{cursor}");
    }
    // Both cursors at once, or an empty or overlong one, is a bad parameter.
    let long = "w".repeat(65);
    for (path, param) in [
        (
            format!("/workspaces?starting_after={ws_id}&ending_before={ws_id}"),
            "ending_before",
        ),
        (
            format!("/records?ending_before={ws_id}&starting_after={ws_id}"),
            "ending_before",
        ),
        ("/workspaces?ending_before=".to_owned(), "ending_before"),
        (format!("/workspaces?ending_before={long}"), "ending_before"),
        ("/workspaces?starting_after=".to_owned(), "starting_after"),
    ] {
        let res = app.api(Method::GET, &path, &key).send().await.unwrap();
        let err = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("parameter_invalid"),
        )
        .await;
        assert_eq!(err["param"], param, "{path}");
    }
    // Every paged list takes it (the admin lists too, with an owner's session); the single
    // sign-on connections are one page, always, and take no paging parameters.
    // The admin lists refuse a cursor that names nothing of theirs, too (the activity log
    // excepted: its cursor is a position in time, and an unknown one pages from there).
    let res = owner
        .browser
        .get(app.url("/api/v1/events?limit=1&ending_before=x_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "events");
    for list in ["api_keys", "members", "invitations", "domains"] {
        for cursor in ["starting_after", "ending_before"] {
            let res = owner
                .browser
                .get(app.url(&format!("/api/v1/{list}?limit=1&{cursor}=x_1")))
                .send()
                .await
                .unwrap();
            let err = assert_api_error(
                res,
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("resource_missing"),
            )
            .await;
            assert_eq!(err["param"], cursor, "{list}");
        }
    }
    // …and take one that names an item: the owner, as a member, and the key.
    let members: Value = owner
        .browser
        .get(app.url("/api/v1/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = members["data"][0]["id"].as_str().unwrap().to_owned();
    let keys: Value = owner
        .browser
        .get(app.url("/api/v1/api_keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/members?starting_after={me}"),
        format!("/api/v1/api_keys?ending_before={key_id}"),
    ] {
        let res = owner.browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page: Value = res.json().await.unwrap();
        assert_eq!(page["data"], json!([]), "{path}");
        assert_eq!(page["has_more"], false, "{path}");
    }
    let res = owner
        .browser
        .get(app.url("/api/v1/sso_connections?limit=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("parameter_unknown")
        )
        .await["param"],
        "limit"
    );
}

#[tokio::test]
async fn the_reference_is_served_at_docs_from_the_same_document() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(app.url("/docs")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = res.text().await.unwrap();
    assert!(page.contains("Terminus Hub API reference"));
    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method != "servers" {
                let id = op["operationId"].as_str().unwrap();
                assert!(page.contains(&format!("id=\"{id}\"")), "{method} {path}");
            }
        }
    }
    assert!(!page.contains("<script"), "no script, no CDN");
}

/// The served document is valid OpenAPI 3.1, checked by a maintained validator
/// (`openapi-spec-validator`, installed by the test command with pip; it never skips), and it
/// is the one generated from the handlers: every error `code` the tests meet is in its enum
/// (`assert_api_error`), and its operations carry ids, tags, summaries and examples.
#[tokio::test]
async fn the_document_is_valid_openapi_3_1_generated_from_the_handlers() {
    let app = TestApp::spawn().await;
    let text = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let python =
        std::env::var("OPENAPI_SPEC_VALIDATOR_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (needs `pip install openapi-spec-validator`): {e}")
        });
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success() && out.contains(": OK"),
        "openapi-spec-validator refused the document (or is not installed: `pip install openapi-spec-validator`):\n{out}\n{err}"
    );

    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = &doc["components"]["schemas"];
    // Error codes as an enum, and the envelope's five members always present.
    let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
    for code in [
        "resource_missing",
        "parameter_unknown",
        "idempotency_key_reused",
        "insufficient_scope",
        "last_owner",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code}");
    }
    let required = schemas["ErrorBody"]["required"].as_array().unwrap();
    for member in ["type", "code", "message", "param", "path"] {
        assert!(required.iter().any(|r| r == member), "{member}");
    }
    // Request bodies refuse what their type lacks; responses have examples.
    assert_eq!(schemas["WorkspaceInput"]["additionalProperties"], false);
    assert_eq!(schemas["WorkspaceInput"]["required"], json!(["name"]));
    assert!(schemas["Workspace"]["properties"]["id"]["example"]
        .as_str()
        .unwrap()
        .starts_with("ws_"));
    assert_eq!(
        schemas["ApiKey"]["properties"]["object"]["$ref"],
        "#/components/schemas/ApiKeyObject"
    );
    assert_eq!(schemas["ApiKeyObject"]["enum"], json!(["api_key"]));
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "servers" {
                continue;
            }
            for field in ["operationId", "summary", "tags", "responses"] {
                assert!(op.get(field).is_some(), "{method} {path} has {field}");
            }
        }
    }
    // Lists document the paging parameters the server takes, `ending_before` included.
    let params: Vec<&str> = doc["paths"]["/workspaces"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["limit", "starting_after", "ending_before"]);
}

/// `PATCH /api/v1/account` renames the account for its owners and admins (their session);
/// a key may read the account but not change it.
#[tokio::test]
async fn owners_rename_the_account_through_the_api_and_keys_cannot() {
    let app = TestApp::spawn().await;
    let owner = app.owner("renamer").await;
    let key = app.full_key(&owner).await;
    let patch = |body: Value| {
        owner
            .browser
            .patch(app.url("/api/v1/account"))
            .header("origin", &app.base)
            .json(&body)
    };

    let res = patch(json!({"name": "  Acme Corporation "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let account: Value = res.json().await.unwrap();
    assert_eq!(account["object"], "account");
    assert_eq!(account["name"], "Acme Corporation");
    let read: Value = app
        .api(Method::GET, "/account", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"], "Acme Corporation");
    assert_eq!(read["id"], account["id"]);

    let err = assert_api_error(
        patch(json!({"name": "x", "plan": "enterprise"}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_unknown"),
    )
    .await;
    assert_eq!(err["param"], "plan");
    assert_api_error(
        patch(json!({"name": " "})).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid_empty"),
    )
    .await;
    assert_api_error(
        app.api(Method::PATCH, "/account", &key)
            .json(&json!({"name": "Stolen"}))
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("admin_only"),
    )
    .await;
    // The owner's cookie sent by another site (no same-origin `Origin`) changes nothing.
    assert_api_error(
        owner
            .browser
            .patch(app.url("/api/v1/account"))
            .header("origin", "https://evil.example")
            .json(&json!({"name": "Pwned"}))
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("cross_site_request"),
    )
    .await;
    // Other methods on /account are still refused as such.
    assert_api_error(
        app.api(Method::PUT, "/account", &key).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
    )
    .await;

    // The rename is in the activity log, in words.
    let events: Value = owner
        .browser
        .get(app.url("/api/v1/events?kind=account"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let renamed = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "account.renamed")
        .expect("account.renamed event");
    assert_eq!(renamed["description"], "renamed the account");
    assert!(renamed["detail"]
        .as_str()
        .unwrap()
        .ends_with("→ Acme Corporation"));
    // Nothing changed by the refused attempts.
    let read: Value = app
        .api(Method::GET, "/account", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"], "Acme Corporation");
}
