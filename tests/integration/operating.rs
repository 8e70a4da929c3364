//! Operating it, through the real binary: `--version` and `--help`, the admin command line on
//! the configured database (with and without the server running), `mail test`, the outbox as
//! a newcomer reads it, invite-only sign-up, settings checked at start, and the warning for
//! an SMTP server that cannot be reached.
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use app::domain::clock::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::*;

const NEW_PASSWORD: &str = "quiet harbour lantern";

/// What a finished `terminus-hub …` printed.
pub struct Ran {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `terminus-hub args…` in `dir`, with only the settings given (none inherited).
pub fn run_cli(dir: &Path, settings: &[(&str, &str)], args: &[&str]) -> Ran {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_terminus-hub"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for name in [
        "DATABASE_URL",
        "SMTP_URL",
        "RUST_LOG",
        "TERMINUS_CONFIG",
        "TERMINUS_PUBLIC_URL",
        "TERMINUS_SIGNUP",
        "TERMINUS_DEFAULT_PLAN",
        "TERMINUS_LOG_FORMAT",
    ] {
        command.env_remove(name);
    }
    for (name, value) in settings {
        command.env(name, value);
    }
    let out = command.output().expect("run terminus-hub");
    Ran {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The first `http…` word of `text` that contains `path`.
fn link_in(text: &str, path: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in:\n{text}"))
        .to_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `terminus-hub serve` process; its stderr lines are collected as they come.
pub struct Binary {
    pub base: String,
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

impl Binary {
    /// Starts the binary in `dir` with `settings` (and a free port unless given), and waits
    /// until it says it listens.
    pub async fn start(dir: &Path, settings: &[(&str, &str)]) -> Binary {
        Self::start_under(&[], dir, settings).await
    }

    /// [`Binary::start`], run by the command `wrapper` (e.g. `prlimit --fsize=N --`), which
    /// runs the binary as its last arguments.
    pub async fn start_under(wrapper: &[&str], dir: &Path, settings: &[(&str, &str)]) -> Binary {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let binary = env!("CARGO_BIN_EXE_terminus-hub");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("serve")
            .current_dir(dir)
            .env("TERMINUS_ADDR", format!("127.0.0.1:{port}"))
            .env("TERMINUS_PUBLIC_URL", &base)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .env_remove("SMTP_URL")
            .env_remove("TERMINUS_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start terminus-hub");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut binary = Binary {
            base,
            child,
            lines,
            seen: Vec::new(),
        };
        binary.wait_for("is listening on").await;
        binary
    }

    /// Reads the log until a line contains `needle` (an event, not a sleep); returns it.
    pub async fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv().await {
                Some(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                None => panic!(
                    "terminus-hub ended its log before {needle:?}:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server runs")
    }

    /// Waits until the process ends by itself; its status and every line it wrote.
    pub async fn ended(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().await.unwrap();
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        (status, self.seen)
    }

    /// SIGTERM, then every line it wrote.
    pub async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert!(self.child.wait().await.unwrap().success());
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        self.seen
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        let res = client.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let expected = format!(
        "terminus-hub {} ({})\n",
        env!("CARGO_PKG_VERSION"),
        env!("TERMINUS_COMMIT")
    );
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    if let Some(commit) = commit {
        assert_eq!(env!("TERMINUS_COMMIT"), commit, "built from this checkout");
    }
    for flag in ["--version", "-V"] {
        let ran = run_cli(dir.path(), &[], &[flag]);
        assert!(ran.ok, "{flag}: {}", ran.stderr);
        assert_eq!(ran.stdout, expected);
    }
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["admin"],
        &["admin", "user"],
        &["admin", "user", "create"],
        &["admin", "user", "unlock"],
        &["admin", "user", "reset-link"],
        &["admin", "user", "list"],
        &["admin", "user", "show"],
        &["admin", "user", "disable"],
        &["admin", "user", "enable"],
        &["admin", "user", "sign-out-everywhere"],
        &["admin", "user", "set-email"],
        &["admin", "user", "export"],
        &["admin", "user", "erase"],
        &["admin", "account", "add-owner"],
        &["admin", "account", "transfer"],
        &["admin", "account", "delete"],
        &["admin", "account", "list"],
        &["admin", "account", "show"],
        &["admin", "account", "set-plan"],
        &["admin", "key", "list"],
        &["admin", "audit", "export"],
        &["admin", "key", "revoke"],
        &["mail", "test"],
        &["outbox"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let ran = run_cli(dir.path(), &[], &args);
        assert!(ran.ok, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stdout.contains("Usage: terminus-hub"),
            "{args:?}:\n{}",
            ran.stdout
        );
    }
    assert!(run_cli(dir.path(), &[], &["--help"])
        .stdout
        .contains("admin"));
    let ran = run_cli(dir.path(), &[], &["frobnicate"]);
    assert_eq!(ran.code, Some(2), "a usage error");
    assert!(
        ran.stderr.contains("unrecognized subcommand"),
        "{}",
        ran.stderr
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "--help and --version touch nothing"
    );
}

#[tokio::test]
async fn healthz_answers_the_version() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

/// Every admin command, on the suite's database: the first before any server has run, the
/// rest while one serves (an in-process server on the same database).
#[tokio::test]
async fn the_admin_command_line_works_with_and_without_the_server() {
    let cli_dir = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(app_dir.path()).await;
    let config = cli_dir.path().join("terminus.toml");
    std::fs::write(&config, "[plans.startup]\nper_minute = 120\nburst = 7\n").unwrap();
    let public = "http://hub.example.test";
    let settings = [
        ("DATABASE_URL", url.as_str()),
        ("TERMINUS_PUBLIC_URL", public),
        ("TERMINUS_CONFIG", config.to_str().unwrap()),
    ];
    let admin = |args: &[&str]| run_cli(cli_dir.path(), &settings, args);

    // The first user, on a database no server has opened yet.
    let email = unique_email("operator");
    let ran = admin(&["admin", "user", "create", &email]);
    assert!(ran.ok, "{}", ran.stderr);
    let link = link_in(&ran.stdout, &paths::with_token(paths::RESET, ""));
    assert!(link.starts_with(public), "links use the public URL: {link}");
    let account_id = ran
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("acct_"))
        .expect("the account id")
        .to_owned();
    let again = admin(&["admin", "user", "create", &email.to_uppercase()]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("already has a user"),
        "{}",
        again.stderr
    );

    // The server has the same plans in its configuration as the command line.
    let app = TestApp::spawn_on_with(app_dir, url.clone(), |c| {
        c.plans.insert(
            "startup".into(),
            app::plans::PlanLimits {
                per_minute: 120,
                burst: 7,
            },
        );
    })
    .await;
    let here = |link: &str| link.replacen(public, &app.base, 1);
    let tally = app.world.tally().await;
    assert_eq!((tally.users, tally.workspaces), (1, 1));
    let user = app.world.existing_user(&email).await;
    assert!(
        user.password_hash.is_none() && user.email_confirmed_at.is_some(),
        "a confirmed user without a password"
    );
    assert_eq!(app.world.workspace_names(&account_id).await, ["Main"]);

    // The link sets the password; the user signs in to their own account.
    let client = browser();
    assert_redirect(&client.get(here(&link)).send().await.unwrap(), paths::RESET);
    assert_redirect(
        &app.post(&client, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
            .await,
        paths::SIGN_IN,
    );
    let owner = Owner { browser: browser() };
    assert_redirect(
        &app.sign_in(&owner.browser, &email, NEW_PASSWORD).await,
        paths::HOME,
    );

    // Locked out, then unlocked from the command line while the server runs.
    for _ in 0..5 {
        app.sign_in(&browser(), &email, "wrong wrong wrong").await;
    }
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::SIGN_IN_PASSWORD,
    );
    let ran = admin(&["admin", "user", "unlock", &email]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(ran.stdout.contains("Unlocked"), "{}", ran.stdout);
    assert_redirect(
        &app.sign_in(&browser(), &email, NEW_PASSWORD).await,
        paths::HOME,
    );
    let nobody = admin(&["admin", "user", "unlock", "nobody@example.com"]);
    assert_eq!(nobody.code, Some(1));
    assert!(nobody
        .stderr
        .contains("no user has the email nobody@example.com"));

    // A reset link when mail is broken: printed, and it works.
    let ran = admin(&["admin", "user", "reset-link", &email]);
    assert!(ran.ok, "{}", ran.stderr);
    let reset = browser();
    assert_redirect(
        &reset
            .get(here(&link_in(
                &ran.stdout,
                &paths::with_token(paths::RESET, ""),
            )))
            .send()
            .await
            .unwrap(),
        paths::RESET,
    );
    assert!(app
        .page(&reset, paths::RESET)
        .await
        .contains("new-password"));

    // Plans: one of the file's, the built-ins, and refusals that say why.
    let key = app.full_key(&owner).await;
    for (plan, per_minute, burst) in [("startup", 120, 7), ("team", 6000, 1000)] {
        let ran = admin(&["admin", "account", "set-plan", &account_id, plan]);
        assert!(ran.ok, "{}", ran.stderr);
        assert!(
            ran.stdout.contains(&format!("now on the plan {plan}")),
            "{}",
            ran.stdout
        );
        let account: Value = app
            .api(Method::GET, "/account", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(account["plan"], plan);
        assert_eq!(
            account["limits"],
            serde_json::json!({"per_minute": per_minute, "burst": burst})
        );
    }
    let ran = admin(&["admin", "account", "set-plan", &account_id, "gold"]);
    assert_eq!(ran.code, Some(1));
    assert!(
        ran.stderr.contains("no plan \"gold\"")
            && ran.stderr.contains("enterprise, free, startup, team"),
        "{}",
        ran.stderr
    );
    let ran = admin(&["admin", "account", "set-plan", "acct_missing", "team"]);
    assert_eq!(ran.code, Some(1));
    assert!(
        ran.stderr.contains("no account acct_missing"),
        "{}",
        ran.stderr
    );

    // A key revoked from the command line fails on its next request.
    let created = app
        .create_key(&owner, serde_json::json!({"name": "leaked"}))
        .await;
    let (leaked, key_id) = (
        created["key"].as_str().unwrap(),
        created["id"].as_str().unwrap(),
    );
    let res = app
        .api(Method::GET, "/workspaces", leaked)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ran = admin(&["admin", "key", "revoke", key_id]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(ran.stdout.contains("(leaked)"), "{}", ran.stdout);
    assert_invalid_key(
        app.api(Method::GET, "/workspaces", leaked)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(admin(&["admin", "key", "revoke", key_id]).code, Some(1));

    // Every command that changed something left its audit event, with no acting user.
    let events: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, detail FROM audit_events WHERE actor_user_id IS NULL ORDER BY at, id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.created",
            "user.reset_link_issued",
            "user.unlocked",
            "user.reset_link_issued",
            "account.plan_changed",
            "account.plan_changed",
            "api_key.deleted",
        ]
    );
    for (action, detail) in &events {
        let detail = detail.as_deref().unwrap_or("");
        assert!(
            detail.contains("from the command line: terminus-hub admin"),
            "{action}: {detail}"
        );
    }
    let activity = app.page(&owner.browser, paths::ACTIVITY).await;
    assert!(activity.contains("account.plan_changed"), "owners see it");
}

#[tokio::test]
async fn mail_test_says_plainly_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let to = unique_email("mailtest");

    let smtp = smtp_url();
    let ran = run_cli(dir.path(), &[("SMTP_URL", &smtp)], &["mail", "test", &to]);
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(&format!(
            "Sent a test mail to {to} through the SMTP server smtp://127.0.0.1:"
        )),
        "{}",
        ran.stdout
    );
    let mail = wait_for_mail(&to, 1).await.remove(0);
    assert_eq!(mail.subject, "Terminus Hub test mail");

    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let ran = run_cli(dir.path(), &[("SMTP_URL", &closed)], &["mail", "test", &to]);
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert!(
        ran.stderr.contains(&format!(
            "the test mail to {to} could not be sent through the SMTP server {closed}"
        )),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty());

    let outbox = dir.path().join("mail");
    let ran = run_cli(
        dir.path(),
        &[("TERMINUS_OUTBOX_DIR", outbox.to_str().unwrap())],
        &["mail", "test", &to],
    );
    assert!(ran.ok, "{}", ran.stderr);
    let file = ran.stdout.lines().last().unwrap().trim();
    assert!(
        file.ends_with("-terminus-hub-test-mail.eml"),
        "{}",
        ran.stdout
    );
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(&format!("To: {to}")));
}

/// The README's first run: no SMTP server, sign up, `cat` the outbox file, open the link.
#[tokio::test]
async fn a_newcomer_confirms_from_the_outbox_with_cat() {
    let root = tempfile::tempdir().unwrap();
    let mut server = Binary::start(root.path(), &[]).await;
    let email = unique_email("newcomer");
    let client = browser();
    assert_redirect(
        &server
            .post(&client, fns::SIGN_UP, &[("email", &email)])
            .await,
        paths::CHECK_EMAIL,
    );
    let line = server.wait_for("email written to the outbox").await;
    let outbox = root.path().join("data/outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(line.contains(name), "the log names the file: {line}");
    assert!(
        name.ends_with("-0001-confirm-your-email-address.eml"),
        "{name}"
    );

    // What `cat` shows: the link whole, on a line of its own text.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        !text.contains("quoted-printable") && !text.contains("=3D"),
        "{text}"
    );
    let link = text
        .lines()
        .find_map(|l| l.strip_prefix("Confirm email: "))
        .unwrap_or_else(|| panic!("no link line in:\n{text}"))
        .trim()
        .to_owned();
    assert!(link.starts_with(&format!("{}/confirm?token=", server.base)));

    // `terminus-hub outbox` lists it with the same link.
    let ran = run_cli(
        root.path(),
        &[("TERMINUS_PUBLIC_URL", &server.base)],
        &["outbox"],
    );
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(&format!("To: {email}")),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.lines().any(|l| l.trim() == link),
        "{}",
        ran.stdout
    );

    assert_redirect(&client.get(&link).send().await.unwrap(), paths::CONFIRM);
    assert_redirect(
        &server
            .post(&client, fns::CONFIRM_EMAIL, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    assert!(server
        .page(&client, paths::HOME)
        .await
        .contains("Your email is confirmed"));
    server.stop().await;
}

/// `signup = "invite_only"`: the page says so and the form's post is refused; invitations
/// and the command line still create users.
#[tokio::test]
async fn invite_only_sign_up_is_refused_and_invitations_still_work() {
    let root = tempfile::tempdir().unwrap();
    let settings = [("TERMINUS_SIGNUP", "invite_only")];
    let server = Binary::start(root.path(), &settings).await;
    let client = browser();
    let page = server.page(&client, paths::SIGN_UP).await;
    assert!(page.contains("Sign-up is by invitation only"), "{page}");
    assert!(!page.contains("<form"), "no form: {page}");
    let stranger = unique_email("stranger");
    assert_redirect(
        &server
            .post(&client, fns::SIGN_UP, &[("email", &stranger)])
            .await,
        paths::SIGN_UP,
    );
    assert!(server
        .page(&client, paths::SIGN_UP)
        .await
        .contains("Ask an owner or admin"));
    let world = crate::world::World::open(
        &format!(
            "sqlite://{}",
            root.path().join("data/terminus.db").display()
        ),
        Arc::new(ManualClock::starting_now()),
    )
    .await;
    assert_eq!(world.tally().await.pending_sign_ups, 0, "nothing stored");

    // The operator creates the first user; they invite someone, who joins.
    let owner_email = unique_email("founder");
    let ran = run_cli(
        root.path(),
        &[
            ("TERMINUS_PUBLIC_URL", &server.base),
            ("TERMINUS_SIGNUP", "invite_only"),
        ],
        &["admin", "user", "create", &owner_email],
    );
    assert!(ran.ok, "{}", ran.stderr);
    let owner = browser();
    assert_redirect(
        &owner
            .get(link_in(&ran.stdout, &paths::with_token(paths::RESET, "")))
            .send()
            .await
            .unwrap(),
        paths::RESET,
    );
    assert_redirect(
        &server
            .post(&owner, fns::RESET_PASSWORD, &[("password", NEW_PASSWORD)])
            .await,
        paths::SIGN_IN,
    );
    assert_redirect(
        &server
            .post(&owner, fns::SIGN_IN_EMAIL, &[("email", &owner_email)])
            .await,
        paths::SIGN_IN_PASSWORD,
    );
    assert_redirect(
        &server
            .post(
                &owner,
                fns::SIGN_IN_PASSWORD,
                &[("email", &owner_email), ("password", NEW_PASSWORD)],
            )
            .await,
        paths::HOME,
    );
    // An account whose name carries a link of someone else's: the invitation quotes it, and
    // `outbox` lists only the hub's own links.
    assert_redirect(
        &server
            .post(
                &owner,
                fns::CREATE_ACCOUNT,
                &[("name", "Spam 2 visit http://phish.example/login")],
            )
            .await,
        paths::HOME,
    );
    let invitee = unique_email("invitee");
    assert_redirect(
        &server
            .post(
                &owner,
                fns::INVITE_MEMBER,
                &[("email", &invitee), ("role", "member")],
            )
            .await,
        paths::MEMBERS,
    );
    let mut server = server;
    server
        .wait_for("subject=You are invited to an account on Terminus Hub")
        .await;
    // The invitation is in the outbox: the only mail sent (the refused sign-up sent none).
    let ran = run_cli(
        root.path(),
        &[("TERMINUS_PUBLIC_URL", &server.base)],
        &["outbox"],
    );
    assert!(ran.ok, "{}", ran.stderr);
    assert!(!ran.stdout.contains(&stranger), "{}", ran.stdout);
    assert!(!ran.stdout.contains("phish.example"), "{}", ran.stdout);
    let invite = link_in(&ran.stdout, &paths::with_token(paths::INVITE, ""));
    let newcomer = browser();
    assert_redirect(&newcomer.get(&invite).send().await.unwrap(), paths::INVITE);
    assert_redirect(
        &server
            .post(&newcomer, fns::ACCEPT_INVITATION, &[("password", PASSWORD)])
            .await,
        paths::HOME,
    );
    server.stop().await;
}

/// Settings are checked before anything starts, with an error that names the setting.
#[test]
fn bad_settings_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zero.toml");
    std::fs::write(&file, "[plans.tiny]\nper_minute = 0\nburst = 1\n").unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("TERMINUS_DEFAULT_PLAN", "gold")],
            "default_plan is \"gold\", which is not a plan",
        ),
        (
            &[("TERMINUS_CONFIG", file.to_str().unwrap())],
            "plan \"tiny\": per_minute and burst must both be at least 1",
        ),
        (
            &[("TERMINUS_SIGNUP", "sometimes")],
            "TERMINUS_SIGNUP=sometimes: use open or invite_only",
        ),
        (
            &[("TERMINUS_LOG_FORMAT", "xml")],
            "TERMINUS_LOG_FORMAT=xml: use text or json",
        ),
        (
            &[("TERMINUS_HEADER_TIMEOUT_SECS", "0")],
            "header_timeout_secs (TERMINUS_HEADER_TIMEOUT_SECS) must be at least 1",
        ),
    ];
    for (settings, message) in cases {
        let ran = run_cli(dir.path(), settings, &["serve"]);
        assert_eq!(ran.code, Some(1), "{settings:?}");
        assert!(
            ran.stderr.contains(message),
            "{settings:?}:\n{}",
            ran.stderr
        );
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// An SMTP server that cannot be reached is a warning at start, never a failed start.
#[tokio::test]
async fn an_unreachable_smtp_server_is_a_warning_at_start() {
    let root = tempfile::tempdir().unwrap();
    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let mut server = Binary::start(root.path(), &[("SMTP_URL", &closed)]).await;
    let warning = server.wait_for("SMTP_URL cannot be reached").await;
    assert!(
        warning.contains("WARN") && warning.contains(&closed),
        "{warning}"
    );
    let res = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server.stop().await;
}

/// The production build (no `--features bench`) has no `/_bench` route (and Cargo builds no
/// `terminus-bench` binary for it): `TERMINUS_BENCH_ROUTES=1` changes nothing, the path is an
/// unknown page like any other.
#[cfg(not(feature = "bench"))]
#[tokio::test]
async fn the_benchmark_is_not_in_the_production_build() {
    let root = tempfile::tempdir().unwrap();
    let server = Binary::start(root.path(), &[("TERMINUS_BENCH_ROUTES", "1")]).await;
    let res = reqwest::get(server.url("/_bench/workspaces?account_id=acct_x"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let lines = server.stop().await;
    assert!(
        !lines.iter().any(|l| l.contains("TERMINUS_BENCH_ROUTES")),
        "no warning about bench routes:\n{}",
        lines.join("\n")
    );
}
