//! Members, invitations and people in several accounts.
use app::domain::ids::UserId;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn invite(app: &TestApp, owner: &Owner, email: &str, role: &str) {
    let res = app
        .post(
            &owner.browser,
            fns::INVITE_MEMBER,
            &[("email", email), ("role", role)],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    let page = app.page(&owner.browser, paths::MEMBERS).await;
    assert!(
        page.contains(&format!("Invitation sent to {email}")),
        "{page}"
    );
}

async fn invitation_link(email: &str, count: usize) -> String {
    let mails = wait_for_mail(email, count).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.subject == "You are invited to an account on Terminus Hub")
        .expect("an invitation");
    mail.link(&paths::with_token(paths::INVITE, ""))
}

/// Opens the link in `client`: the token moves into the session, the page shows the offer.
async fn open_invite(app: &TestApp, client: &Client, link: &str) -> String {
    assert_redirect(&client.get(link).send().await.unwrap(), paths::INVITE);
    app.page(client, paths::INVITE).await
}

/// The id of the one entry of `list` for which `pick` holds.
fn only_id(list: &[Value], pick: impl Fn(&Value) -> bool) -> String {
    let found: Vec<&Value> = list.iter().filter(|v| pick(v)).collect();
    assert_eq!(found.len(), 1, "{list:?}");
    found[0]["id"].as_str().unwrap().to_owned()
}

async fn account_names(app: &TestApp, client: &Client) -> String {
    app.page(client, paths::ACCOUNTS).await
}

#[tokio::test]
async fn a_new_person_sets_a_password_and_joins_without_an_account_of_their_own() {
    let app = TestApp::spawn().await;
    let owner = app.owner("boss").await;
    let newcomer = unique_email("newcomer");
    invite(&app, &owner, &newcomer, "member").await;
    let link = invitation_link(&newcomer, 1).await;

    let client = browser();
    let page = open_invite(&app, &client, &link).await;
    assert!(page.contains("as member") && page.contains("Choose a password"));
    // The password policy applies.
    assert_redirect(
        &app.post(
            &client,
            fns::ACCEPT_INVITATION,
            &[("password", "password1")],
        )
        .await,
        paths::INVITE,
    );
    assert!(app
        .page(&client, paths::INVITE)
        .await
        .contains("too common"));
    let res = app
        .post(&client, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
        .await;
    assert_redirect(&res, paths::HOME);
    let home = app.page(&client, paths::HOME).await;
    assert!(
        home.contains("boss-") && home.contains(">Main<"),
        "lands in the inviting account"
    );
    assert_eq!(
        app.world.tally().await.accounts,
        1,
        "no personal account for invitees"
    );
    assert_eq!(app.world.tally().await.users, 2);
    let account = app.world.only_account_of(&newcomer).await;
    for member in app.world.members(&account).await {
        let user = app.world.existing_user(&member.email).await;
        assert!(user.email_confirmed_at.is_some(), "{}", member.email);
    }

    // The link is single use; the new person can sign in normally.
    let other = browser();
    assert!(open_invite(&app, &other, &link)
        .await
        .contains("invalid, has expired, was revoked or was already used"));
    assert_redirect(
        &app.sign_in(&browser(), &newcomer, PASSWORD).await,
        paths::HOME,
    );
    let activity = app.page(&owner.browser, paths::ACTIVITY).await;
    assert!(activity.contains("invitation.created") && activity.contains("member.joined"));
}

#[tokio::test]
async fn an_existing_user_signs_in_accepts_and_then_picks_between_accounts() {
    let app = TestApp::spawn().await;
    let owner = app.owner("alpha").await;
    let bob = app.confirmed_user("bob").await;
    invite(&app, &owner, &bob, "admin").await;
    let link = invitation_link(&bob, 2).await;

    let client = browser();
    let page = open_invite(&app, &client, &link).await;
    assert!(page.contains("Sign in to accept"));
    let res = app.post(&client, fns::ACCEPT_INVITATION, &[]).await;
    assert_redirect(&res, paths::SIGN_IN_PASSWORD);
    assert!(app
        .page(&client, paths::SIGN_IN_PASSWORD)
        .await
        .contains(&format!("value=\"{bob}\"")));
    let res = app.sign_in_password(&client, &bob, PASSWORD).await;
    assert_redirect(&res, paths::INVITE);
    assert!(app
        .page(&client, paths::INVITE)
        .await
        .contains("Join account"));
    assert_redirect(
        &app.post(&client, fns::ACCEPT_INVITATION, &[]).await,
        paths::HOME,
    );
    assert!(app.page(&client, paths::HOME).await.contains("alpha-"));

    // The next sign-in offers both accounts; switching changes the workspaces shown.
    let fresh = browser();
    assert_redirect(&app.sign_in(&fresh, &bob, PASSWORD).await, paths::ACCOUNTS);
    let picker = account_names(&app, &fresh).await;
    assert!(
        picker.contains("alpha-") && picker.contains("bob-"),
        "{picker}"
    );
    assert_redirect(&app.get(&fresh, paths::HOME).await, paths::ACCOUNTS);

    let bobs = app.world.memberships(&bob).await;
    let account_named = |prefix: &str| {
        let found: Vec<_> = bobs
            .iter()
            .filter(|m| m.account_name.starts_with(prefix))
            .collect();
        assert_eq!(found.len(), 1, "{bobs:?}");
        found[0].account_id.as_str().to_owned()
    };
    let alpha_id = account_named("alpha-");
    let bob_id = account_named("bob-");
    // A workspace only Alpha has, through Alpha's API key.
    let key = app.full_key(&owner).await;
    app.api(reqwest::Method::POST, "/workspaces", &key)
        .json(&json!({"name": "Alpha reports"}))
        .send()
        .await
        .unwrap();
    assert_redirect(
        &app.post(&fresh, fns::SWITCH_ACCOUNT, &[("account_id", &alpha_id)])
            .await,
        paths::HOME,
    );
    assert!(app
        .page(&fresh, paths::HOME)
        .await
        .contains("Alpha reports"));
    assert_redirect(
        &app.post(&fresh, fns::SWITCH_ACCOUNT, &[("account_id", &bob_id)])
            .await,
        paths::HOME,
    );
    assert!(!app
        .page(&fresh, paths::HOME)
        .await
        .contains("Alpha reports"));
    // Not a member: refused.
    let res = app
        .post(&fresh, fns::SWITCH_ACCOUNT, &[("account_id", "acct_nope")])
        .await;
    assert_redirect(&res, paths::ACCOUNTS);
}

#[tokio::test]
async fn an_invitation_for_someone_else_is_refused_and_members_are_not_invited_twice() {
    let app = TestApp::spawn().await;
    let owner = app.owner("owner").await;
    let invited = unique_email("invited");
    invite(&app, &owner, &invited, "member").await;
    let link = invitation_link(&invited, 1).await;

    let mallory = app.confirmed_user("mallory").await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &mallory, PASSWORD).await, paths::HOME);
    let page = open_invite(&app, &client, &link).await;
    assert!(page.contains(&format!(
        "This invitation is for {invited}, but you are signed in as {mallory}"
    )));
    assert_redirect(
        &app.post(&client, fns::ACCEPT_INVITATION, &[]).await,
        paths::INVITE,
    );
    assert_eq!(
        app.world.tally().await.memberships,
        2,
        "mallory did not join"
    );

    // Inviting a member again says so.
    let res = app
        .post(
            &owner.browser,
            fns::INVITE_MEMBER,
            &[("email", "OWNER-x@example.com"), ("role", "member")],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    let members = app.listed(&owner.browser, "members").await;
    let own_email = members.iter().find(|m| m["role"] == "owner").unwrap()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(own_email.starts_with("owner-"), "{own_email}");
    app.post(
        &owner.browser,
        fns::INVITE_MEMBER,
        &[("email", &own_email.to_uppercase()), ("role", "member")],
    )
    .await;
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("is already a member of this account"));
}

#[tokio::test]
async fn revoked_and_resent_invitations_kill_the_old_link() {
    let app = TestApp::spawn().await;
    let owner = app.owner("host").await;
    let guest = unique_email("guest");
    invite(&app, &owner, &guest, "member").await;
    let first = invitation_link(&guest, 1).await;
    let id = only_id(&app.listed(&owner.browser, "invitations").await, |_| true);
    // Within the minute the address is not mailed again.
    assert_redirect(
        &app.post(&owner.browser, fns::RESEND_INVITATION, &[("id", &id)])
            .await,
        paths::MEMBERS,
    );
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("less than a minute ago"));
    app.clock.advance(std::time::Duration::from_secs(61));
    assert_redirect(
        &app.post(&owner.browser, fns::RESEND_INVITATION, &[("id", &id)])
            .await,
        paths::MEMBERS,
    );
    let second = invitation_link(&guest, 2).await;
    assert_ne!(first, second);
    assert!(open_invite(&app, &browser(), &first)
        .await
        .contains("was revoked"));
    assert!(open_invite(&app, &browser(), &second)
        .await
        .contains("Choose a password"));

    let id = only_id(&app.listed(&owner.browser, "invitations").await, |_| true);
    assert_redirect(
        &app.post(&owner.browser, fns::REVOKE_INVITATION, &[("id", &id)])
            .await,
        paths::MEMBERS,
    );
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("No pending invitations."));
    assert!(open_invite(&app, &browser(), &second)
        .await
        .contains("was revoked"));
}

#[tokio::test]
async fn the_last_owner_stays_and_role_changes_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner("solo").await;
    let owner_id = only_id(&app.listed(&owner.browser, "members").await, |_| true);
    // The last owner can be neither demoted nor removed (nor leave).
    let res = app
        .post(
            &owner.browser,
            fns::CHANGE_MEMBER_ROLE,
            &[("user_id", &owner_id), ("role", "member")],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("always keeps at least one owner"));
    // Leaving goes through a confirmation page first.
    let leave = app
        .page(
            &owner.browser,
            &paths::member_removal(&UserId::from_stored(owner_id.as_str())),
        )
        .await;
    assert!(leave.contains("Leave account") && leave.contains("action=\"/_fn/remove_member\""));
    app.post(
        &owner.browser,
        fns::REMOVE_MEMBER,
        &[("user_id", &owner_id)],
    )
    .await;
    assert!(app
        .page(&owner.browser, paths::MEMBERS)
        .await
        .contains("always keeps at least one owner"));
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/members/{owner_id}")))
        .header("origin", &app.base)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::CONFLICT,
        "invalid_request_error",
        Some("last_owner"),
    )
    .await;

    // An admin joins; the API invites and lists.
    let admin_email = unique_email("second");
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&json!({"email": admin_email, "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let inv: Value = res.json().await.unwrap();
    assert_eq!(
        (inv["object"].as_str(), inv["role"].as_str()),
        (Some("invitation"), Some("admin"))
    );
    let admin = browser();
    open_invite(&app, &admin, &invitation_link(&admin_email, 1).await).await;
    assert_redirect(
        &app.post(&admin, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    let members: Value = owner
        .browser
        .get(app.url("/api/v1/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members["data"].as_array().unwrap().len(), 2);
    let admin_id = only_id(members["data"].as_array().unwrap(), |m| {
        m["role"] == "admin"
    });

    // An admin cannot make owners or touch the owner.
    let res = admin
        .patch(app.url(&format!("/api/v1/members/{admin_id}")))
        .header("origin", &app.base)
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("role_not_allowed"),
    )
    .await;
    let res = admin
        .delete(app.url(&format!("/api/v1/members/{owner_id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("role_not_allowed"),
    )
    .await;
    assert_eq!(
        app.get(&admin, paths::MEMBERS).await.status(),
        StatusCode::OK
    );

    // Demoted: the admin pages close on the next request.
    let res = app
        .post(
            &owner.browser,
            fns::CHANGE_MEMBER_ROLE,
            &[("user_id", &admin_id), ("role", "member")],
        )
        .await;
    assert_redirect(&res, paths::MEMBERS);
    assert_eq!(
        app.get(&admin, paths::MEMBERS).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .get(app.url("/api/v1/members"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    // Promoted to owner, the first owner may now step down.
    app.post(
        &owner.browser,
        fns::CHANGE_MEMBER_ROLE,
        &[("user_id", &admin_id), ("role", "owner")],
    )
    .await;
    let res = owner
        .browser
        .patch(app.url(&format!("/api/v1/members/{owner_id}")))
        .header("origin", &app.base)
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Removed: their session in the account ends at once; signed in again, they get the
    // picker, which offers to create an account.
    let res = admin
        .delete(app.url(&format!("/api/v1/members/{owner_id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_redirect(&app.get(&owner.browser, paths::HOME).await, paths::SIGN_IN);
    let owner_email = app
        .world
        .user_by_id(&owner_id)
        .await
        .email
        .as_str()
        .to_owned();
    assert_redirect(
        &app.sign_in(&owner.browser, &owner_email, PASSWORD).await,
        paths::ACCOUNTS,
    );
    assert!(app
        .page(&owner.browser, paths::ACCOUNTS)
        .await
        .contains("not a member of any account"));
    let activity = app.page(&admin, paths::ACTIVITY).await;
    assert!(activity.contains("member.role_changed") && activity.contains("member.removed"));
}

#[tokio::test]
async fn another_account_gets_its_own_main_workspace() {
    let app = TestApp::spawn().await;
    let owner = app.owner("founder").await;
    let res = app
        .post(&owner.browser, fns::CREATE_ACCOUNT, &[("name", "")])
        .await;
    assert_redirect(&res, paths::ACCOUNTS);
    assert!(app
        .page(&owner.browser, paths::ACCOUNTS)
        .await
        .contains("Give the account a name."));
    let res = app
        .post(
            &owner.browser,
            fns::CREATE_ACCOUNT,
            &[("name", "Side project")],
        )
        .await;
    assert_redirect(&res, paths::HOME);
    let home = app.page(&owner.browser, paths::HOME).await;
    assert!(home.contains("Side project") && home.contains(">Main<"));
    let members = app.listed(&owner.browser, "members").await;
    let founder = members[0]["email"].as_str().unwrap();
    let mut mains = 0;
    for membership in app.world.memberships(founder).await {
        let names = app
            .world
            .workspace_names(membership.account_id.as_str())
            .await;
        mains += names.iter().filter(|n| *n == "Main").count();
    }
    assert_eq!(mains, 2);
    let picker = app.page(&owner.browser, paths::ACCOUNTS).await;
    assert!(picker.contains("Side project") && picker.contains("founder-"));
}

/// The review's flood: 25 invitations to one address at once, each with account-chosen text.
/// One is mailed; the rest are refused, and nothing else is stored.
#[tokio::test]
async fn invitations_are_throttled_per_recipient_and_per_account_per_day() {
    let app = TestApp::spawn_with(|c| c.invitations_per_day = 3).await;
    let owner = app.owner("flooder").await;
    let target = unique_email("target");
    let attempts = (0..25).map(|_| {
        let (app, owner, target) = (&app, &owner, &target);
        async move {
            let res = owner
                .browser
                .post(app.url("/api/v1/invitations"))
                .header("origin", &app.base)
                .json(&serde_json::json!({"email": target, "role": "member"}))
                .send()
                .await
                .unwrap();
            res.status()
        }
    });
    let statuses = collect_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((created, limited), (1, 24), "{statuses:?}");
    assert_eq!(app.world.tally().await.invitations, 1);
    wait_for_mail(&target, 1).await;

    // The daily cap: three in all today (the first counted), the fourth refused.
    for i in 0..2 {
        invite(&app, &owner, &unique_email(&format!("more{i}")), "member").await;
    }
    let res = owner
        .browser
        .post(app.url("/api/v1/invitations"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"email": unique_email("fourth"), "role": "member"}))
        .send()
        .await
        .unwrap();
    let err = assert_api_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("invitation_limit_reached"),
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("today"));
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    invite(&app, &owner, &unique_email("tomorrow"), "member").await;
}

/// Revoking follows the same rule as inviting and resending: an admin cannot touch an
/// invitation to become an owner.
#[tokio::test]
async fn an_admin_cannot_revoke_an_owner_invitation() {
    let app = TestApp::spawn().await;
    let owner = app.owner("boss").await;
    invite(&app, &owner, &unique_email("future-owner"), "owner").await;
    let id = only_id(&app.listed(&owner.browser, "invitations").await, |_| true);
    let admin_email = unique_email("admin");
    invite(&app, &owner, &admin_email, "admin").await;
    let admin = browser();
    let link = invitation_link(&admin_email, 1).await;
    open_invite(&app, &admin, &link).await;
    assert_redirect(
        &app.post(&admin, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    let res = admin
        .delete(app.url(&format!("/api/v1/invitations/{id}")))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::FORBIDDEN,
        "permission_error",
        Some("role_not_allowed"),
    )
    .await;
    assert_redirect(
        &app.post(&admin, fns::REVOKE_INVITATION, &[("id", &id)])
            .await,
        paths::MEMBERS,
    );
    assert!(app
        .page(&admin, paths::MEMBERS)
        .await
        .contains("does not allow managing that invitation"));
    let pending = app.listed(&owner.browser, "invitations").await;
    assert_eq!(
        pending.iter().filter(|i| i["role"] == "owner").count(),
        1,
        "the owner invitation is still pending"
    );
}

/// Control, invisible and direction-changing characters never make it into names.
#[tokio::test]
async fn names_refuse_control_and_bidi_characters() {
    let app = TestApp::spawn().await;
    let owner = app.owner("names").await;
    for bad in [
        "Acme\r\nINFO forged",
        "\u{202e}emcA",
        "Ac\u{200b}me",
        "Acme\u{0}",
    ] {
        let res = app
            .post(&owner.browser, fns::CREATE_ACCOUNT, &[("name", bad)])
            .await;
        assert_redirect(&res, paths::ACCOUNTS);
        assert!(app
            .page(&owner.browser, paths::ACCOUNTS)
            .await
            .contains("cannot contain line breaks"));
    }
    assert_eq!(app.world.tally().await.accounts, 1);
    let key = app.full_key(&owner).await;
    for (path, field) in [("/workspaces", "name")] {
        let res = app
            .api(reqwest::Method::POST, path, &key)
            .json(&serde_json::json!({ field: "line\nbreak" }))
            .send()
            .await
            .unwrap();
        let err = assert_api_error(
            res,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            Some("parameter_invalid_characters"),
        )
        .await;
        assert_eq!(err["path"], "/name");
    }
    let res = owner
        .browser
        .post(app.url("/api/v1/api_keys"))
        .header("origin", &app.base)
        .json(&serde_json::json!({"name": "key\u{2066}"}))
        .send()
        .await
        .unwrap();
    assert_api_error(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request_error",
        Some("parameter_invalid_characters"),
    )
    .await;
}

#[tokio::test]
async fn every_member_has_account_settings_and_leaves_from_there_but_the_only_owner_cannot() {
    let app = TestApp::spawn().await;
    let owner = app.owner("settled").await;

    // The only owner: the plan and what the account holds, a rename form, no way to leave
    // (and no role menu or "Leave" on the members page), with the reason.
    let page = app.page(&owner.browser, paths::ACCOUNT_SETTINGS).await;
    assert!(
        page.contains("600 API requests a minute, bursts of up to 100"),
        "{page}"
    );
    assert!(page.contains("1 workspaces, 1 members"), "{page}");
    assert!(
        page.contains("0 API requests in the last 30 days"),
        "{page}"
    );
    assert!(page.contains("id=\"cannot-leave\""), "{page}");
    assert!(!page.contains("Leave this account…"), "{page}");
    let members = app.page(&owner.browser, paths::MEMBERS).await;
    assert!(members.contains("(the only owner)"), "{members}");
    assert!(
        !members.contains("id=\"role-") && !members.contains(">Leave<"),
        "{members}"
    );

    // Renamed by the owner; a bad name is refused next to the field, the typing kept.
    let res = app
        .post(
            &owner.browser,
            fns::RENAME_ACCOUNT,
            &[("name", "Acme\u{202e}")],
        )
        .await;
    assert_redirect(&res, paths::ACCOUNT_SETTINGS);
    let page = app.page(&owner.browser, paths::ACCOUNT_SETTINGS).await;
    assert!(page.contains("field-error"), "{page}");
    let res = app
        .post(
            &owner.browser,
            fns::RENAME_ACCOUNT,
            &[("name", " Acme Inc ")],
        )
        .await;
    assert_redirect(&res, paths::ACCOUNT_SETTINGS);
    let page = app.page(&owner.browser, paths::ACCOUNT_SETTINGS).await;
    assert!(page.contains("The account is now \"Acme Inc\"."), "{page}");
    let activity = app.page(&owner.browser, paths::ACTIVITY).await;
    assert!(activity.contains("account.renamed"), "{activity}");

    // A plain member sees the settings without the rename form, cannot rename, and leaves.
    let member_email = unique_email("plain");
    invite(&app, &owner, &member_email, "member").await;
    let member = browser();
    open_invite(&app, &member, &invitation_link(&member_email, 1).await).await;
    assert_redirect(
        &app.post(&member, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    let page = app.page(&member, paths::ACCOUNT_SETTINGS).await;
    assert!(
        page.contains("Acme Inc") && !page.contains(">Rename<"),
        "{page}"
    );
    assert!(page.contains("Leave this account…"), "{page}");
    app.post(&member, fns::RENAME_ACCOUNT, &[("name", "Mine now")])
        .await;
    assert!(app
        .page(&owner.browser, paths::ACCOUNT_SETTINGS)
        .await
        .contains("Acme Inc"));
    let member_id = only_id(&app.listed(&owner.browser, "members").await, |m| {
        m["email"] == member_email.as_str()
    });
    let leave = paths::member_removal(&UserId::from_input(&member_id));
    assert!(app.page(&member, &leave).await.contains("Leave account"));
    let res = app
        .post(&member, fns::REMOVE_MEMBER, &[("user_id", &member_id)])
        .await;
    assert_redirect(&res, paths::ACCOUNTS);
    assert_eq!(app.listed(&owner.browser, "members").await.len(), 1);

    // The owner deletes the account: the name typed back first; then everything is gone,
    // its keys refused at once, and everyone signed out of it.
    let key = app.full_key(&owner).await;
    let page = app.page(&owner.browser, paths::ACCOUNT_SETTINGS).await;
    assert!(page.contains("Delete this account"), "{page}");
    let res = app
        .post(&owner.browser, fns::DELETE_ACCOUNT, &[("confirm", "Acme")])
        .await;
    assert_redirect(&res, paths::ACCOUNT_SETTINGS);
    let page = app.page(&owner.browser, paths::ACCOUNT_SETTINGS).await;
    assert!(page.contains("exactly as it is shown"), "{page}");
    let res = app
        .post(
            &owner.browser,
            fns::DELETE_ACCOUNT,
            &[("confirm", "Acme Inc")],
        )
        .await;
    assert_redirect(&res, paths::SIGN_IN);
    assert_eq!(
        app.api(reqwest::Method::GET, "/account", &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_redirect(&app.get(&owner.browser, paths::HOME).await, paths::SIGN_IN);
    assert_eq!(app.world.tally().await.accounts, 0);
}
