//! Prometheus metrics, served in the text format on a listener of their own
//! (`TERMINUS_METRICS_ADDR`, off by default) so they never share a port with the public site.
//!
//! The series (every label takes a value from a small fixed set, or a route template: never
//! an email, a key, a token or an id):
//! - `terminus_http_requests_total{method,route,status}` and
//!   `terminus_http_request_duration_seconds{method,route,status}` (histogram), by route
//!   template (axum's `MatchedPath`, e.g. `/api/v1/workspaces/{id}`), never the raw path;
//! - `terminus_sign_ins_total{outcome}`: signed_in, second_step, locked,
//!   wrong_password_or_unknown (one label, as the page says one thing), sso_required, blocked,
//!   throttled, password_missing; `terminus_lockouts_total`: guesses that locked their user;
//! - `terminus_password_hash_queue_wait_seconds` (histogram): submission to start of a hash;
//! - `terminus_mails_sent_total{transport}`, `terminus_mails_failed_total{transport}`;
//! - `terminus_db_pool_connections` and `terminus_db_pool_idle_connections` (gauges, read from
//!   the pool at every scrape), `terminus_db_pool_max_connections`;
//! - `terminus_log_lines_dropped_total`: log lines no output took (read at every scrape);
//! - `terminus_build_info{version,commit}` (always 1);
//! - `process_*` (the `metrics-process` crate: memory, CPU time, open files, threads, start
//!   time), read at every scrape.
//!
//! Every series has its `# HELP` line, and every series without labels or with a fixed set
//! of them is registered at start, at zero: an alert rule sees it before the first event.
//!
//! Every request is recorded, so [`HttpMetrics`] keeps the handles of each series it has seen
//! (per thread): recording a request is a lookup, an atomic increment and a histogram sample,
//! with no lock, no allocation and no label built.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::db::Database;

/// Histogram buckets in seconds: from a millisecond (an API read) to a minute (a sign-in that
/// queued behind a flood of hashes).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls get the same handle). Until then every
/// `metrics::counter!` and `histogram!` in the code is a no-op.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .context("setting histogram buckets")?
        .build_recorder();
    let handle = recorder.handle();
    match metrics::set_global_recorder(recorder) {
        Ok(()) => {
            let _ = HANDLE.set(handle.clone());
            describe_and_register();
            Ok(handle)
        }
        // Another thread won the race: use its recorder.
        Err(_) => HANDLE
            .get()
            .cloned()
            .context("a metrics recorder of another kind is installed"),
    }
}

/// The process's own series (memory, CPU, open files), read at each scrape.
fn process() -> &'static metrics_process::Collector {
    static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();
    PROCESS.get_or_init(metrics_process::Collector::default)
}

/// Every series' `# HELP`, and those with a fixed set of labels registered at zero.
fn describe_and_register() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "terminus_http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        "terminus_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    describe_counter!(
        app::flows::sign_in::SIGN_INS,
        "Password sign-ins by outcome: signed_in, second_step, locked, wrong_password_or_unknown, sso_required, blocked, throttled, password_missing."
    );
    describe_counter!(
        app::flows::sign_in::LOCKOUTS,
        "Users locked out: failed guesses (passwords or codes) that reached the lockout's limit."
    );
    describe_histogram!(
        app::hashing::HASH_QUEUE_WAIT,
        Unit::Seconds,
        "Time a password hash waited for a hashing thread."
    );
    describe_counter!(
        "terminus_mails_sent_total",
        "Mails handed to the SMTP server or written to the outbox, by transport."
    );
    describe_counter!(
        "terminus_mails_failed_total",
        "Mails that could not be sent, by transport."
    );
    describe_gauge!(
        "terminus_db_pool_connections",
        "Database connections open in the pool."
    );
    describe_gauge!(
        "terminus_db_pool_idle_connections",
        "Database connections open and idle in the pool."
    );
    describe_gauge!(
        "terminus_db_pool_max_connections",
        "The most database connections the pool opens."
    );
    describe_counter!(
        "terminus_log_lines_dropped_total",
        "Log lines dropped because no output took them."
    );
    describe_gauge!(
        "terminus_build_info",
        "Always 1: the version and the commit this binary was built from."
    );
    for outcome in app::flows::sign_in::SIGN_IN_OUTCOMES {
        metrics::counter!(app::flows::sign_in::SIGN_INS, "outcome" => *outcome).increment(0);
    }
    metrics::counter!(app::flows::sign_in::LOCKOUTS).increment(0);
    // Registered with no sample: rendered with zero counts until the first hash.
    let _ = metrics::histogram!(app::hashing::HASH_QUEUE_WAIT);
    metrics::counter!("terminus_log_lines_dropped_total").absolute(0);
    metrics::gauge!(
        "terminus_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "commit" => env!("TERMINUS_COMMIT")
    )
    .set(1.0);
    process().describe();
    process().collect();
}

/// The request series: `terminus_http_requests_total` and
/// `terminus_http_request_duration_seconds` by method, route and status.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    /// Tells this router's handles from another's (tests build several in one process, some
    /// before the recorder is installed).
    id: u64,
}

/// One series' handles.
struct Series {
    method: &'static str,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

/// The handles a thread has registered, by route template.
#[derive(Default)]
struct Registered {
    owner: u64,
    by_route: HashMap<Box<str>, Vec<Series>>,
}

thread_local! {
    static REGISTERED: RefCell<Registered> = RefCell::new(Registered::default());
}

impl HttpMetrics {
    /// Request metrics for one router; build it after [`install`] (before, it records to the
    /// no-op recorder, as every `metrics` call does).
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Counts one answered request. `route` is a template or `unmatched`, `method` a
    /// standard method or `other`: labels from small sets.
    pub fn record(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        let _ = REGISTERED.try_with(|registered| {
            let Ok(mut registered) = registered.try_borrow_mut() else {
                return;
            };
            if registered.owner != self.id {
                registered.owner = self.id;
                registered.by_route.clear();
            }
            if let Some(series) = registered.by_route.get_mut(route) {
                record_in(series, method, route, status, elapsed);
                return;
            }
            let mut series = Vec::new();
            record_in(&mut series, method, route, status, elapsed);
            registered.by_route.insert(route.into(), series);
        });
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Records in the series of `method` and `status`, registered first if it is new.
fn record_in(
    series: &mut Vec<Series>,
    method: &'static str,
    route: &str,
    status: u16,
    elapsed: Duration,
) {
    let found = series
        .iter()
        .position(|s| s.status == status && s.method == method);
    let index = found.unwrap_or_else(|| {
        series.push(register(method, route, status));
        series.len() - 1
    });
    if let Some(series) = series.get(index) {
        series.requests.increment(1);
        series.duration.record(elapsed.as_secs_f64());
    }
}

/// Registers one series (once per thread and series: it builds the labels).
fn register(method: &'static str, route: &str, status: u16) -> Series {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    Series {
        method,
        status,
        requests: metrics::counter!("terminus_http_requests_total", &labels),
        duration: metrics::histogram!("terminus_http_request_duration_seconds", &labels),
    }
}

#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    database: Database,
}

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle, database: Database) {
    // Histograms keep their samples until upkeep folds them in: do it even if nobody scrapes.
    let upkeep = handle.clone();
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Exporter { handle, database });
    if let Err(err) = axum::serve(listener, app).await {
        tracing::error!(error = %err, "the metrics listener stopped");
    }
    upkeep.abort();
}

async fn scrape(State(exporter): State<Exporter>) -> impl IntoResponse {
    let (size, idle, max) = exporter.database.pool_use();
    metrics::gauge!("terminus_db_pool_connections").set(f64::from(size));
    metrics::gauge!("terminus_db_pool_idle_connections").set(idle as f64);
    metrics::gauge!("terminus_db_pool_max_connections").set(f64::from(max));
    metrics::counter!("terminus_log_lines_dropped_total")
        .absolute(crate::telemetry::lines_dropped());
    process().collect();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.handle.render(),
    )
}
