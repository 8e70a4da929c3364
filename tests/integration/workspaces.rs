//! The account's data in the web app: workspaces on the home page (newest first, ids shown),
//! one workspace with its records (create, edit, delete, paging), the "Get started" commands
//! (which work as shown), renaming and deleting with confirmation, and another account's ids
//! answered as "not found".
use reqwest::StatusCode;

use crate::helpers::*;

/// The first `prefix…` id on `page`.
fn first_id(page: &str, prefix: &str) -> String {
    let at = page
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {page}"));
    page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[tokio::test]
async fn workspaces_and_records_are_made_read_changed_and_deleted_in_the_web_app() {
    let app = TestApp::spawn().await;
    let owner = app.owner("data").await;
    let client = &owner.browser;

    // Home lists "Main" with its id; a new workspace comes first and opens on its page.
    let home = app.page(client, paths::HOME).await;
    assert!(home.contains("Main"), "{home}");
    let main_id = first_id(&home, "ws_");
    let res = app
        .post(client, fns::CREATE_WORKSPACE, &[("name", " ")])
        .await;
    assert_redirect(&res, paths::HOME);
    assert!(app.page(client, paths::HOME).await.contains("field-error"));
    let res = app
        .post(client, fns::CREATE_WORKSPACE, &[("name", "Customers")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let ws_page = location(&res);
    assert!(ws_page.starts_with("/workspaces/ws_"), "{ws_page}");
    let ws_id = ws_page.trim_start_matches("/workspaces/").to_owned();
    let page = app.page(client, &ws_page).await;
    assert!(page.contains("Workspace \"Customers\" created."), "{page}");
    assert!(page.contains("No records yet."), "{page}");
    let home = app.page(client, paths::HOME).await;
    assert!(
        home.find(&ws_id).unwrap() < home.find(&main_id).unwrap(),
        "newest first, like the API"
    );

    // A record that is not a JSON object is refused next to the field, the text kept whole.
    let long_bad = format!("[{}]", "1,".repeat(800) + "1");
    let res = app
        .post(
            client,
            fns::CREATE_RECORD,
            &[("workspace_id", &ws_id), ("data", &long_bad)],
        )
        .await;
    assert_redirect(&res, &ws_page);
    let page = app.page(client, &ws_page).await;
    assert!(page.contains("Enter the record as a JSON object"), "{page}");
    assert!(page.contains(&long_bad), "the typed text is kept whole");

    let res = app
        .post(
            client,
            fns::CREATE_RECORD,
            &[("workspace_id", &ws_id), ("data", r#"{"name": "Ada"}"#)],
        )
        .await;
    let record_page = location(&res);
    assert!(record_page.starts_with("/records/rec_"), "{record_page}");
    let rec_id = record_page.trim_start_matches("/records/").to_owned();
    let page = app.page(client, &record_page).await;
    assert!(
        page.contains("&quot;name&quot;: &quot;Ada&quot;") || page.contains("\"name\": \"Ada\""),
        "{page}"
    );

    // Edited; a bad edit keeps the text and changes nothing.
    let res = app
        .post(
            client,
            fns::UPDATE_RECORD,
            &[("id", &rec_id), ("data", "{oops")],
        )
        .await;
    assert_redirect(&res, &record_page);
    assert!(app.page(client, &record_page).await.contains("{oops"));
    let res = app
        .post(
            client,
            fns::UPDATE_RECORD,
            &[("id", &rec_id), ("data", r#"{"name": "Ada Lovelace"}"#)],
        )
        .await;
    assert_redirect(&res, &record_page);
    assert!(app
        .page(client, &record_page)
        .await
        .contains("Record saved."));

    // "Get started" shows commands for this workspace; they work as shown with a real key.
    let page = app.page(client, &ws_page).await;
    let list_url = format!("{}/api/v1/records?workspace_id={ws_id}", app.base);
    assert!(page.contains(&list_url), "{page}");
    let key = app
        .create_key(&owner, serde_json::json!({"name": "script"}))
        .await;
    let listed: serde_json::Value = reqwest::Client::new()
        .get(&list_url)
        .bearer_auth(key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], rec_id.as_str());
    assert_eq!(listed["data"][0]["data"]["name"], "Ada Lovelace");

    // Twenty records a page, then "Older records".
    for i in 0..20 {
        app.post(
            client,
            fns::CREATE_RECORD,
            &[
                ("workspace_id", &ws_id),
                ("data", &format!("{{\"n\": {i}}}")),
            ],
        )
        .await;
    }
    let page = app.page(client, &ws_page).await;
    assert_eq!(page.matches("href=\"/records/").count(), 20, "{page}");
    assert!(!page.contains(&rec_id), "the oldest is on the next page");
    let at = page.find("?after=").expect("an older page");
    let next: String = page[at - ws_page.len()..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let older = app.page(client, &next).await;
    assert!(older.contains(&rec_id), "{older}");

    // Renamed; then deleted after a confirmation page, with its records.
    let res = app
        .post(
            client,
            fns::RENAME_WORKSPACE,
            &[("id", &ws_id), ("name", "Clients")],
        )
        .await;
    assert_redirect(&res, &ws_page);
    assert!(app
        .page(client, &ws_page)
        .await
        .contains("Renamed to \"Clients\"."));
    let confirm = app
        .page(client, &format!("/workspaces/{ws_id}/delete"))
        .await;
    assert!(confirm.contains("and every record in it"), "{confirm}");
    let res = app
        .post(client, fns::DELETE_WORKSPACE, &[("id", &ws_id)])
        .await;
    assert_redirect(&res, paths::HOME);
    let home = app.page(client, paths::HOME).await;
    assert!(!home.contains(&ws_id) && home.contains(&main_id), "{home}");
    assert_eq!(
        app.get(client, &record_page).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_accounts_workspaces_and_records_are_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.owner("ada-data").await;
    let eve = app.owner("eve-data").await;
    let home = app.page(&ada.browser, paths::HOME).await;
    let ws_id = first_id(&home, "ws_");
    let res = app
        .post(
            &ada.browser,
            fns::CREATE_RECORD,
            &[("workspace_id", &ws_id), ("data", "{}")],
        )
        .await;
    let record_page = location(&res);
    let rec_id = record_page.trim_start_matches("/records/").to_owned();

    for path in [
        format!("/workspaces/{ws_id}"),
        format!("/workspaces/{ws_id}/delete"),
        record_page.clone(),
        "/workspaces/not-an-id".to_owned(),
    ] {
        let res = app.get(&eve.browser, &path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Eve's forms change nothing of Ada's.
    app.post(&eve.browser, fns::DELETE_RECORD, &[("id", &rec_id)])
        .await;
    app.post(&eve.browser, fns::DELETE_WORKSPACE, &[("id", &ws_id)])
        .await;
    app.post(
        &eve.browser,
        fns::RENAME_WORKSPACE,
        &[("id", &ws_id), ("name", "Eve's now")],
    )
    .await;
    assert_eq!(
        app.get(&ada.browser, &record_page).await.status(),
        StatusCode::OK
    );
    let home = app.page(&ada.browser, paths::HOME).await;
    assert!(
        home.contains(&ws_id) && !home.contains("Eve's now"),
        "{home}"
    );
}
