//! Storage faults under a running server: no acknowledged write is lost, none is half-done,
//! writes work again as soon as the fault clears (no restart), and `/readyz` tells the truth.
//!
//! The fault depends on the backend: SQLite's file sits on a small tmpfs that is filled up;
//! PostgreSQL is a cluster of the test's own that is stopped. Each write's answer is noted
//! (2xx: acknowledged), and after recovery and a restart on the same database, what is stored
//! must be exactly what was acknowledged.
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A small tmpfs of the test's own, unmounted when dropped.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a 12 MiB one, or fails the test: it must not pass without its fault.
    fn mount() -> Tmpfs {
        Self::mount_sized("12m")
    }

    /// Mounts one of `size` (`mount -o size=…`), or fails the test.
    pub fn mount_sized(size: &str) -> Tmpfs {
        let dir = PathBuf::from(format!("/tmp/thub-tmpfs-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(out) if out.status.success() => Tmpfs { dir },
            other => {
                let _ = std::fs::remove_dir(&dir);
                panic!(
                    "this test fills a small filesystem to make the disk full, and needs to mount \
                     one: `mount -t tmpfs -o size={size} tmpfs {}` failed ({other:?}). Run the suite \
                     as root (CI does), or in a container allowed to mount.",
                    dir.display()
                )
            }
        }
    }

    /// Writes a file until the filesystem is full; returns its path.
    pub fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 1 << 20];
        for size in [1 << 20, 4096, 1] {
            loop {
                match file.write(&chunk[..size]) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
        let _ = file.sync_all();
        assert!(
            std::fs::write(self.dir.join("probe"), b"x").is_err(),
            "the tmpfs is full"
        );
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still in use by a pool closing in the background: detach it now, freed later.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The storage under the server, and how to break and repair it.
enum Storage {
    /// SQLite on a tmpfs; `filler` while it is full.
    Disk {
        tmpfs: Tmpfs,
        filler: Option<PathBuf>,
    },
    /// PostgreSQL in a cluster of the test's own, stopped during the fault.
    Server { cluster: Cluster },
}

impl Storage {
    /// Fresh storage for the suite's backend, and the database URL on it.
    fn new() -> (Storage, String) {
        match backend() {
            Backend::Sqlite => {
                let tmpfs = Tmpfs::mount();
                let url = format!("sqlite://{}", tmpfs.dir.join("terminus.db").display());
                (
                    Storage::Disk {
                        tmpfs,
                        filler: None,
                    },
                    url,
                )
            }
            Backend::Postgres => {
                let (cluster, url) = Cluster::start();
                (Storage::Server { cluster }, url)
            }
        }
    }

    async fn break_it(&mut self, app: &TestApp) {
        match self {
            Storage::Disk { tmpfs, filler } => {
                // Empty the write-ahead log into the database file first, so that the very
                // next commit has to grow the log: every write then meets the full disk
                // (otherwise the first few could still reuse the log's old space).
                let busy: i64 = sqlx::query_scalar("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&app.db)
                    .await
                    .expect("checkpoint");
                assert_eq!(busy, 0, "the checkpoint ran to the end");
                *filler = Some(tmpfs.fill());
            }
            Storage::Server { cluster } => {
                cluster.run("pause");
            }
        }
    }

    fn repair(&mut self) {
        match self {
            Storage::Disk { filler, .. } => {
                if let Some(path) = filler.take() {
                    std::fs::remove_file(path).expect("remove the filler");
                }
            }
            Storage::Server { cluster } => {
                cluster.run("resume");
            }
        }
    }
}

/// What the API acknowledged (2xx), i.e. what the database must hold.
#[derive(Default)]
struct Ledger {
    /// Records of the test's workspace: id → data.
    records: BTreeMap<String, Value>,
    /// Workspaces: id → name.
    workspaces: BTreeMap<String, String>,
    /// API keys by id.
    keys: BTreeMap<String, ()>,
    /// Objects made before the fault for later writes to change or delete.
    to_patch: Vec<String>,
    to_delete: Vec<String>,
    workspaces_to_patch: Vec<String>,
    workspaces_to_delete: Vec<String>,
    keys_to_delete: Vec<String>,
    acknowledged: usize,
    refused: usize,
}

/// One write through the API, as a script sends it.
struct Ctx<'a> {
    app: &'a TestApp,
    owner: &'a Owner,
    key: &'a str,
    workspace: String,
}

impl Ctx<'_> {
    async fn keyed(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let req = self.app.api(method, path, self.key);
        let req = match body {
            Some(body) => req.json(&body),
            None => req,
        };
        req.send().await.expect("API request")
    }

    async fn session(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let req = self
            .owner
            .browser
            .request(method, self.app.url(&format!("/api/v1{path}")))
            .header("origin", &self.app.base);
        let req = match body {
            Some(body) => req.json(&body),
            None => req,
        };
        req.send().await.expect("API request")
    }
}

impl Ledger {
    /// Notes an answer: `Some(body)` when acknowledged. A refusal must be the 500 envelope.
    async fn outcome(
        &mut self,
        what: &str,
        res: reqwest::Response,
        ok: StatusCode,
    ) -> Option<Value> {
        if res.status() == ok {
            self.acknowledged += 1;
            return Some(res.json().await.unwrap_or(Value::Null));
        }
        assert!(
            res.headers().contains_key("x-request-id"),
            "{what}: a refusal carries x-request-id"
        );
        let error = assert_api_error(
            res,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            Some("internal_error"),
        )
        .await;
        assert!(error["message"]
            .as_str()
            .unwrap_or("")
            .contains("x-request-id"));
        self.refused += 1;
        None
    }

    /// Objects for the rounds of writes to change: `rounds` of each kind.
    async fn prepare(&mut self, cx: &Ctx<'_>, rounds: usize) {
        for i in 0..2 * rounds {
            let data = json!({"made": "before", "i": i});
            let res = cx
                .keyed(
                    Method::POST,
                    "/records",
                    Some(json!({"workspace_id": cx.workspace, "data": data})),
                )
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let id = res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            self.records.insert(id.clone(), data);
            if i % 2 == 0 {
                self.to_patch.push(id);
            } else {
                self.to_delete.push(id);
            }
            let name = format!("before {i}");
            let res = cx
                .keyed(Method::POST, "/workspaces", Some(json!({"name": name})))
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let id = res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            self.workspaces.insert(id.clone(), name);
            if i % 2 == 0 {
                self.workspaces_to_patch.push(id);
            } else {
                self.workspaces_to_delete.push(id);
            }
        }
        for _ in 0..rounds {
            let key = cx.app.create_key(cx.owner, json!({"name": "doomed"})).await;
            let id = key["id"].as_str().unwrap().to_owned();
            self.keys.insert(id.clone(), ());
            self.keys_to_delete.push(id);
        }
        self.acknowledged = 0;
    }

    /// One write of every kind: create, change and delete records and workspaces; create
    /// and delete a key.
    async fn round(&mut self, cx: &Ctx<'_>, label: &str) {
        let data = json!({"made": label, "big": 12345678901234567890123u128.to_string()});
        let res = cx
            .keyed(
                Method::POST,
                "/records",
                Some(json!({"workspace_id": cx.workspace, "data": data})),
            )
            .await;
        if let Some(body) = self
            .outcome("POST /records", res, StatusCode::CREATED)
            .await
        {
            self.records
                .insert(body["id"].as_str().unwrap().to_owned(), data);
        }

        let id = self.to_patch.pop().expect("a record to change");
        let data = json!({"changed": label});
        let res = cx
            .keyed(
                Method::PATCH,
                &format!("/records/{id}"),
                Some(json!({"data": data})),
            )
            .await;
        if let Some(body) = self.outcome("PATCH /records", res, StatusCode::OK).await {
            assert_eq!(body["data"], data);
            self.records.insert(id, data);
        }

        let id = self.to_delete.pop().expect("a record to delete");
        let res = cx
            .keyed(Method::DELETE, &format!("/records/{id}"), None)
            .await;
        if self
            .outcome("DELETE /records", res, StatusCode::NO_CONTENT)
            .await
            .is_some()
        {
            self.records.remove(&id);
        }

        let name = format!("made {label}");
        let res = cx
            .keyed(Method::POST, "/workspaces", Some(json!({"name": name})))
            .await;
        if let Some(body) = self
            .outcome("POST /workspaces", res, StatusCode::CREATED)
            .await
        {
            self.workspaces
                .insert(body["id"].as_str().unwrap().to_owned(), name);
        }

        let id = self
            .workspaces_to_patch
            .pop()
            .expect("a workspace to rename");
        let name = format!("renamed {label}");
        let res = cx
            .keyed(
                Method::PATCH,
                &format!("/workspaces/{id}"),
                Some(json!({"name": name})),
            )
            .await;
        if let Some(body) = self.outcome("PATCH /workspaces", res, StatusCode::OK).await {
            assert_eq!(body["name"], name.as_str());
            self.workspaces.insert(id, name);
        }

        let id = self
            .workspaces_to_delete
            .pop()
            .expect("a workspace to delete");
        let res = cx
            .keyed(Method::DELETE, &format!("/workspaces/{id}"), None)
            .await;
        if self
            .outcome("DELETE /workspaces", res, StatusCode::NO_CONTENT)
            .await
            .is_some()
        {
            self.workspaces.remove(&id);
        }

        let res = cx
            .session(Method::POST, "/api_keys", Some(json!({"name": label})))
            .await;
        if let Some(body) = self
            .outcome("POST /api_keys", res, StatusCode::CREATED)
            .await
        {
            self.keys
                .insert(body["id"].as_str().unwrap().to_owned(), ());
        }

        let id = self.keys_to_delete.pop().expect("a key to delete");
        let res = cx
            .session(Method::DELETE, &format!("/api_keys/{id}"), None)
            .await;
        if self
            .outcome("DELETE /api_keys", res, StatusCode::NO_CONTENT)
            .await
            .is_some()
        {
            self.keys.remove(&id);
        }
    }

    /// Every page of a list, through the API.
    async fn list(cx: &Ctx<'_>, path: &str, by_session: bool) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = match &after {
                Some(id) => format!("{path}{sep}limit=100&starting_after={id}"),
                None => format!("{path}{sep}limit=100"),
            };
            let res = if by_session {
                cx.session(Method::GET, &page, None).await
            } else {
                cx.keyed(Method::GET, &page, None).await
            };
            assert_eq!(res.status(), StatusCode::OK, "GET {page}");
            let body: Value = res.json().await.unwrap();
            let data = body["data"].as_array().unwrap().clone();
            after = data.last().map(|o| o["id"].as_str().unwrap().to_owned());
            all.extend(data);
            if !body["has_more"].as_bool().unwrap() {
                return all;
            }
        }
    }

    /// What the database holds is exactly what was acknowledged.
    async fn verify(&self, cx: &Ctx<'_>) {
        let records: BTreeMap<String, Value> = Self::list(
            cx,
            &format!("/records?workspace_id={}", cx.workspace),
            false,
        )
        .await
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["data"].clone()))
        .collect();
        assert_eq!(records, self.records, "records: stored = acknowledged");
        let workspaces: BTreeMap<String, String> = Self::list(cx, "/workspaces", false)
            .await
            .into_iter()
            .filter(|w| w["id"] != cx.workspace.as_str() && w["name"] != "Main")
            .map(|w| {
                (
                    w["id"].as_str().unwrap().to_owned(),
                    w["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            workspaces, self.workspaces,
            "workspaces: stored = acknowledged"
        );
        let keys: BTreeMap<String, ()> = Self::list(cx, "/api_keys", true)
            .await
            .into_iter()
            .filter(|k| k["name"] != "script")
            .map(|k| (k["id"].as_str().unwrap().to_owned(), ()))
            .collect();
        assert_eq!(keys, self.keys, "API keys: stored = acknowledged");
    }
}

/// A wrong-password attempt. Acknowledged when the answer is the verdict: the password step
/// again, showing the one generic message.
async fn wrong_password(app: &TestApp, email: &str) -> bool {
    let client = browser();
    let res = app
        .sign_in_password(&client, email, "not the password at all")
        .await;
    if res.status() != StatusCode::SEE_OTHER {
        assert_error_page(res).await;
        return false;
    }
    assert_eq!(location(&res), paths::SIGN_IN_PASSWORD);
    let mut res = app.get(&client, paths::SIGN_IN_PASSWORD).await;
    if res.status() == StatusCode::SEE_OTHER {
        // After a failure the password step has no email to ask about: the message is
        // shown on the email step.
        assert_eq!(location(&res), paths::SIGN_IN);
        res = app.get(&client, paths::SIGN_IN).await;
    }
    if res.status() != StatusCode::OK {
        assert_error_page(res).await;
        return false;
    }
    let html = res.text().await.unwrap();
    if html.contains("Incorrect email or password.") {
        return true;
    }
    assert!(
        html.contains("Something went wrong"),
        "neither a verdict nor an error:\n{html}"
    );
    false
}

/// The HTML error page (500, or 503 from the sign-in throttle), with the request id of its
/// response on it.
pub async fn assert_error_page(res: reqwest::Response) {
    assert!(res.status().is_server_error(), "{}", res.status());
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "an HTML page"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("Something went wrong"), "{html}");
    assert!(
        html.contains(&id),
        "the page shows its request id {id}:\n{html}"
    );
}

async fn readyz(app: &TestApp) -> StatusCode {
    app.get(&browser(), "/readyz").await.status()
}

/// An owner with a key, a user whose password is guessed at, and a workspace for records.
async fn cast(app: &TestApp) -> (Owner, String, String, String) {
    let owner = app.owner("faulty").await;
    let key = app.full_key(&owner).await;
    let victim = app.confirmed_user("victim").await;
    let res = app
        .api(Method::POST, "/workspaces", &key)
        .json(&json!({"name": "records"}))
        .send()
        .await
        .unwrap();
    let workspace = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (owner, key, victim, workspace)
}

#[tokio::test]
async fn acknowledged_writes_survive_a_storage_fault_and_writes_recover_without_a_restart() {
    let (mut storage, url) = Storage::new();
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), url.clone()).await;
    let (owner, key, victim, workspace) = cast(&app).await;
    let mut ledger = Ledger::default();
    let mut verdicts = 0;
    {
        let cx = Ctx {
            app: &app,
            owner: &owner,
            key: &key,
            workspace: workspace.clone(),
        };
        ledger.prepare(&cx, 2).await;
        assert_eq!(readyz(&app).await, StatusCode::OK);

        storage.break_it(&app).await;
        assert_eq!(
            readyz(&app).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready while writes fail"
        );
        ledger.round(&cx, "during").await;
        assert_eq!(
            ledger.acknowledged, 0,
            "no write is acknowledged during the fault"
        );
        assert_eq!(
            ledger.refused, 8,
            "every write was refused with the 500 envelope"
        );
        for _ in 0..2 {
            if wrong_password(&app, &victim).await {
                verdicts += 1;
            }
        }
        // A signed-in page: the error page with its request id, never an empty 500.
        assert_error_page(app.get(&owner.browser, paths::HOME).await).await;

        storage.repair();
        assert_eq!(
            readyz(&app).await,
            StatusCode::OK,
            "ready again as soon as writes commit, without a restart"
        );
        ledger.round(&cx, "after").await;
        assert_eq!(
            ledger.acknowledged, 8,
            "every write after the fault is acknowledged"
        );
        for _ in 0..2 {
            assert!(
                wrong_password(&app, &victim).await,
                "a verdict after the fault"
            );
            verdicts += 1;
        }
        assert!(app
            .page(&owner.browser, paths::HOME)
            .await
            .contains("records"));
    }

    // A restart on the same database: what is stored is exactly what was acknowledged.
    app.stop().await;
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), url).await;
    let cx = Ctx {
        app: &app,
        owner: &owner,
        key: &key,
        workspace,
    };
    ledger.verify(&cx).await;
    assert_eq!(
        app.failed_attempts(&victim).await,
        verdicts,
        "the lockout counter holds every acknowledged wrong password, and only those"
    );
    drop(app);
    drop(storage);
}

/// Makes every commit that changed records, workspaces, API keys or users fail, at COMMIT
/// itself: each change adds a row that breaks a deferred foreign key, which is checked only
/// when the transaction commits (SQLite: when an autocommit statement finishes). Sessions are
/// left alone, so the web app can still show its answers.
async fn refuse_commits(app: &TestApp) {
    let setup = match backend() {
        Backend::Sqlite => {
            let mut sql = String::from(
                "CREATE TABLE refuse_parent (id TEXT PRIMARY KEY);
                 CREATE TABLE refuse_child (ref TEXT REFERENCES refuse_parent (id) DEFERRABLE INITIALLY DEFERRED);",
            );
            for table in ["records", "workspaces", "api_keys", "users"] {
                for event in ["INSERT", "UPDATE", "DELETE"] {
                    sql.push_str(&format!(
                        "CREATE TRIGGER refuse_{table}_{event} AFTER {event} ON {table}
                         BEGIN INSERT INTO refuse_child (ref) VALUES ('missing'); END;"
                    ));
                }
            }
            sql
        }
        Backend::Postgres => {
            let mut sql = String::from(
                "CREATE TABLE refuse_parent (id TEXT PRIMARY KEY);
                 CREATE TABLE refuse_child (ref TEXT REFERENCES refuse_parent (id) DEFERRABLE INITIALLY DEFERRED);
                 CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN INSERT INTO refuse_child (ref) VALUES ('missing'); RETURN NULL; END $$;",
            );
            for table in ["records", "workspaces", "api_keys", "users"] {
                sql.push_str(&format!(
                    "CREATE TRIGGER refuse_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
                     FOR EACH ROW EXECUTE FUNCTION refuse();"
                ));
            }
            sql
        }
    };
    sqlx::raw_sql(&setup)
        .execute(&app.db)
        .await
        .expect("set up the refusal");
}

/// Commits work again: the row the foreign key wanted now exists.
async fn allow_commits(app: &TestApp) {
    sqlx::query("INSERT INTO refuse_parent (id) VALUES ('missing')")
        .execute(&app.db)
        .await
        .expect("allow commits");
}

#[tokio::test]
async fn a_write_whose_commit_fails_is_never_acknowledged() {
    let app = TestApp::spawn().await;
    let (owner, key, victim, workspace) = cast(&app).await;
    let cx = Ctx {
        app: &app,
        owner: &owner,
        key: &key,
        workspace,
    };
    let mut ledger = Ledger::default();
    ledger.prepare(&cx, 2).await;

    refuse_commits(&app).await;
    ledger.round(&cx, "refused").await;
    assert_eq!(ledger.acknowledged, 0, "no refused commit is acknowledged");
    assert_eq!(ledger.refused, 8);
    // The session still works here, so a verdict could be shown: it must not be, since the
    // guess could not be counted (and the password is not even checked).
    let mut verdicts = 0;
    for _ in 0..2 {
        assert!(
            !wrong_password(&app, &victim).await,
            "no verdict on an uncounted guess"
        );
    }
    assert_eq!(app.failed_attempts(&victim).await, 0);

    allow_commits(&app).await;
    ledger.round(&cx, "allowed").await;
    assert_eq!(ledger.acknowledged, 8);
    for _ in 0..2 {
        assert!(wrong_password(&app, &victim).await);
        verdicts += 1;
    }
    ledger.verify(&cx).await;
    assert_eq!(app.failed_attempts(&victim).await, verdicts);
}

/// The health endpoints are served outside the session layer: a probe that keeps cookies (a
/// load balancer's, a browser's) gets `/healthz` 200 and `/readyz` 503 during a storage fault,
/// where the session layer's failed save (SQLite's full disk) or load (PostgreSQL stopped)
/// made both a 500 before, and a liveness probe restarted a healthy process.
#[tokio::test]
async fn health_probes_with_a_session_cookie_tell_the_truth_during_a_storage_fault() {
    let (mut storage, url) = Storage::new();
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), url).await;
    let owner = app.owner("probed").await;
    let probe = |path: &'static str| {
        let app = &app;
        let owner = &owner;
        async move {
            let res = app.get(&owner.browser, path).await;
            assert!(
                !res.headers().contains_key("set-cookie"),
                "{path} touches no session"
            );
            assert!(res.headers().contains_key("x-request-id"), "{path}");
            res
        }
    };
    assert_eq!(probe("/healthz").await.status(), StatusCode::OK);
    assert_eq!(probe("/readyz").await.status(), StatusCode::OK);

    storage.break_it(&app).await;
    let res = probe("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK, "the process is alive");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    assert_eq!(
        probe("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready while writes fail"
    );
    // The same cookie on a page meets the failing session store: the error page.
    assert_error_page(app.get(&owner.browser, paths::HOME).await).await;

    storage.repair();
    assert_eq!(probe("/readyz").await.status(), StatusCode::OK);
    assert_eq!(probe("/healthz").await.status(), StatusCode::OK);
    drop(app);
    drop(storage);
}
