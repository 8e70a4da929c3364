//! Test harness: the SMTP sink process, a spawned server per test, and an HTTP client that
//! keeps cookies and never follows redirects (so every redirect can be asserted).
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use app::domain::clock::ManualClock;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{redirect, Client, Response, StatusCode};
use serde::Deserialize;
use terminus_hub::{Application, Config};

pub use app::paths;

pub const PASSWORD: &str = "plumtree violin sunset";

/// The SMTP sink, started once for the whole test binary. It exits when our end of its
/// stdin closes, i.e. when this process ends.
struct Sink {
    smtp: u16,
    http: u16,
    _child: Mutex<Child>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

fn sink() -> &'static Sink {
    SINK.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let script = format!("{root}/end2end/support/smtp-sink.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .current_dir(format!("{root}/end2end"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink (is Node installed, and `npm ci --prefix end2end` done?)");
        let stdout = child.stdout.take().expect("sink stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the sink's ports");
        #[derive(Deserialize)]
        struct Ports {
            smtp: u16,
            http: u16,
        }
        let ports: Ports = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the SMTP sink printed {line:?} instead of its ports: {e}"));
        Sink {
            smtp: ports.smtp,
            http: ports.http,
            _child: Mutex::new(child),
        }
    })
}

/// `SMTP_URL` for a server that should deliver to the sink.
pub fn smtp_url() -> String {
    format!("smtp://127.0.0.1:{}", sink().smtp)
}

#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl Mail {
    /// The first absolute link in the text part whose path starts with `path`.
    pub fn link(&self, path: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http://") && w.contains(path))
            .map(|w| w.trim_end_matches(['.', ')', ',']).to_owned())
            .unwrap_or_else(|| panic!("no {path} link in mail {:?}:\n{}", self.subject, self.text))
    }
}

/// Waits (long-poll, no sleeping) until `to` has at least `count` messages; returns them all.
pub async fn wait_for_mail(to: &str, count: usize) -> Vec<Mail> {
    let url = format!(
        "http://127.0.0.1:{}/messages/wait?to={}&count={count}&timeout_ms=30000",
        sink().http,
        urlencode(to)
    );
    let res = reqwest::get(&url).await.expect("ask the SMTP sink");
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "fewer than {count} mails reached {to} in 30 s"
    );
    res.json().await.expect("sink JSON")
}

/// Waits (long-poll, no sleeping) until `to` has a message with `subject`; returns the
/// first. Other mails may come before it (a new-device notice after a sign-in in a new
/// browser, say), so a test that means one mail need not count them.
pub async fn wait_for_subject(to: &str, subject: &str) -> Mail {
    let mut count = 1;
    loop {
        let mails = wait_for_mail(to, count).await;
        if let Some(mail) = mails.iter().find(|m| m.subject == subject) {
            return mail.clone();
        }
        count = mails.len() + 1;
    }
}

/// Every message `to` has received so far.
pub async fn mails_to(to: &str) -> Vec<Mail> {
    let url = format!(
        "http://127.0.0.1:{}/messages?to={}",
        sink().http,
        urlencode(to)
    );
    reqwest::get(&url)
        .await
        .expect("ask the SMTP sink")
        .json()
        .await
        .expect("sink JSON")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A fresh address: the sink is shared by every test of the run.
pub fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// Which database the suite runs on: `TERMINUS_TEST_DATABASE=sqlite` (default) or
/// `postgres` (then `TEST_POSTGRES_URL` names a server where each test creates its own
/// database; `.ci/test` starts a throwaway cluster and sets both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TERMINUS_TEST_DATABASE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("TERMINUS_TEST_DATABASE={other}: use sqlite or postgres"),
    }
}

/// A brand-new, empty database for one test.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("terminus.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("TEST_POSTGRES_URL")
                .expect("TERMINUS_TEST_DATABASE=postgres needs TEST_POSTGRES_URL (run .ci/test, which starts a cluster)");
            let name = format!("t_{}", uuid::Uuid::now_v7().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL server");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create a test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

/// A PostgreSQL cluster of a test's own (`.ci/pg-cluster`), removed when dropped.
pub struct Cluster {
    dir: std::path::PathBuf,
}

impl Cluster {
    /// Starts a fresh cluster; returns it and its URL. Under /tmp directly: as root, the
    /// cluster runs as `postgres`, which must reach it.
    pub fn start() -> (Cluster, String) {
        let cluster = Cluster {
            dir: std::path::PathBuf::from(format!(
                "/tmp/thub-pg-{}",
                uuid::Uuid::now_v7().simple()
            )),
        };
        let url = cluster.run("start");
        (cluster, url)
    }

    /// `pause` (stop the server, keep the data) or `resume`.
    pub fn run(&self, action: &str) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/pg-cluster");
        let out = Command::new(script)
            .arg(action)
            .arg(&self.dir)
            .output()
            .expect("run .ci/pg-cluster");
        assert!(
            out.status.success(),
            "pg-cluster {action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// A connection for the tests' own look into the database, on either backend.
pub async fn any_pool(url: &str) -> sqlx::AnyPool {
    static DRIVERS: std::sync::Once = std::sync::Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("open the test database")
}

/// Tests share the machine; the timing test needs it to itself. Every app holds a read
/// guard for its lifetime, and the timing test takes the write guard.
static QUIET: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

enum Guard {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'static, ()>),
}

pub struct TestApp {
    _guard: Guard,
    /// This app's DNS server (dnsmasq), started when the test first publishes a record.
    pub dns: crate::dns::DnsServer,
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub passwords: app::hashing::Passwords,
    pub db: sqlx::AnyPool,
    /// The typed look into the store (see `world.rs`).
    pub world: crate::world::World,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A browser: keeps cookies, never follows redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

pub fn assert_redirect(res: &Response, to: &str) {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "expected 303 to {to}");
    assert_eq!(location(res), to);
}

/// The session cookie's value as set by a response, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("thub_session="))
        .map(|c| {
            c["thub_session=".len()..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_owned()
        })
}

impl TestApp {
    /// The server on a fresh database of the suite's backend.
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path()).await;
        Self::spawn_on(dir, database_url).await
    }

    /// Like `spawn`, but waits until no other test runs, and keeps others waiting: for
    /// measurements that the machine's other work would distort.
    pub async fn spawn_alone() -> TestApp {
        let guard = Guard::Exclusive(QUIET.write().await);
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path()).await;
        Self::start(guard, dir, database_url, |_| {}).await
    }

    /// The server on the given database.
    pub async fn spawn_on(dir: tempfile::TempDir, database_url: String) -> TestApp {
        let guard = Guard::Shared(QUIET.read().await);
        Self::start(guard, dir, database_url, |_| {}).await
    }

    /// The server on the given database, with settings changed by `configure`.
    pub async fn spawn_on_with(
        dir: tempfile::TempDir,
        database_url: String,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let guard = Guard::Shared(QUIET.read().await);
        Self::start(guard, dir, database_url, configure).await
    }

    /// The server on a fresh database, with settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let guard = Guard::Shared(QUIET.read().await);
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path()).await;
        Self::start(guard, dir, database_url, configure).await
    }

    async fn start(
        guard: Guard,
        dir: tempfile::TempDir,
        database_url: String,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let dns = crate::dns::DnsServer::reserve();
        Self::start_at(guard, dir, database_url, 0, dns, configure).await
    }

    /// The server on `port` (0: any free one), with `dns` as its DNS server.
    async fn start_at(
        guard: Guard,
        dir: tempfile::TempDir,
        database_url: String,
        port: u16,
        dns: crate::dns::DnsServer,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let config = Config {
            dns_servers: vec![dns.addr],
            database_url: database_url.clone(),
            addr: ([127, 0, 0, 1], port).into(),
            public_url: Some(format!("http://127.0.0.1:{port}")),
            smtp_url: Some(smtp_url()),
            mail_from: "Terminus Hub <no-reply@terminus.test>".into(),
            outbox_dir: dir.path().join("outbox"),
            secret_key_file: dir.path().join("secret.key"),
            // Every request of a suite comes from 127.0.0.1, and many tests sign up more
            // people than a real client would in an hour; the flood tests set their own.
            floods: app::domain::floods::FloodPolicy {
                requests_per_ip_per_hour: 100_000,
                confirm_mails_per_domain_per_hour: 100_000,
                ..Default::default()
            },
            ..Config::default()
        };
        let mut config = config;
        configure(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let app = Application::build(config, listener, clock.clone())
            .await
            .expect("build app");
        // Requests go to where the server listens (the public URL may say https).
        let base = format!("http://127.0.0.1:{port}");
        let passwords = app.passwords();
        let world = crate::world::World::of(app.store(), clock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(async move {
            let _ = rx.await;
        }));
        let db = any_pool(&database_url).await;
        TestApp {
            _guard: guard,
            dns,
            base,
            clock,
            passwords,
            db,
            world,
            database_url,
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Stops the server and waits until it has finished (pool closed), as a restart would.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("the server stopped cleanly");
        }
        self.db.close().await;
        self.world.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET a page and return its HTML, asserting 200.
    pub async fn page(&self, client: &Client, path: &str) -> String {
        let res = self.get(client, path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.expect("body")
    }

    /// A form post as a same-origin browser sends it.
    pub async fn post(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(path))
            .header("origin", &self.base)
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Sign-up through the form (an email only); asserts the "check your email" redirect.
    pub async fn sign_up(&self, client: &Client, email: &str) {
        let res = self.post(client, fns::SIGN_UP, &[("email", email)]).await;
        assert_redirect(&res, paths::CHECK_EMAIL);
    }

    /// Opens a confirmation link in `client` and submits `password` on the page behind it.
    /// Returns the answer to that submit.
    pub async fn confirm_with(&self, client: &Client, link: &str, password: &str) -> Response {
        let res = client.get(link).send().await.expect("open link");
        assert_redirect(&res, paths::CONFIRM);
        let html = self.page(client, paths::CONFIRM).await;
        assert!(
            html.contains("action=\"/_fn/confirm_email\"")
                && html.contains("autocomplete=\"new-password\""),
            "/confirm asks for no password:\n{html}"
        );
        self.post(client, fns::CONFIRM_EMAIL, &[("password", password)])
            .await
    }

    /// Opens an emailed link in `client` and presses the page's button.
    pub async fn follow_link(
        &self,
        client: &Client,
        link: &str,
        page: &str,
        action: &str,
    ) -> Response {
        let res = client.get(link).send().await.expect("open link");
        assert_redirect(&res, page);
        let html = self.page(client, page).await;
        assert!(
            html.contains(&format!("action=\"{action}\"")),
            "{page} offers no {action} form:\n{html}"
        );
        self.post(client, action, &[]).await
    }

    /// A signed-up, confirmed user (fresh email). Returns the email.
    pub async fn confirmed_user(&self, name: &str) -> String {
        let email = unique_email(name);
        self.sign_up_confirmed(&email).await;
        email
    }

    /// Signs `email` up and confirms it through the emailed link, choosing [`PASSWORD`] there
    /// (which signs that browser in).
    pub async fn sign_up_confirmed(&self, email: &str) {
        let client = browser();
        self.sign_up(&client, email).await;
        let mail = wait_for_mail(email, 1).await.remove(0);
        let res = self
            .confirm_with(
                &client,
                &mail.link(&paths::with_token(paths::CONFIRM, "")),
                PASSWORD,
            )
            .await;
        assert_redirect(&res, paths::HOME);
    }

    /// Both sign-in steps. Returns the response to the password step.
    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) -> Response {
        let res = self
            .post(client, fns::SIGN_IN_EMAIL, &[("email", email)])
            .await;
        assert_redirect(&res, paths::SIGN_IN_PASSWORD);
        self.sign_in_password(client, email, password).await
    }

    /// Posts the password form (also the direct "owner or admin" form) on its own.
    pub async fn sign_in_password(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post(
            client,
            fns::SIGN_IN_PASSWORD,
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// What `GET /api/v1/{what}` lists for the client's current account (`members`,
    /// `invitations`, `domains`, `sso_connections`, …), as an owner's browser reads it.
    pub async fn listed(&self, client: &Client, what: &str) -> Vec<serde_json::Value> {
        let res = client
            .get(self.url(&format!("/api/v1/{what}")))
            .send()
            .await
            .expect("GET a list");
        assert_eq!(res.status(), StatusCode::OK, "GET /api/v1/{what}");
        let body: serde_json::Value = res.json().await.expect("list JSON");
        body["data"].as_array().expect("data").clone()
    }

    pub async fn failed_attempts(&self, email: &str) -> u32 {
        self.world.failed_attempts(email).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .expect("count")
    }
}

/// A signed-in owner (browser session) of a fresh account.
pub struct Owner {
    pub browser: Client,
}

impl TestApp {
    pub async fn owner(&self, name: &str) -> Owner {
        let email = self.confirmed_user(name).await;
        let browser = browser();
        assert_redirect(&self.sign_in(&browser, &email, PASSWORD).await, paths::HOME);
        Owner { browser }
    }

    /// `POST /api/v1/api_keys` with the owner's session; returns the created key object.
    pub async fn create_key(&self, owner: &Owner, body: serde_json::Value) -> serde_json::Value {
        let res = owner
            .browser
            .post(self.url("/api/v1/api_keys"))
            .header("origin", &self.base)
            .json(&body)
            .send()
            .await
            .expect("create key");
        assert_eq!(res.status(), StatusCode::CREATED, "create key");
        res.json().await.expect("key JSON")
    }

    pub async fn full_key(&self, owner: &Owner) -> String {
        let key = self
            .create_key(owner, serde_json::json!({"name": "script"}))
            .await;
        key["key"].as_str().expect("key").to_owned()
    }

    /// A bearer-key request to `/api/v1{path}`.
    pub fn api(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.url(&format!("/api/v1{path}")))
            .header("authorization", format!("Bearer {key}"))
    }
}

/// Asserts the envelope's type, code and param; returns the error object.
pub async fn assert_api_error(
    res: Response,
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
) -> serde_json::Value {
    assert_eq!(res.status(), status);
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries x-request-id"
    );
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.expect("error JSON");
    let error = body["error"].clone();
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"].as_str(), code, "{body}");
    if let Some(code) = code {
        // Every code an answer carries is one the OpenAPI document lists.
        let documented =
            &terminus_hub::api::openapi::document()["components"]["schemas"]["ErrorCode"]["enum"];
        assert!(
            documented
                .as_array()
                .is_some_and(|codes| codes.iter().any(|c| c == code)),
            "the code {code} is not in the document's ErrorCode enum"
        );
    }
    for field in ["message", "param", "path"] {
        assert!(error.get(field).is_some(), "envelope has {field}: {body}");
    }
    error
}

pub const INVALID_KEY_BODY: &str = r#"{"error":{"type":"authentication_error","code":null,"message":"Invalid API key","param":null,"path":null}}"#;

pub async fn assert_invalid_key(res: Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(res.text().await.expect("body"), INVALID_KEY_BODY);
}

/// Polls `check` every 10 ms until it holds; fails the test naming `what` if it still does not
/// after a minute (a deadline for an event that should come, never a measurement).
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "still not true after a minute: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Runs futures concurrently on this task (no extra crate needed).
pub async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    all_done = false;
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Runs futures concurrently on this task and returns their outputs (in completion order).
pub async fn collect_all<T, F: std::future::Future<Output = T>>(
    futures: impl Iterator<Item = F>,
) -> Vec<T> {
    let out = Mutex::new(Vec::new());
    join_all(futures.map(|f| {
        let out = &out;
        async move {
            let value = f.await;
            out.lock().expect("results").push(value);
        }
    }))
    .await;
    out.into_inner().expect("results")
}

/// The OpenID provider process (npm `oidc-provider`), started once for the test binary.
struct Provider {
    issuer: String,
    _child: Mutex<Child>,
}

static PROVIDER: OnceLock<Provider> = OnceLock::new();

pub fn oidc_issuer() -> String {
    PROVIDER.get_or_init(start_provider).issuer.clone()
}

/// Starts the provider and reads its ready line. Node has been seen to hang before it
/// listens (all its threads waiting on locks, once in a CI run, never reproduced): a start
/// that prints nothing within 30 s is ended and tried again, up to three times, rather than
/// leaving every single sign-on test waiting forever.
fn start_provider() -> Provider {
    let root = env!("CARGO_MANIFEST_DIR");
    for attempt in 1..=3 {
        let mut child = Command::new("node")
            .arg(format!("{root}/end2end/support/oidc-provider.mjs"))
            .current_dir(format!("{root}/end2end"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OIDC provider (npm ci --prefix end2end)");
        let stdout = child.stdout.take().expect("stdout");
        let (ready, line) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let read = BufReader::new(stdout).read_line(&mut text);
            let _ = ready.send(read.map(|_| text));
        });
        match line.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(Ok(line)) if !line.trim().is_empty() => {
                let ready: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the OIDC provider printed {line:?}: {e}"));
                return Provider {
                    issuer: ready["issuer"].as_str().expect("issuer").to_owned(),
                    _child: Mutex::new(child),
                };
            }
            outcome => {
                eprintln!("the OIDC provider did not start (attempt {attempt}: {outcome:?})");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    panic!("the OIDC provider did not start in three attempts");
}

/// Registers a client for `redirect_uri` (dynamic registration); returns (id, secret).
pub async fn register_oidc_client(redirect_uri: &str) -> (String, String) {
    let res = reqwest::Client::new()
        .post(format!("{}/reg", oidc_issuer()))
        .json(&serde_json::json!({
            "redirect_uris": [redirect_uri], "grant_types": ["authorization_code"],
            "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"
        }))
        .send()
        .await
        .expect("register a client");
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: serde_json::Value = res.json().await.expect("JSON");
    (
        body["client_id"].as_str().expect("id").to_owned(),
        body["client_secret"].as_str().expect("secret").to_owned(),
    )
}

fn absolute(issuer: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{issuer}{location}")
    }
}

/// Signs in at the provider as `login` (any password), following its redirects with its own
/// cookie jar; returns the URL it sends the browser back to (our callback with code and state).
pub async fn provider_login(authorize_url: &str, login: &str) -> String {
    let issuer = oidc_issuer();
    let idp = browser();
    let res = idp.get(authorize_url).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "authorize → login");
    let interaction = absolute(&issuer, &location(&res));
    let page = idp.get(&interaction).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let res = idp
        .post(&interaction)
        .form(&[
            ("prompt", "login"),
            ("login", login),
            ("password", "any password"),
        ])
        .send()
        .await
        .expect("log in");
    let resume = absolute(&issuer, &location(&res));
    let res = idp.get(&resume).send().await.expect("resume");
    let back = location(&res);
    assert!(
        back.contains("/auth/oidc/callback?"),
        "the provider sends the browser back: {back}"
    );
    back
}

/// Presses "Cancel" at the provider's login; returns where it sends the browser.
pub async fn provider_cancel(authorize_url: &str) -> String {
    let issuer = oidc_issuer();
    let idp = browser();
    let res = idp.get(authorize_url).send().await.expect("authorize");
    let interaction = absolute(&issuer, &location(&res));
    let res = idp
        .get(format!("{interaction}/abort"))
        .send()
        .await
        .expect("abort");
    let resume = absolute(&issuer, &location(&res));
    location(&idp.get(&resume).send().await.expect("resume"))
}

impl TestApp {
    /// A signed-in owner whose confirmed email is `name-…@domain`. Returns the email too.
    pub async fn owner_at(&self, name: &str, domain: &str) -> (Owner, String) {
        let email = format!("{name}-{}@{domain}", uuid::Uuid::now_v7().simple());
        self.sign_up_confirmed(&email).await;
        let browser = browser();
        assert_redirect(&self.sign_in(&browser, &email, PASSWORD).await, paths::HOME);
        (Owner { browser }, email)
    }

    /// Adds `domain` to the owner's account, publishes its TXT record in this app's DNS
    /// server and verifies it. Returns the domain object.
    pub async fn verified_domain(&self, owner: &Owner, domain: &str) -> serde_json::Value {
        let added = self.add_domain(owner, domain).await;
        assert_eq!(added.status(), StatusCode::CREATED, "add {domain}");
        let added: serde_json::Value = added.json().await.expect("JSON");
        self.dns.publish(
            added["dns_record"]["name"].as_str().expect("name"),
            added["dns_record"]["value"].as_str().expect("value"),
        );
        let res = self
            .verify_domain(owner, added["id"].as_str().expect("id"))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "verify {domain}");
        let verified: serde_json::Value = res.json().await.expect("JSON");
        assert_eq!(verified["verified"], true);
        verified
    }

    /// `POST /api/v1/domains` with the owner's session.
    pub async fn add_domain(&self, owner: &Owner, domain: &str) -> Response {
        owner
            .browser
            .post(self.url("/api/v1/domains"))
            .header("origin", &self.base)
            .json(&serde_json::json!({ "domain": domain }))
            .send()
            .await
            .expect("add domain")
    }

    /// `POST /api/v1/domains/{id}/verify` with the owner's session.
    pub async fn verify_domain(&self, owner: &Owner, id: &str) -> Response {
        owner
            .browser
            .post(self.url(&format!("/api/v1/domains/{id}/verify")))
            .header("origin", &self.base)
            .send()
            .await
            .expect("verify domain")
    }

    /// `POST /api/v1/sso_connections` for the test provider with a freshly registered client.
    pub async fn post_connection(&self, owner: &Owner, domains: &[&str]) -> Response {
        let (client_id, client_secret) =
            register_oidc_client(&format!("{}/auth/oidc/callback", self.base)).await;
        owner
            .browser
            .post(self.url("/api/v1/sso_connections"))
            .header("origin", &self.base)
            .json(
                &serde_json::json!({"issuer": oidc_issuer(), "client_id": client_id,
                                      "client_secret": client_secret, "domains": domains}),
            )
            .send()
            .await
            .expect("connect")
    }

    /// Verifies `domains` for the owner's account and connects the test provider for them;
    /// with `enforced`, completes the owner's test sign-in (as someone on the first domain)
    /// and confirms enforcement.
    pub async fn connect_sso(
        &self,
        owner: &Owner,
        domains: &[&str],
        enforced: bool,
    ) -> serde_json::Value {
        for domain in domains {
            self.verified_domain(owner, domain).await;
        }
        let res = self.post_connection(owner, domains).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let connection: serde_json::Value = res.json().await.expect("JSON");
        if enforced {
            let id = connection["id"].as_str().expect("id");
            let tester = format!(
                "sso-tester-{}@{}",
                uuid::Uuid::now_v7().simple(),
                domains[0]
            );
            self.test_sign_in(owner, id, &tester).await;
            self.enforce(owner, id).await;
        }
        connection
    }

    /// The owner's test sign-in through connection `id`, signing in at the provider as `login`.
    /// Returns the settings page that follows it.
    pub async fn test_sign_in(&self, owner: &Owner, id: &str, login: &str) -> String {
        let res = self
            .post(&owner.browser, fns::START_SSO_TEST, &[("id", id)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let callback = provider_login(&location(&res), login).await;
        let res = owner.browser.get(&callback).send().await.expect("callback");
        assert_redirect(&res, paths::SSO);
        self.page(&owner.browser, paths::SSO).await
    }

    /// Confirms enforcement of connection `id` (the confirmation page's form).
    pub async fn enforce(&self, owner: &Owner, id: &str) {
        let res = self
            .post(
                &owner.browser,
                fns::SET_SSO_ENFORCED,
                &[("id", id), ("enforced", "true")],
            )
            .await;
        assert_redirect(&res, paths::SSO);
        let page = self.page(&owner.browser, paths::SSO).await;
        assert!(page.contains("now enforced"), "{page}");
    }
}

/// A request written byte for byte (reqwest refuses some of what tests send: bytes outside
/// visible ASCII, a 70 KB URL); returns the answer's head and body. `Connection: close`.
pub async fn raw_http(base: &str, request: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_owned(), body.to_owned())
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl TestApp {
    /// Stops the server and starts it again on the same port, database, data directory
    /// (secret key, outbox) and DNS server, with settings changed by `configure`: a change of
    /// configuration as an operator makes it. Use fresh clients afterwards (the old server's
    /// keep-alive connections are gone).
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let port = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .expect("the port of the base URL");
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("the server stopped cleanly");
        }
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        let dns = std::mem::replace(&mut self.dns, crate::dns::DnsServer::reserve());
        let database_url = self.database_url.clone();
        drop(self);
        let guard = Guard::Shared(QUIET.read().await);
        Self::start_at(guard, dir, database_url, port, dns, configure).await
    }

    /// Starts a request whose body the server is still waiting for: its head goes out with
    /// `Expect: 100-continue`, and the server answers `100 Continue` only when the handler
    /// starts reading the body, i.e. after the middleware in front of it ran (for the admin
    /// API: the session was loaded and checked). The request stays in flight, with its
    /// session loaded, until [`HeldRequest::finish`] sends the body. No timing involved.
    pub async fn hold(&self, path: &str, session: &str, body: &str) -> HeldRequest {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let host = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nCookie: thub_session={session}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
             Connection: close\r\n\r\n",
            self.base,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send the head");
        let mut interim = Vec::new();
        let mut byte = [0u8; 1];
        while !interim.ends_with(b"\r\n\r\n") {
            let n = stream
                .read(&mut byte)
                .await
                .expect("read the interim answer");
            assert_eq!(n, 1, "the server closed the connection: {interim:?}");
            interim.extend_from_slice(&byte);
        }
        let interim = String::from_utf8_lossy(&interim).into_owned();
        assert!(
            interim.starts_with("HTTP/1.1 100 Continue"),
            "the server answered before reading the body: {interim}"
        );
        HeldRequest {
            stream,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A request in flight (see [`TestApp::hold`]).
pub struct HeldRequest {
    stream: tokio::net::TcpStream,
    body: Vec<u8>,
}

impl HeldRequest {
    /// Sends the body and reads the whole answer (the server saves the session before it
    /// answers); returns the status code and the body.
    pub async fn finish(mut self) -> (u16, String) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        self.stream
            .write_all(&self.body)
            .await
            .expect("send the body");
        let mut answer = Vec::new();
        self.stream
            .read_to_end(&mut answer)
            .await
            .expect("read the answer");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        (status, body.to_owned())
    }
}

/// A client that sends `thub_session=<id>` by hand (no cookie store): what a stolen or
/// an old cookie opens.
pub async fn get_with_session(app: &TestApp, path: &str, session: &str) -> Response {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url(path))
        .header("cookie", format!("thub_session={session}"))
        .send()
        .await
        .expect("GET")
}

/// The server functions' addresses (under `/_fn`), as the forms post to them: each is its
/// `#[server]` type's own `PATH`.
pub mod fns {
    use app::web;
    use leptos::server_fn::ServerFn;
    pub const DELETE_API_KEY: &str = <web::api_keys::actions::DeleteApiKey as ServerFn>::PATH;
    pub const INVITE_MEMBER: &str = <web::members::actions::InviteMember as ServerFn>::PATH;
    pub const CHANGE_MEMBER_ROLE: &str =
        <web::members::actions::ChangeMemberRole as ServerFn>::PATH;
    pub const REMOVE_MEMBER: &str = <web::members::actions::RemoveMember as ServerFn>::PATH;
    pub const RESEND_INVITATION: &str = <web::members::actions::ResendInvitation as ServerFn>::PATH;
    pub const REVOKE_INVITATION: &str = <web::members::actions::RevokeInvitation as ServerFn>::PATH;
    pub const ACCEPT_INVITATION: &str = <web::members::actions::AcceptInvitation as ServerFn>::PATH;
    pub const SIGN_IN_EMAIL: &str = <web::sign_in::actions::SignInEmail as ServerFn>::PATH;
    pub const START_SSO: &str = <web::sign_in::actions::StartSso as ServerFn>::PATH;
    pub const SIGN_IN_PASSWORD: &str = <web::sign_in::actions::SignInPassword as ServerFn>::PATH;
    pub const SIGN_OUT: &str = <web::sign_in::actions::SignOut as ServerFn>::PATH;
    pub const SIGN_IN_CODE: &str = <web::sign_in::actions::SignInCode as ServerFn>::PATH;
    pub const SIGN_IN_RECOVERY_CODE: &str =
        <web::sign_in::actions::SignInRecoveryCode as ServerFn>::PATH;
    pub const REMOVE_TWO_FACTOR: &str = <web::security::actions::RemoveTwoFactor as ServerFn>::PATH;
    pub const DELETE_PASSKEY: &str = <web::security::actions::DeletePasskey as ServerFn>::PATH;
    pub const SWITCH_ACCOUNT: &str = <web::accounts::actions::SwitchAccount as ServerFn>::PATH;
    pub const CREATE_ACCOUNT: &str = <web::accounts::actions::CreateAccount as ServerFn>::PATH;
    pub const RENAME_ACCOUNT: &str = <web::accounts::actions::RenameAccount as ServerFn>::PATH;
    pub const DELETE_ACCOUNT: &str = <web::accounts::actions::DeleteAccount as ServerFn>::PATH;
    pub const SIGN_UP: &str = <web::sign_up::actions::SignUp as ServerFn>::PATH;
    pub const RESEND_CONFIRMATION: &str =
        <web::sign_up::actions::ResendConfirmation as ServerFn>::PATH;
    pub const CONFIRM_EMAIL: &str = <web::sign_up::actions::ConfirmEmail as ServerFn>::PATH;
    pub const CREATE_SSO_CONNECTION: &str =
        <web::sso::actions::CreateSsoConnection as ServerFn>::PATH;
    pub const SET_SSO_ENFORCED: &str = <web::sso::actions::SetSsoEnforced as ServerFn>::PATH;
    pub const SET_SSO_CREATE_USERS: &str = <web::sso::actions::SetSsoCreateUsers as ServerFn>::PATH;
    pub const TEST_SSO_CONNECTION: &str = <web::sso::actions::TestSsoConnection as ServerFn>::PATH;
    pub const START_SSO_TEST: &str = <web::sso::actions::StartSsoTest as ServerFn>::PATH;
    pub const DELETE_SSO_CONNECTION: &str =
        <web::sso::actions::DeleteSsoConnection as ServerFn>::PATH;
    pub const UNLOCK_ACCOUNT: &str = <web::recovery::actions::UnlockAccount as ServerFn>::PATH;
    pub const FORGOT_PASSWORD: &str = <web::recovery::actions::ForgotPassword as ServerFn>::PATH;
    pub const RESET_PASSWORD: &str = <web::recovery::actions::ResetPassword as ServerFn>::PATH;
    pub const DISOWN_SIGN_IN: &str = <web::recovery::actions::DisownSignIn as ServerFn>::PATH;
    pub const SET_SECOND_FACTOR_REQUIRED: &str =
        <web::members::actions::SetSecondFactorRequired as ServerFn>::PATH;
    pub const RESET_MEMBER_SECOND_FACTORS: &str =
        <web::members::actions::ResetMemberSecondFactors as ServerFn>::PATH;
    pub const CHANGE_PASSWORD: &str = <web::security::actions::ChangePassword as ServerFn>::PATH;
    pub const END_SESSION: &str = <web::security::actions::EndSession as ServerFn>::PATH;
    pub const REAUTHENTICATE: &str = <web::security::actions::Reauthenticate as ServerFn>::PATH;
    pub const REQUEST_EMAIL_CHANGE: &str =
        <web::security::actions::RequestEmailChange as ServerFn>::PATH;
    pub const CONFIRM_EMAIL_CHANGE: &str =
        <web::security::actions::ConfirmEmailChange as ServerFn>::PATH;
    pub const END_OTHER_SESSIONS: &str =
        <web::security::actions::EndOtherSessions as ServerFn>::PATH;
    pub const CREATE_WORKSPACE: &str =
        <web::workspaces::actions::CreateWorkspace as ServerFn>::PATH;
    pub const RENAME_WORKSPACE: &str =
        <web::workspaces::actions::RenameWorkspace as ServerFn>::PATH;
    pub const DELETE_WORKSPACE: &str =
        <web::workspaces::actions::DeleteWorkspace as ServerFn>::PATH;
    pub const CREATE_RECORD: &str = <web::workspaces::actions::CreateRecord as ServerFn>::PATH;
    pub const UPDATE_RECORD: &str = <web::workspaces::actions::UpdateRecord as ServerFn>::PATH;
    pub const DELETE_RECORD: &str = <web::workspaces::actions::DeleteRecord as ServerFn>::PATH;
    pub const ADD_DOMAIN: &str = <web::domains::AddDomain as ServerFn>::PATH;
    pub const VERIFY_DOMAIN: &str = <web::domains::VerifyDomain as ServerFn>::PATH;
}
