//! `/readyz` follows the database through an outage: a private PostgreSQL cluster is stopped
//! and started again under a running server, which recovers by itself.
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn readyz_fails_while_postgres_is_down_and_recovers() {
    let (cluster, url) = Cluster::start();
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), url).await;
    let client = browser();
    assert_eq!(app.get(&client, "/readyz").await.status(), StatusCode::OK);
    let owner = app.owner("before-outage").await;
    let key = app.full_key(&owner).await;

    cluster.run("pause");
    // A database failure is a 500 in the API's envelope, never an HTML page or an empty body.
    let res = app
        .api(reqwest::Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        Some("internal_error"),
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("x-request-id"));
    assert_eq!(
        app.get(&client, "/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get(&client, "/healthz").await.status(),
        StatusCode::OK,
        "the process itself is up"
    );

    cluster.run("resume");
    assert_eq!(
        app.get(&client, "/readyz").await.status(),
        StatusCode::OK,
        "recovered without a restart"
    );
    let email = app.confirmed_user("after-outage").await;
    assert_redirect(
        &app.sign_in(&browser(), &email, PASSWORD).await,
        paths::HOME,
    );
    let res = app
        .api(reqwest::Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the API recovered too");
}
