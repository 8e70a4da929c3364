//! The per-account rate limit shared through Redis (`TERMINUS_RATE_LIMIT_URL`): a real
//! `redis-server` process (Debian's `redis-server` package) on a free loopback port, two
//! server instances on one database, and what happens when Redis stops.
use std::process::Stdio;

use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

use crate::helpers::*;
use crate::operating::{free_port, Binary};

/// A throwaway `redis-server`: no persistence, loopback only, stopped when dropped.
pub struct RedisServer {
    pub url: String,
    port: u16,
    child: Child,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server (apt-get install redis-server)");
        let server = RedisServer {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            child,
        };
        eventually("redis-server answers PING", || server.answers_ping()).await;
        server
    }

    async fn answers_ping(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).await.is_ok() && &answer == b"+PONG\r\n"
    }

    /// Stops the server and waits until it is gone.
    pub async fn stop(mut self) {
        self.child.kill().await.expect("stop redis-server");
    }
}

/// A plan of 5 requests at once and 1 a minute: within a test nothing refills.
const PLAN: &str = "default_plan = \"tiny\"\n[plans.tiny]\nper_minute = 1\nburst = 5\n";

fn tiny(c: &mut terminus_hub::Config) {
    c.plans.insert(
        "tiny".into(),
        app::plans::PlanLimits {
            per_minute: 1,
            burst: 5,
        },
    );
    c.default_plan = Some("tiny".into());
}

async fn get_records(base: &str, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/records"))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_together_allow_the_plans_burst_not_twice_it() {
    let redis = RedisServer::start().await;
    let url = redis.url.clone();
    let a = TestApp::spawn_with(|c| {
        tiny(c);
        c.rate_limit_url = Some(url);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("terminus.toml"), PLAN).unwrap();
    let b = Binary::start(
        dir.path(),
        &[
            ("DATABASE_URL", a.database_url.as_str()),
            ("TERMINUS_RATE_LIMIT_URL", redis.url.as_str()),
        ],
    )
    .await;
    let owner = a.owner("shared").await;
    // Creating the key (on A) is the account's first request of its burst of 5.
    let key = a.full_key(&owner).await;
    let mut remaining = Vec::new();
    for (i, base) in [&b.base, &a.base, &b.base, &a.base].into_iter().enumerate() {
        let res = get_records(base, &key).await;
        assert_eq!(res.status(), StatusCode::OK, "request {i}");
        assert_eq!(res.headers()["ratelimit-policy"], "1;w=60;burst=5");
        remaining.push(res.headers()["ratelimit"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        remaining,
        [3, 2, 1, 0].map(|n| format!("limit=5, remaining={n}, reset=0")),
        "one bucket for both instances"
    );
    // Both refuse now: together they allowed the burst, not twice it.
    for base in [&a.base, &b.base, &a.base, &b.base] {
        let res = get_records(base, &key).await;
        assert!(res.headers().contains_key("retry-after"));
        assert_api_error(
            res,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("rate_limited"),
        )
        .await;
    }
    drop(b);
    redis.stop().await;
}

#[tokio::test]
async fn without_redis_requests_are_served_under_the_instances_own_limit() {
    // Redis was never there: the server starts and serves.
    let closed = format!("redis://127.0.0.1:{}/0", free_port());
    let dir = tempfile::tempdir().unwrap();
    let lonely = Binary::start(dir.path(), &[("TERMINUS_RATE_LIMIT_URL", closed.as_str())]).await;
    // Said at start: it tries to connect before it listens.
    assert!(
        lonely.seen.iter().any(|line| line
            .contains("the shared rate limiter (TERMINUS_RATE_LIMIT_URL) is not answering")),
        "{:?}",
        lonely.seen
    );
    let res = reqwest::get(lonely.url("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(lonely);

    // Redis stops under a running server: requests are still served, and limited per instance.
    let redis = RedisServer::start().await;
    let url = redis.url.clone();
    let app = TestApp::spawn_with(|c| {
        tiny(c);
        c.rate_limit_url = Some(url);
    })
    .await;
    let owner = app.owner("failopen").await;
    let key = app.full_key(&owner).await;
    let res = get_records(&app.base, &key).await;
    assert_eq!(res.headers()["ratelimit"], "limit=5, remaining=3, reset=0");
    redis.stop().await;
    // The in-process limiter takes over with a bucket of its own, with the same headers.
    for n in (0..5).rev() {
        let res = app.api(Method::GET, "/records", &key).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "served while Redis is down");
        assert_eq!(res.headers()["ratelimit-policy"], "1;w=60;burst=5");
        assert_eq!(
            res.headers()["ratelimit"],
            format!("limit=5, remaining={n}, reset=0").as_str()
        );
    }
    let res = app.api(Method::GET, "/records", &key).send().await.unwrap();
    assert_api_error(
        res,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        Some("rate_limited"),
    )
    .await;
}
