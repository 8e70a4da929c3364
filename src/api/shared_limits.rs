//! The per-account rate limit shared by every instance (`TERMINUS_RATE_LIMIT_URL`): the same
//! GCRA as the in-process limiter (`governor`'s arithmetic, so the `RateLimit` headers are the
//! same), kept in Redis or Valkey and run as one Lua script per request, so N instances
//! together allow exactly the plan. The script reads and writes one key per account and plan
//! atomically; nothing else is stored.
//!
//! When the server cannot be reached (not yet connected, a failed or slow command), the
//! request is counted by the in-process limiter instead (fail open), a warning is logged at
//! most once a minute and `terminus_rate_limit_fallbacks_total` counts it. The connection
//! manager reconnects by itself; before the first connection, one attempt at a time runs in
//! the background, at most every few seconds, and requests never wait for it.
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::limits::{Policy, Verdict};

/// One command may take this long before the request is counted in process instead.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// A connection attempt may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Between two connection attempts before the first connection.
const RETRY_CONNECT_MS: i64 = 5_000;
/// At most one warning a minute while the shared limiter is not used.
const WARN_EVERY_MS: i64 = 60_000;

/// GCRA on `KEYS[1]` (the theoretical arrival time, in microseconds): `ARGV` = now, the
/// emission interval `t`, the tolerance `tau` (`t` × (burst − 1)). Answers `{1, remaining}`
/// or `{0, microseconds to wait}`; exactly `governor`'s rule.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = tonumber(stored) end
local earliest = tat - tau
if now < earliest then
  return {0, earliest - now}
end
local nxt = math.max(tat, now) + t
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
return {1, math.floor(math.min(now + tau + t - nxt, tau + t) / t)}
";

/// The shared limiter's connection and its state.
pub struct SharedLimits {
    client: redis::Client,
    script: redis::Script,
    connection: Mutex<Option<ConnectionManager>>,
    connecting: AtomicBool,
    /// When (ms since the epoch, the process's own clock) the next connection attempt may run.
    next_attempt_ms: AtomicI64,
    last_warning_ms: AtomicI64,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SharedLimits {
    /// A limiter on the server at `url` (checked by the configuration); it connects in the
    /// background.
    pub fn new(url: &str) -> anyhow::Result<Arc<Self>> {
        let limits = Arc::new(Self {
            client: redis::Client::open(url)?,
            script: redis::Script::new(GCRA),
            connection: Mutex::new(None),
            connecting: AtomicBool::new(false),
            next_attempt_ms: AtomicI64::new(0),
            last_warning_ms: AtomicI64::new(i64::MIN),
        });
        Ok(limits)
    }

    fn connection(self: &Arc<Self>) -> Option<ConnectionManager> {
        if let Some(conn) = self.connection.lock().ok().and_then(|c| c.clone()) {
            return Some(conn);
        }
        self.connect_in_background();
        None
    }

    /// Starts one connection attempt in the background unless one runs or the last failed
    /// moments ago.
    pub fn connect_in_background(self: &Arc<Self>) {
        let now = wall_ms();
        if now < self.next_attempt_ms.load(Ordering::Relaxed)
            || self.connecting.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move { this.connect().await });
    }

    /// One connection attempt (the caller holds `connecting`); at start, the server waits for
    /// it, so a reachable Redis counts the very first request.
    pub async fn connect(self: &Arc<Self>) {
        self.connecting.store(true, Ordering::Release);
        let attempt =
            tokio::time::timeout(CONNECT_TIMEOUT, ConnectionManager::new(self.client.clone()))
                .await;
        match attempt {
            Ok(Ok(conn)) => {
                if let Ok(mut slot) = self.connection.lock() {
                    *slot = Some(conn);
                }
                tracing::info!("the shared rate limiter (TERMINUS_RATE_LIMIT_URL) is connected");
            }
            Ok(Err(err)) => self.fell_back(&format!("cannot connect: {err}")),
            Err(_) => self.fell_back("cannot connect: no answer within 2 s"),
        }
        self.next_attempt_ms
            .store(wall_ms() + RETRY_CONNECT_MS, Ordering::Relaxed);
        self.connecting.store(false, Ordering::Release);
    }

    /// Counts a request of `account_id` under `policy` at `now_ms` (the application's clock);
    /// `None` when the shared server could not answer (the caller counts it in process).
    pub async fn check(
        self: &Arc<Self>,
        policy: Policy,
        account_id: &str,
        now_ms: i64,
    ) -> Option<Verdict> {
        let mut conn = self.connection()?;
        let t = (60_000_000 / i64::from(policy.per_minute.max(1))).max(1);
        let tau = t * i64::from(policy.burst.max(1) - 1);
        let key = format!(
            "thub:rl:{}:{}:{account_id}",
            policy.per_minute, policy.burst
        );
        let mut call = self.script.key(key);
        call.arg(now_ms.saturating_mul(1000)).arg(t).arg(tau);
        let answer =
            tokio::time::timeout(COMMAND_TIMEOUT, call.invoke_async::<(i64, i64)>(&mut conn)).await;
        match answer {
            Ok(Ok((1, remaining))) => Some(Verdict::Allowed {
                remaining: u32::try_from(remaining).unwrap_or(0),
            }),
            Ok(Ok((_, wait_us))) => Some(Verdict::Limited {
                retry_after: Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)),
            }),
            Ok(Err(err)) => {
                self.fell_back(&err.to_string());
                None
            }
            Err(_) => {
                self.fell_back("no answer within 250 ms");
                None
            }
        }
    }

    /// Notes that a request was counted in process instead: a metric each time, a warning
    /// at most once a minute.
    fn fell_back(&self, why: &str) {
        metrics::counter!("terminus_rate_limit_fallbacks_total").increment(1);
        let now = wall_ms();
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .last_warning_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "the shared rate limiter (TERMINUS_RATE_LIMIT_URL) is not answering ({why}): API requests are limited per instance until it is back"
            );
        }
    }
}
