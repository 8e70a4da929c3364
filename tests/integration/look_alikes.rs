//! Look-alike addresses: a local part mixing scripts (`оwn@` with a Cyrillic о next to Latin
//! letters) is refused wherever an email is typed, so it cannot make a second user that looks
//! like the first.
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// "оwn" with U+043E CYRILLIC SMALL LETTER O.
const LOOK_ALIKE: &str = "\u{043e}wn@example.com";
const MESSAGE: &str = "mixes letters from different scripts";

#[tokio::test]
async fn mixed_script_local_parts_are_refused_everywhere_an_email_is_typed() {
    let app = TestApp::spawn().await;

    // Sign-up: back to the form with the reason, nothing stored or mailed.
    let client = browser();
    let res = app
        .post(&client, fns::SIGN_UP, &[("email", LOOK_ALIKE)])
        .await;
    assert_redirect(&res, paths::SIGN_UP);
    let page = app.page(&client, paths::SIGN_UP).await;
    assert!(page.contains(MESSAGE), "{page}");
    assert_eq!(app.world.tally().await.pending_sign_ups, 0);
    assert!(mails_to(LOOK_ALIKE).await.is_empty());

    // Sign-in's email step.
    let res = app
        .post(&client, fns::SIGN_IN_EMAIL, &[("email", LOOK_ALIKE)])
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert!(app.page(&client, paths::SIGN_IN).await.contains(MESSAGE));

    // Invitations, through the API.
    let owner = app.owner("latin").await;
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&json!({"email": LOOK_ALIKE, "role": "member"}))
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
    assert!(err["message"].as_str().unwrap().contains(MESSAGE), "{err}");

    // One script, whichever it is, is fine: Cyrillic alone, Latin with digits and symbols.
    for fine in [
        "\u{043e}\u{043b}\u{044f}@example.com",
        "own.2+x@example.com",
    ] {
        let res = app
            .post(&browser(), fns::SIGN_IN_EMAIL, &[("email", fine)])
            .await;
        assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    }
}
