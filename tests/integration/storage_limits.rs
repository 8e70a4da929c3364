//! Faults of the files under a SQLite server, injected from outside into the real binary: a
//! file-size limit (RLIMIT_FSIZE) that writes run into, and a `-shm` file frozen while the
//! server runs. The database is SQLite whatever the suite's backend: these are faults of
//! SQLite's own files.
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::operating::Binary;

/// An owner's key and a workspace for records, made in a database at `dir/data/terminus.db`
/// (where `terminus-hub serve` run in `dir` finds it) by an in-process server that is then
/// stopped.
async fn seeded(dir: &Path) -> (String, String) {
    let url = format!("sqlite://{}", dir.join("data/terminus.db").display());
    let app = TestApp::spawn_on(tempfile::tempdir().unwrap(), url).await;
    let owner = app.owner("storage").await;
    let key = app.full_key(&owner).await;
    let res = app
        .api(Method::POST, "/workspaces", &key)
        .json(&json!({"name": "records"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let workspace = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.stop().await;
    (key, workspace)
}

fn data_file(dir: &Path, suffix: &str) -> PathBuf {
    dir.join(format!("data/terminus.db{suffix}"))
}

/// One record through the API: its id when acknowledged (201), else the answer.
async fn post_record(
    server: &Binary,
    key: &str,
    workspace: &str,
    data: &Value,
) -> Result<String, reqwest::Response> {
    let res = reqwest::Client::new()
        .post(server.url("/api/v1/records"))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({"workspace_id": workspace, "data": data}))
        .send()
        .await
        .expect("the server answers");
    if res.status() == StatusCode::CREATED {
        Ok(res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned())
    } else {
        Err(res)
    }
}

/// Every record of `workspace`, id → data.
async fn stored_records(server: &Binary, key: &str, workspace: &str) -> BTreeMap<String, Value> {
    let client = reqwest::Client::new();
    let mut all = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = server.url(&format!(
            "/api/v1/records?workspace_id={workspace}&limit=100"
        ));
        if let Some(id) = &after {
            url.push_str(&format!("&starting_after={id}"));
        }
        let res = client
            .get(url)
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        for record in page["data"].as_array().unwrap() {
            let id = record["id"].as_str().unwrap().to_owned();
            after = Some(id.clone());
            all.insert(id, record["data"].clone());
        }
        if !page["has_more"].as_bool().unwrap() {
            return all;
        }
    }
}

async fn status(server: &Binary, path: &str) -> StatusCode {
    reqwest::get(server.url(path)).await.unwrap().status()
}

/// Under a file-size limit the write-ahead log reaches the limit after a few writes. The
/// kernel then sends SIGXFSZ, which used to stop the process (under systemd, a restart loop):
/// now the write fails like a full disk. Writes get the 500 envelope, `/readyz` says 503,
/// everything else keeps answering; once the limit is raised (on the running process, with
/// `prlimit --pid`), writes and `/readyz` recover without a restart; and after a restart the
/// database holds every acknowledged record.
#[tokio::test]
async fn a_file_size_limit_fails_writes_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let (key, workspace) = seeded(dir.path()).await;
    // Room for the files as they are and some writes more: the log grows from here.
    let largest = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(data_file(dir.path(), suffix)).ok())
        .map(|m| m.len())
        .max()
        .unwrap();
    let limit = largest + 256 * 1024;
    // The soft limit (the one that counts); the hard one stays unlimited, so the soft one can
    // be raised again without privileges (a container's root may lack CAP_SYS_RESOURCE).
    let fsize = format!("--fsize={limit}:unlimited");
    let mut server = Binary::start_under(
        &["prlimit", &fsize, "--"],
        dir.path(),
        &[("RUST_LOG", "info")],
    )
    .await;

    let mut acknowledged = BTreeMap::new();
    let pad = "x".repeat(6000);
    let mut refused = None;
    for i in 0..500 {
        let data = json!({"i": i, "pad": pad});
        match post_record(&server, &key, &workspace, &data).await {
            Ok(id) => {
                acknowledged.insert(id, data);
            }
            Err(res) => {
                refused = Some(res);
                break;
            }
        }
    }
    let refused = refused.expect("a write ran into the file-size limit within 500 records");
    assert!(!acknowledged.is_empty(), "writes worked below the limit");
    let error = assert_api_error(
        refused,
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        Some("internal_error"),
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains("x-request-id"));
    server.wait_for("went past the file-size limit").await;

    // Still serving: liveness, reads. A smaller write (the readiness probe's) may still fit
    // in what the log has left; once one does not, /readyz says 503, and so do writes.
    assert_eq!(status(&server, "/healthz").await, StatusCode::OK);
    let mut ready_probes = 0;
    while status(&server, "/readyz").await == StatusCode::OK {
        ready_probes += 1;
        assert!(
            ready_probes < 100,
            "/readyz keeps committing past the limit"
        );
    }
    let res = post_record(&server, &key, &workspace, &json!({"after": "not ready"}))
        .await
        .expect_err("no write while not ready");
    assert_api_error(
        res,
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        Some("internal_error"),
    )
    .await;
    assert_eq!(
        stored_records(&server, &key, &workspace).await,
        acknowledged,
        "reads keep working, and show exactly what was acknowledged"
    );

    // The limit is lifted on the running process: writes and readiness come back.
    let raised = Command::new("prlimit")
        .args([
            "--pid",
            &server.pid().to_string(),
            "--fsize=unlimited:unlimited",
        ])
        .status()
        .unwrap();
    assert!(raised.success(), "prlimit --pid");
    assert_eq!(status(&server, "/readyz").await, StatusCode::OK);
    for i in 0..5 {
        let data = json!({"after": i, "pad": pad});
        let id = post_record(&server, &key, &workspace, &data)
            .await
            .unwrap_or_else(|res| panic!("a write after the limit was raised: {}", res.status()));
        acknowledged.insert(id, data);
    }
    server.stop().await;

    let server = Binary::start(dir.path(), &[]).await;
    assert_eq!(
        stored_records(&server, &key, &workspace).await,
        acknowledged,
        "after a restart: every acknowledged record, and nothing else"
    );
    server.stop().await;
}

/// `chattr +i` on a file for as long as it lives (`chattr -i` when dropped, so the test's
/// folder can be removed whatever happens).
struct Frozen(PathBuf);

impl Frozen {
    fn freeze(path: &Path) -> Frozen {
        let out = Command::new("chattr").arg("+i").arg(path).output();
        match out {
            Ok(out) if out.status.success() => Frozen(path.to_owned()),
            other => panic!(
                "this test freezes a file with `chattr +i {}`, which needs root (CI runs as root) \
                 and a filesystem with the immutable flag (ext4, xfs, btrfs): {other:?}",
                path.display()
            ),
        }
    }

    fn thaw(self) {}
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// SQLite maps the `-shm` file into memory and writes through the map, so once the file is
/// frozen (immutable) the next write to a page of it that the kernel has written back raises
/// SIGBUS, which no process survives. The README documents what happens instead of a 5xx, and
/// this test holds it to it: the process ends with SIGBUS, nothing it acknowledged is lost,
/// a restart while the file is still frozen stops at once with a message naming the file and
/// the fix, and once the file is writable again a restart serves every acknowledged write.
#[tokio::test]
async fn a_frozen_shm_file_ends_the_server_losing_nothing_and_a_restart_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (key, workspace) = seeded(dir.path()).await;
    let server = Binary::start(dir.path(), &[]).await;
    let shm = data_file(dir.path(), "-shm");

    let mut acknowledged = BTreeMap::new();
    for i in 0..30 {
        let data = json!({"before": i});
        let id = post_record(&server, &key, &workspace, &data)
            .await
            .unwrap_or_else(|res| panic!("a write before the freeze: {}", res.status()));
        acknowledged.insert(id, data);
    }
    let frozen = Frozen::freeze(&shm);
    // Write the file's pages back: the next write through the map must then ask the
    // filesystem, which refuses (the file is immutable), and the kernel answers with SIGBUS.
    std::fs::File::open(&shm).unwrap().sync_all().unwrap();

    // The next request that writes (its key lookup marks its read in the -shm file, its
    // insert appends to the index there) ends the process before it is answered.
    let res = reqwest::Client::new()
        .post(server.url("/api/v1/records"))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({"workspace_id": workspace, "data": {"after": "freeze"}}))
        .send()
        .await;
    assert!(res.is_err(), "no answer from a process that died: {res:?}");
    let (ended, log) = server.ended().await;
    assert_eq!(
        ended.signal(),
        Some(rustix::process::Signal::BUS.as_raw()),
        "the process ends with SIGBUS: {ended:?}\n{}",
        log.join("\n")
    );

    // A supervisor restarts it while the file is still frozen: it stops at once and says why.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_terminus-hub"))
        .arg("serve")
        .current_dir(dir.path())
        .env("TERMINUS_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("TERMINUS_CONFIG")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the database file data/terminus.db-shm cannot be written")
            && stderr.contains("chattr -i"),
        "{stderr}"
    );

    // Thawed, it starts and holds every acknowledged write (and perhaps the one that was
    // being made when the process ended, if its commit reached the log first).
    frozen.thaw();
    let server = Binary::start(dir.path(), &[]).await;
    let mut stored = stored_records(&server, &key, &workspace).await;
    stored.retain(|_, data| data != &json!({"after": "freeze"}));
    assert_eq!(
        stored, acknowledged,
        "every acknowledged write, nothing else"
    );
    assert_eq!(status(&server, "/readyz").await, StatusCode::OK);
    server.stop().await;
}
