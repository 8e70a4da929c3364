//! The operator's kit through the real binary, on the suite's database (SQLite or
//! PostgreSQL) while a server runs on it: look-ups (tables and `--json`), accounts named by
//! their owner's email, commands that change nothing saying so, disabling a user (no sign-in,
//! sessions end, keys keep working), enabling them, signing them out everywhere, and the
//! audit events of the changes.
use app::domain::clock::Clock as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;
use crate::operating::{run_cli, Ran};

fn json_of(ran: &Ran) -> Value {
    assert!(ran.ok, "{}", ran.stderr);
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

#[tokio::test]
async fn the_operator_looks_up_disables_and_signs_out() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("TERMINUS_PUBLIC_URL", app.base.as_str()),
    ];
    let admin = |args: &[&str]| run_cli(dir.path(), &settings, args);

    let owner = app.owner("kit-owner").await;
    let key = app.full_key(&owner).await;
    let other = app.confirmed_user("kit-other").await;
    let listed = json_of(&admin(&["admin", "user", "list", "--json"]));
    let emails: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&other.as_str()), "{emails:?}");
    let owner_email = emails
        .iter()
        .find(|e| e.starts_with("kit-owner"))
        .unwrap()
        .to_string();

    // Tables for people, filters, and JSON for scripts.
    let table = admin(&["admin", "user", "list", "--email-contains", "KIT-OTHER"]);
    assert!(table.ok, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("EMAIL"),
        "{}",
        table.stdout
    );
    assert_eq!(lines.len(), 2, "{}", table.stdout);
    assert!(lines[1].contains(&other));
    let none = admin(&["admin", "user", "list", "--disabled"]);
    assert_eq!(none.stdout.trim(), "No user matches.");

    let shown = json_of(&admin(&["admin", "user", "show", &owner_email, "--json"]));
    assert_eq!(shown["email"], owner_email.as_str());
    assert_eq!(shown["accounts"][0]["role"], "owner");
    assert!(shown["sessions"].as_u64().unwrap() >= 1, "{shown}");
    assert!(shown["last_sign_in_at"].is_string(), "{shown}");
    assert_eq!(shown["disabled_at"], Value::Null);
    assert_eq!(shown["second_factors"]["authenticator_app"], false);
    assert!(!shown.to_string().contains("argon2"), "no hash is printed");
    let account_id = shown["accounts"][0]["id"].as_str().unwrap().to_owned();

    let accounts = json_of(&admin(&["admin", "account", "list", "--json"]));
    assert!(accounts
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == account_id.as_str() && a["owners"][0] == owner_email.as_str()));
    let account = json_of(&admin(&[
        "admin",
        "account",
        "show",
        &owner_email,
        "--json",
    ]));
    assert_eq!(account["id"], account_id.as_str());
    assert_eq!(account["members"].as_array().unwrap().len(), 1);
    assert_eq!(account["api_keys"].as_array().unwrap().len(), 1);
    let text = admin(&["admin", "account", "show", &account_id]);
    assert!(
        text.ok && text.stdout.contains("API keys (1)"),
        "{}",
        text.stdout
    );
    let keys = json_of(&admin(&["admin", "key", "list", &owner_email, "--json"]));
    assert_eq!(keys[0]["name"], "script");
    assert!(
        !keys.to_string().contains(&key),
        "a key is never shown again"
    );
    let keys = admin(&["admin", "key", "list", &account_id]);
    assert!(keys.stdout.contains("script"), "{}", keys.stdout);

    // An owner's email names their account; changing nothing says so.
    let ran = admin(&["admin", "account", "set-plan", &owner_email, "team"]);
    assert!(
        ran.ok && ran.stdout.contains("now on the plan team"),
        "{}",
        ran.stdout
    );
    let ran = admin(&["admin", "account", "set-plan", &owner_email, "team"]);
    assert!(
        ran.ok && ran.stdout.contains("already on the plan team"),
        "{}",
        ran.stdout
    );
    let ran = admin(&["admin", "account", "show", "nobody@example.com"]);
    assert_eq!(ran.code, Some(1));
    assert!(
        ran.stderr
            .contains("no user has the email nobody@example.com"),
        "{}",
        ran.stderr
    );
    let ran = admin(&["admin", "user", "unlock", &other]);
    assert!(
        ran.ok && ran.stdout.contains("was not locked"),
        "{}",
        ran.stdout
    );

    // Disabled: the session ends, no sign-in, the key keeps working.
    let ran = admin(&["admin", "user", "disable", &owner_email]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("API keys keep working"),
        "{}",
        ran.stdout
    );
    assert_redirect(&app.get(&owner.browser, paths::HOME).await, paths::SIGN_IN);
    let client = browser();
    assert_redirect(
        &app.sign_in(&client, &owner_email, PASSWORD).await,
        paths::SIGN_IN,
    );
    assert!(app
        .page(&client, paths::SIGN_IN)
        .await
        .contains("This user is disabled"));
    assert_redirect(&app.get(&client, paths::HOME).await, paths::SIGN_IN);
    let res = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "API keys keep working");
    let listed = json_of(&admin(&["admin", "user", "list", "--disabled", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["email"], owner_email.as_str());
    let ran = admin(&["admin", "user", "disable", &owner_email]);
    assert!(
        ran.ok && ran.stdout.contains("already disabled"),
        "{}",
        ran.stdout
    );

    // Enabled again: they sign in; then signed out everywhere from the command line.
    let ran = admin(&["admin", "user", "enable", &owner_email]);
    assert!(ran.ok && ran.stdout.contains("Enabled"), "{}", ran.stdout);
    let ran = admin(&["admin", "user", "enable", &owner_email]);
    assert!(
        ran.ok && ran.stdout.contains("was not disabled"),
        "{}",
        ran.stdout
    );
    let again = browser();
    assert_redirect(
        &app.sign_in(&again, &owner_email, PASSWORD).await,
        paths::HOME,
    );
    assert_eq!(app.get(&again, paths::HOME).await.status(), StatusCode::OK);
    let ran = admin(&["admin", "user", "sign-out-everywhere", &owner_email]);
    assert!(
        ran.ok && ran.stdout.contains("1 session(s) ended"),
        "{}",
        ran.stdout
    );
    assert_redirect(&app.get(&again, paths::HOME).await, paths::SIGN_IN);

    // Every change left its audit event, with no acting user; the look-ups left none.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE actor_user_id IS NULL ORDER BY at, id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "account.plan_changed",
            "user.disabled",
            "user.enabled",
            "user.signed_out_everywhere",
        ]
    );
}

#[tokio::test]
async fn the_operator_hands_over_exports_erases_and_deletes() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("TERMINUS_PUBLIC_URL", app.base.as_str()),
    ];
    let admin = |args: &[&str]| run_cli(dir.path(), &settings, args);
    let owner = app.owner("hand-owner").await;
    let key = app.full_key(&owner).await;
    let users = json_of(&admin(&[
        "admin",
        "user",
        "list",
        "--json",
        "--email-contains",
        "hand-owner",
    ]));
    let owner_email = users[0]["email"].as_str().unwrap().to_owned();
    let owner_id = users[0]["id"].as_str().unwrap().to_owned();
    let helper = app.confirmed_user("hand-helper").await;
    let heir = app.confirmed_user("hand-heir").await;

    // A new email: normalised, confirmed, never one that is taken.
    let renamed = format!("renamed-{helper}");
    let ran = admin(&[
        "admin",
        "user",
        "set-email",
        &helper,
        &renamed.to_uppercase(),
    ]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(ran.stdout.contains(&renamed), "{}", ran.stdout);
    assert_eq!(admin(&["admin", "user", "show", &helper]).code, Some(1));
    let ran = admin(&["admin", "user", "set-email", &renamed, &heir]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("already has a user"), "{}", ran.stderr);
    assert_redirect(
        &app.sign_in(&browser(), &renamed, PASSWORD).await,
        paths::HOME,
    );

    // Owners: one added, then the account handed over.
    let ran = admin(&["admin", "account", "add-owner", &owner_email, &renamed]);
    assert!(
        ran.ok && ran.stdout.contains("now an owner"),
        "{}",
        ran.stdout
    );
    let account = json_of(&admin(&["admin", "user", "show", &owner_email, "--json"]));
    let account_id = account["accounts"][0]["id"].as_str().unwrap().to_owned();
    let ran = admin(&["admin", "account", "add-owner", &account_id, &renamed]);
    assert!(
        ran.ok && ran.stdout.contains("nothing to do"),
        "{}",
        ran.stdout
    );
    let ran = admin(&["admin", "account", "transfer", &account_id, &heir]);
    assert!(
        ran.ok && ran.stdout.contains("2 previous owner(s)"),
        "{}",
        ran.stdout
    );
    let shown = json_of(&admin(&["admin", "account", "show", &account_id, "--json"]));
    let role_of = |email: &str| {
        shown["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .map(|m| m["role"].as_str().unwrap().to_owned())
    };
    assert_eq!(role_of(&heir).as_deref(), Some("owner"));
    assert_eq!(role_of(&owner_email).as_deref(), Some("admin"));
    assert_eq!(role_of(&renamed).as_deref(), Some("admin"));

    // An export: the person's data, no secret.
    let export = json_of(&admin(&["admin", "user", "export", &owner_email]));
    assert_eq!(export["user"]["email"], owner_email.as_str());
    assert!(export["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == account_id.as_str()));
    assert_eq!(export["api_keys_created"][0]["name"], "script");
    assert!(!export["activity"].as_array().unwrap().is_empty());
    let text = export.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(&key),
        "no secret"
    );

    // Erasing: confirmed, refused for a sole owner, pseudonymised in the audit trail.
    let ran = admin(&["admin", "user", "erase", &owner_email]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("add --yes"), "{}", ran.stderr);
    let own_account = app.confirmed_user("hand-sole").await;
    let ran = admin(&["admin", "user", "erase", &own_account, "--yes"]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("only owner"), "{}", ran.stderr);
    let ran = admin(&[
        "admin",
        "user",
        "erase",
        &own_account,
        "--yes",
        "--delete-sole-accounts",
    ]);
    assert!(
        ran.ok && ran.stdout.contains("accounts they alone owned"),
        "{}",
        ran.stdout
    );
    let ran = admin(&["admin", "user", "erase", &owner_email, "--yes"]);
    assert!(ran.ok, "{}", ran.stderr);
    assert_eq!(
        admin(&["admin", "user", "show", &owner_email]).code,
        Some(1)
    );
    let left = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE actor_user_id = '{owner_id}' OR detail LIKE '%{owner_email}%' OR detail LIKE '%{owner_id}%'"
        ))
        .await;
    assert_eq!(left, 0, "the audit trail no longer names them");
    let res = app
        .api(Method::GET, "/workspaces", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the account's keys outlive their creator"
    );

    // Deleting an account: confirmed, then everything under it goes.
    let ran = admin(&["admin", "account", "delete", &heir, "--yes"]);
    assert_eq!(ran.code, Some(1), "the heir owns two accounts now");
    assert!(
        ran.stderr.contains("owns 2 accounts") && ran.stderr.contains(&account_id),
        "{}",
        ran.stderr
    );
    let ran = admin(&["admin", "account", "delete", &account_id]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("add --yes"), "{}", ran.stderr);
    let ran = admin(&["admin", "account", "delete", &account_id, "--yes"]);
    assert!(ran.ok, "{}", ran.stderr);
    assert_eq!(
        admin(&["admin", "account", "show", &account_id]).code,
        Some(1)
    );
    assert_invalid_key(
        app.api(Method::GET, "/workspaces", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM workspaces WHERE account_id = '{account_id}'"
        ))
        .await,
        0
    );

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE actor_user_id IS NULL ORDER BY at, id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for action in [
        "user.email_changed",
        "user.exported",
        "user.erased",
        "account.deleted",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// `admin audit export` as JSON Lines (of an account, from a time), and the retention the
/// server applies at start and daily.
#[tokio::test]
async fn the_audit_trail_is_exported_and_kept_as_long_as_configured() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("TERMINUS_PUBLIC_URL", app.base.as_str()),
    ];
    let admin = |args: &[&str]| run_cli(dir.path(), &settings, args);
    let owner = app.owner("audit-owner").await;
    app.full_key(&owner).await;
    let users = json_of(&admin(&[
        "admin",
        "user",
        "list",
        "--json",
        "--email-contains",
        "audit-owner",
    ]));
    let owner_email = users[0]["email"].as_str().unwrap().to_owned();
    let other = app.confirmed_user("audit-other").await;
    // An event from long ago, for the retention below.
    sqlx::query(
        "INSERT INTO audit_events (id, account_id, actor_user_id, action, detail, at) VALUES ('aud_0old', NULL, NULL, 'test.ancient', NULL, 1000)",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let ran = admin(&[
        "admin",
        "audit",
        "export",
        "--account",
        &owner_email,
        "--format",
        "jsonl",
    ]);
    assert!(ran.ok, "{}", ran.stderr);
    let lines: Vec<Value> = ran
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["action"] == "api_key.created"),
        "{}",
        ran.stdout
    );
    let account_id = lines[0]["account_id"].as_str().unwrap().to_owned();
    assert!(lines.iter().all(|l| l["account_id"] == account_id.as_str()));
    let ats: Vec<&str> = lines.iter().map(|l| l["at"].as_str().unwrap()).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    let all = admin(&["admin", "audit", "export"]);
    assert!(all.stdout.contains("test.ancient"));
    let recent = admin(&["admin", "audit", "export", "--since", "2000-01-01"]);
    assert!(recent.ok, "{}", recent.stderr);
    assert!(!recent.stdout.contains("test.ancient"));
    assert!(
        recent.stdout.lines().count() > lines.len(),
        "every account's"
    );
    let bad = admin(&["admin", "audit", "export", "--since", "last week"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("--since last week"), "{}", bad.stderr);
    let ambiguous = admin(&[
        "admin",
        "audit",
        "export",
        "--account",
        &other,
        "--since",
        "2000-01-01",
    ]);
    assert!(ambiguous.ok, "{}", ambiguous.stderr);

    // Kept for a day: the server deletes the old event at start, and nothing newer.
    let before = app.count("SELECT COUNT(*) FROM audit_events").await;
    let app = app.restart_with(|c| c.audit_retention_days = Some(1)).await;
    eventually("the old event is deleted", || async {
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'test.ancient'")
            .await
            == 0
    })
    .await;
    // The exports above wrote their own events: nothing else went.
    assert!(app.count("SELECT COUNT(*) FROM audit_events").await >= before - 1);
}

/// `config check` prints the effective configuration with secrets redacted and fails with
/// each problem on a line; a bad `terminus.toml` is reported as lines, not `\n`.
#[test]
fn the_configuration_is_checked_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run_cli(
        dir.path(),
        &[
            ("DATABASE_URL", "postgres://hub:hunter2@db.internal/hub"),
            ("SMTP_URL", "smtp://mailer:swordfish@127.0.0.1:2525"),
            (
                "TERMINUS_SECRET_KEY",
                "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=",
            ),
        ],
        &["config", "check"],
    );
    assert!(ran.ok, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("database_url"), "{}", ran.stdout);
    assert!(ran.stdout.contains("postgres://[redacted]@db.internal/hub"));
    assert!(ran.stdout.contains("The configuration is valid."));
    for secret in ["hunter2", "swordfish", "qqqqqqqq"] {
        assert!(
            !ran.stdout.contains(secret) && !ran.stderr.contains(secret),
            "{secret}"
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "config check writes nothing"
    );

    let ran = run_cli(
        dir.path(),
        &[
            ("DATABASE_URL", "mysql://hub@db/hub"),
            ("TERMINUS_SECRET_KEY", "short"),
        ],
        &["config", "check"],
    );
    assert_eq!(ran.code, Some(1));
    let errors: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 2, "{}", ran.stderr);
    assert!(errors[0].contains("DATABASE_URL must start with"));
    assert!(errors[1].contains("TERMINUS_SECRET_KEY"));

    std::fs::write(dir.path().join("terminus.toml"), "addr = \"nowhere\"\n").unwrap();
    let ran = run_cli(dir.path(), &[], &["config", "check"]);
    assert_eq!(ran.code, Some(1));
    assert!(!ran.stderr.contains("\\n"), "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert!(lines.len() >= 3, "{}", ran.stderr);
    assert!(
        lines.iter().any(|l| l.contains("addr = \"nowhere\"")),
        "{}",
        ran.stderr
    );
}

/// `admin secret-key rotate`: every sealed secret under the new key, after which a server on
/// the new key reads them (an authenticator app still signs its person in).
#[tokio::test]
async fn the_secret_key_is_rotated_and_the_server_reads_with_the_new_one() {
    const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";
    let app = TestApp::spawn_with(|c| c.secret_key = Some(OLD.into())).await;
    let email = app.confirmed_user("rotate").await;
    let client = browser();
    assert_redirect(&app.sign_in(&client, &email, PASSWORD).await, paths::HOME);
    let enrolled = crate::second_factors::enrol(&app, &client).await;
    let dir = tempfile::tempdir().unwrap();
    let admin = |settings: &[(&str, &str)]| {
        let mut all = vec![
            ("DATABASE_URL", app.database_url.as_str()),
            ("TERMINUS_SECRET_KEY", OLD),
        ];
        all.extend_from_slice(settings);
        run_cli(dir.path(), &all, &["admin", "secret-key", "rotate"])
    };
    let ran = admin(&[]);
    assert_eq!(ran.code, Some(1));
    assert!(
        ran.stderr.contains("TERMINUS_NEW_SECRET_KEY"),
        "{}",
        ran.stderr
    );
    let ran = admin(&[("TERMINUS_NEW_SECRET_KEY", NEW)]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("1 authenticator-app secret(s)"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains(NEW) && !ran.stderr.contains(NEW));
    // Run again with the old key: nothing opens under it any more, nothing changes.
    let ran = admin(&[("TERMINUS_NEW_SECRET_KEY", NEW)]);
    assert_eq!(ran.code, Some(1));
    assert!(
        ran.stderr.contains("does not open under the current key"),
        "{}",
        ran.stderr
    );

    let app = app.restart_with(|c| c.secret_key = Some(NEW.into())).await;
    // Past the step the enrolment spent, on the restarted server's clock.
    app.clock.advance(std::time::Duration::from_secs(120));
    let client = browser();
    assert_redirect(
        &app.sign_in(&client, &email, PASSWORD).await,
        paths::SIGN_IN_SECOND_FACTOR,
    );
    let step = u64::try_from(app.clock.now().millis() / 1000).unwrap();
    let code = enrolled.totp.generate(step);
    let res = app
        .post(&client, fns::SIGN_IN_CODE, &[("code", &code)])
        .await;
    assert_redirect(&res, paths::HOME);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE action = 'secret_key.rotated'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(actions.len(), 1);
}

/// On a terminal, `admin account delete` asks for the account's id to be typed back: anything
/// else changes nothing. (`script` gives the command a terminal, fed from our stdin.)
#[tokio::test]
async fn a_deletion_on_a_terminal_asks_for_the_id_typed_back() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let owner = app.confirmed_user("typed").await;
    let settings = [("DATABASE_URL", app.database_url.as_str())];
    let shown = json_of(&run_cli(
        dir.path(),
        &settings,
        &["admin", "account", "show", &owner, "--json"],
    ));
    let account_id = shown["id"].as_str().unwrap().to_owned();
    let on_terminal = |typed: &str| {
        use std::io::Write as _;
        let command = format!(
            "{} admin account delete {account_id}",
            env!("CARGO_BIN_EXE_terminus-hub")
        );
        let mut child = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir.path())
            .env("DATABASE_URL", &app.database_url)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs the command on a terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{typed}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, text) = on_terminal("yes");
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("Type {account_id} to confirm")),
        "{text}"
    );
    assert!(
        text.contains("not confirmed: nothing was changed"),
        "{text}"
    );
    assert!(
        run_cli(
            dir.path(),
            &settings,
            &["admin", "account", "show", &account_id]
        )
        .ok
    );
    let (ok, text) = on_terminal(&account_id);
    assert!(ok, "{text}");
    assert!(text.contains("Deleted the account"), "{text}");
    assert_eq!(
        run_cli(
            dir.path(),
            &settings,
            &["admin", "account", "show", &account_id]
        )
        .code,
        Some(1)
    );
}
