//! Prometheus metrics, served in the text format on a listener of their own
//! (`TERMINUS_METRICS_ADDR`, off by default) so they never share a port with the public site.
//!
//! The series (every label takes a value from a small fixed set, or a route template: never
//! an email, a key, a token or an id):
//! - `terminus_http_requests_total{method,route,status}` and
//!   `terminus_http_request_duration_seconds{method,route,status}` (histogram), by route
//!   template (axum's `MatchedPath`, e.g. `/api/v1/workspaces/{id}`), never the raw path;
//! - `terminus_sign_ins_total{outcome}`: signed_in, refused, password_missing, throttled;
//! - `terminus_password_hash_queue_wait_seconds` (histogram): submission to start of a hash;
//! - `terminus_mails_sent_total{transport}`, `terminus_mails_failed_total{transport}`;
//! - `terminus_db_pool_connections` and `terminus_db_pool_idle_connections` (gauges, read from
//!   the pool at every scrape), `terminus_db_pool_max_connections`.
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
            Ok(handle)
        }
        // Another thread won the race: use its recorder.
        Err(_) => HANDLE
            .get()
            .cloned()
            .context("a metrics recorder of another kind is installed"),
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
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.handle.render(),
    )
}
