//! What a key's scopes reach through a cascade: deleting a workspace that has records deletes
//! them too, so it needs `records:write` as well as `workspaces:write`.
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn created(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn deleting_a_workspace_with_records_needs_records_write_too() {
    let app = TestApp::spawn().await;
    let owner = app.owner("cascade").await;
    let full = app.full_key(&owner).await;
    let workspace = created(
        app.api(Method::POST, "/workspaces", &full)
            .json(&json!({"name": "Reports"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let record = created(
        app.api(Method::POST, "/records", &full)
            .json(&json!({"workspace_id": workspace, "data": {"q": 1}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = |scopes: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            app.create_key(owner, json!({"name": "scoped", "scopes": scopes}))
                .await["key"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let workspaces_only = key(json!(["workspaces:write"])).await;

    // The records would go with it: refused, naming the scope, and nothing is deleted.
    let res = app
        .api(
            Method::DELETE,
            &format!("/workspaces/{workspace}"),
            &workspaces_only,
        )
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
    assert_eq!(err["param"], "records:write", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("records:write"),
        "{err}"
    );
    let res = app
        .api(Method::GET, &format!("/records/{record}"), &full)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the record is still there");

    // An empty workspace needs no more than workspaces:write.
    let empty = created(
        app.api(Method::POST, "/workspaces", &workspaces_only)
            .json(&json!({"name": "Scratch"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let res = app
        .api(
            Method::DELETE,
            &format!("/workspaces/{empty}"),
            &workspaces_only,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Another account's workspace, or none, is still "not found".
    let res = app
        .api(
            Method::DELETE,
            &format!("/workspaces/{empty}"),
            &workspaces_only,
        )
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
    )
    .await;

    // With both scopes the workspace goes, and its records with it.
    let both = key(json!(["workspaces:write", "records:write"])).await;
    let res = app
        .api(Method::DELETE, &format!("/workspaces/{workspace}"), &both)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .api(Method::GET, &format!("/records/{record}"), &full)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
