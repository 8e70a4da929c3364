//! The activity log as an audit log: changes from the web app and from the API (with the key
//! that made them), members' sign-ins and failures, in plain words; narrowed by kind and by
//! person, a page at a time, with an empty state; and the same through `GET /api/v1/events`
//! for owners and admins.
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn events(app: &TestApp, client: &Client, query: &str) -> Value {
    let res = client
        .get(app.url(&format!("/api/v1/events{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The events answered for `query` once `holds` is true of them: some are written just after
/// the answer that caused them (a failed sign-in's, so that its timing hides nothing), so the
/// list is asked again, without sleeping, a bounded number of times.
async fn events_once(
    app: &TestApp,
    client: &Client,
    query: &str,
    holds: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..500 {
        let listed = events(app, client, query).await;
        if holds(&listed) {
            return listed;
        }
    }
    panic!(
        "the events never showed: {}",
        events(app, client, query).await
    );
}

fn actions(listed: &Value) -> Vec<String> {
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn changes_from_every_surface_and_sign_ins_are_in_the_log_in_plain_words() {
    let app = TestApp::spawn().await;
    let email = app.confirmed_user("auditor").await;
    let client = browser();
    assert_redirect(
        &app.sign_in(&client, &email, "wrong wrong wrong").await,
        paths::SIGN_IN_PASSWORD,
    );
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    let owner = Owner {
        browser: client.clone(),
    };

    // A workspace from the web app, a record through the API with a key.
    app.post(&client, fns::CREATE_WORKSPACE, &[("name", "Ledger")])
        .await;
    let key = app.create_key(&owner, json!({"name": "importer"})).await;
    let secret = key["key"].as_str().unwrap();
    let key_id = key["id"].as_str().unwrap();
    let workspaces: Value = Client::new()
        .get(app.url("/api/v1/workspaces"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws = workspaces["data"][0]["id"].as_str().unwrap();
    let res = Client::new()
        .post(app.url("/api/v1/records"))
        .bearer_auth(secret)
        .json(&json!({"workspace_id": ws, "data": {"n": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let listed = events_once(&app, &client, "", |l| {
        actions(l).contains(&"sign_in.failed".to_owned())
    })
    .await;
    let all = actions(&listed);
    for expected in [
        "record.created",
        "api_key.created",
        "workspace.created",
        "sign_in.succeeded",
        "sign_in.failed",
    ] {
        assert!(all.contains(&expected.to_owned()), "{expected} in {all:?}");
    }
    assert!(
        all.iter().position(|a| a == "record.created")
            < all.iter().position(|a| a == "workspace.created"),
        "newest first: {all:?}"
    );

    // The page says it in words: who (a person, or the key), what, from where.
    let page = app.page(&client, paths::ACTIVITY).await;
    assert!(page.contains(&format!("An API key ({key_id})")), "{page}");
    assert!(page.contains("created a record"), "{page}");
    assert!(page.contains("created a workspace"), "{page}");
    assert!(page.contains("failed to sign in"), "{page}");
    assert!(
        page.contains("signed in</td>") || page.contains("signed in"),
        "{page}"
    );
    assert!(page.contains("with a password, from 127.0.0.1"), "{page}");

    // Where each change came from: the web app's request, with its IP.
    let made = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "workspace.created")
        .unwrap();
    assert_eq!(made["ip"], "127.0.0.1");
    assert!(page.contains("from 127.0.0.1"), "{page}");

    // Narrowed by kind, by person; nothing matching says so.
    let records = events(&app, &client, "?kind=record").await;
    assert_eq!(actions(&records), vec!["record.created"]);
    let page = app.page(&client, "/settings/activity?kind=domain").await;
    assert!(page.contains("Nothing matches these filters."), "{page}");
    let me = app.listed(&client, "members").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = events(&app, &client, &format!("?actor={me}")).await;
    assert!(!actions(&mine).contains(&"record.created".to_owned()));
    assert!(actions(&mine).contains(&"workspace.created".to_owned()));

    // A page at a time.
    let first = events(&app, &client, "?limit=2").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let after = first["data"][1]["id"].as_str().unwrap();
    let second = events(&app, &client, &format!("?limit=2&starting_after={after}")).await;
    assert_eq!(actions(&second)[..], actions(&listed)[2..4]);

    // A bad kind is refused; a key cannot read the log.
    let res = client
        .get(app.url("/api/v1/events?kind=everything"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = Client::new()
        .get(app.url("/api/v1/events"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_web_page_pages_through_a_long_log() {
    let app = TestApp::spawn().await;
    let owner = app.owner("busy").await;
    for i in 0..55 {
        app.post(
            &owner.browser,
            fns::CREATE_WORKSPACE,
            &[("name", &format!("Space {i}"))],
        )
        .await;
    }
    let page = app.page(&owner.browser, paths::ACTIVITY).await;
    assert_eq!(page.matches("created a workspace").count(), 50, "50 a page");
    let at = page
        .find("/settings/activity?after=")
        .expect("an older page");
    let next: String = page[at..].chars().take_while(|c| *c != '"').collect();
    let older = app.page(&owner.browser, &next).await;
    assert!(older.contains("created a workspace"), "{older}");
    assert!(older.contains("created the account"), "{older}");
}
