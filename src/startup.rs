//! Building and running the server: one testable entry point. Tests bind `127.0.0.1:0`,
//! build an [`Application`] with their own clock, read its address and stop it cleanly.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::domain::clock::Clock;
use app::hashing::{Passwords, Schedule};
use app::ports::Mailer;
use app::{AppParts, AppState, WebConfig};
use axum::middleware::from_fn_with_state;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower::{Layer as _, ServiceBuilder};
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::session_store::ExpiredDeletion as _;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::db::Database;
use crate::http;
use crate::mailer::LettreMailer;
use crate::serve::ServerLimits;
use crate::store::SqlSessions;

/// Form posts are small; 2 MiB leaves room for a pasted megabyte that is then refused politely.
/// (The API limits its own bodies, to answer in its JSON envelope.)
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
const SESSION_IDLE: time::Duration = time::Duration::hours(24);

pub struct Application {
    listener: TcpListener,
    router: AppService,
    database: Database,
    sessions: SqlSessions,
    state: AppState,
    api: ApiState,
    public_url: String,
    limits: ServerLimits,
    /// The metrics listener and the recorder's handle, when `TERMINUS_METRICS_ADDR` is set.
    metrics: Option<(TcpListener, PrometheusHandle)>,
    /// Checked at start, in the background (a warning when the server cannot be reached).
    mailer: Arc<LettreMailer>,
    /// `audit_retention_days`: applied once a day by [`housekeeping`].
    audit_retention_days: Option<u32>,
}

/// The mail adapter the configuration asks for: SMTP, or the outbox.
pub fn mailer(config: &Config) -> anyhow::Result<LettreMailer> {
    match &config.smtp_url {
        Some(url) => LettreMailer::smtp(url, &config.sender()),
        None => LettreMailer::outbox(config.outbox_dir.clone(), &config.sender()),
    }
}

/// The application state over an open database: what the server serves with, and what the
/// command line (`terminus-hub admin …`) runs the same flows with.
pub fn app_state(
    config: &Config,
    database: &Database,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    public_url: &str,
) -> anyhow::Result<AppState> {
    let permits = config.hash_permits.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let mut web = WebConfig::new(public_url);
    web.trusted_proxies = config.trusted_proxies.clone();
    web.issuer_policy = config.issuer_policy_for(public_url);
    web.invitations_per_day = config.invitations_per_day;
    web.floods = config.floods;
    web.hsts = public_url.starts_with("https://");
    web.signup = config.signup;
    web.plans = config.plan_table()?;
    let issuer_policy = web.issuer_policy;
    let dns = Arc::new(
        crate::dns::HickoryDns::new(&config.dns_servers).context("setting up the DNS resolver")?,
    );
    Ok(AppState::new(AppParts {
        store: database.store(),
        mailer,
        clock,
        passwords: Passwords::with_schedule(
            permits,
            Schedule {
                nice: config.hash_nice,
                idle: config.hash_sched_idle,
            },
        )
        .context("setting up argon2")?,
        sealing: Arc::new(config.sealing_key()?),
        oidc: Arc::new(crate::oidc::OpenIdConnect::new(issuer_policy, dns.clone())?),
        dns,
        config: Arc::new(web),
        background: tokio_util::task::TaskTracker::new(),
    }))
}

impl Application {
    /// Opens and migrates the database, builds the adapters and the router.
    pub async fn build(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let bound = listener.local_addr().context("reading the bound address")?;
        let public_url = config.public_url_for(bound);
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding the metrics address {addr}"))?;
                Some((listener, crate::metrics::install()?))
            }
            None => None,
        };
        let database = Database::connect(&config).await?;
        database.migrate().await?;

        let mailer = Arc::new(mailer(&config)?);
        let state = app_state(&config, &database, mailer.clone(), clock, &public_url)?;
        let sessions = database.sessions();
        let secure = config.cookie_secure_for(&public_url);
        let api = ApiState::new(state.clone(), config.rate_limit_url.as_deref()).await?;
        #[cfg(feature = "bench")]
        if config.bench_routes {
            tracing::warn!("TERMINUS_BENCH_ROUTES is on: /_bench/* answers without authentication");
        }
        let router = router(
            state.clone(),
            api.clone(),
            sessions.clone(),
            secure,
            #[cfg(feature = "bench")]
            config.bench_routes,
            config.request_timeout,
        );
        Ok(Self {
            listener,
            router,
            database,
            sessions,
            state,
            api,
            public_url,
            limits: ServerLimits {
                header_timeout: config.header_timeout,
                max_connections: config.max_connections,
            },
            metrics,
            mailer,
            audit_retention_days: config.audit_retention_days,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Where metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// The password hasher the server uses (tests read its state).
    pub fn passwords(&self) -> app::hashing::Passwords {
        self.state.passwords.clone()
    }

    /// The store the server reads and writes (the integration tests look into it through it:
    /// opening the same SQLite file a second time in this process would drop its locks).
    pub fn store(&self) -> Arc<dyn app::ports::Store> {
        self.database.store()
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the pool.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(
            self.state.clone(),
            self.sessions.clone(),
            self.audit_retention_days,
        ));
        let api_housekeeping = tokio::spawn(api::housekeeping(self.api.clone()));
        let metrics = self.metrics.map(|(listener, handle)| {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!("metrics are served on http://{addr}/metrics");
            }
            tokio::spawn(crate::metrics::serve(
                listener,
                handle,
                self.database.clone(),
            ))
        });
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            if let Some(Err(problem)) = mailer.check_smtp(SMTP_CHECK).await {
                tracing::warn!("SMTP_URL cannot be reached: {problem}. The server runs, but mail will fail until it can; `terminus-hub mail test ADDRESS` tries a delivery");
            }
        });
        let served = crate::serve::serve(self.listener, self.router, self.limits, shutdown).await;
        housekeeping.abort();
        api_housekeeping.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        // Work that runs after answers (mail, the rest of a sign-up) finishes first.
        self.state.background.close();
        if tokio::time::timeout(Duration::from_secs(10), self.state.background.wait())
            .await
            .is_err()
        {
            tracing::warn!("background work still running after 10 s; stopping anyway");
        }
        // Last-used times still pending in memory are written before the pool closes.
        if let Err(err) = self.api.last_used.flush(self.state.store.as_ref()).await {
            tracing::warn!(error = %err, "writing API key last-used times failed");
        }
        self.database.close().await;
        served.context("serving HTTP")
    }
}

/// How long the start-up check of `SMTP_URL` waits for the server.
const SMTP_CHECK: Duration = Duration::from_secs(5);

/// How often the audit trail's retention is applied.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Periodic clean-up: expired sessions, old IP failures, expired tokens; and once a day (the
/// first time at start) the audit trail's retention, when one is set. Every instance runs it:
/// the deletes are idempotent, so two at once delete each row once between them.
async fn housekeeping(state: AppState, sessions: SqlSessions, audit_retention_days: Option<u32>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    let mut retained_at: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
        if let Some(days) = audit_retention_days {
            if retained_at.is_none_or(|at| at.elapsed() >= RETENTION_EVERY) {
                retained_at = Some(tokio::time::Instant::now());
                match app::flows::admin::apply_audit_retention(&state, days).await {
                    Ok(deleted) => tracing::info!(
                        event = "audit.retention",
                        deleted,
                        days,
                        "audit events past their retention deleted"
                    ),
                    Err(err) => tracing::warn!(error = %err, "applying the audit retention failed"),
                }
            }
        }
        if let Err(err) = sessions.delete_expired().await {
            tracing::warn!(error = %err, "deleting expired sessions failed");
        }
        // Counters older than a day (the longest window) no longer limit anything.
        let window = Duration::from_secs(24 * 3600);
        if let Err(err) = state.store.prune(state.clock.now(), window).await {
            tracing::warn!(error = %err, "pruning failed");
        }
    }
}

/// The service the server runs: the one router (web app, REST API, static files) inside the
/// session layer and [`http::guard`], the health endpoints beside them (outside both), and
/// [`http::ObserveLayer`] around it all.
pub type AppService = http::Observe<Router>;

/// The one router and the layers around it (see `http`'s module doc for why they wrap the
/// router as a whole rather than each route).
pub fn router(
    state: AppState,
    api: ApiState,
    sessions: SqlSessions,
    secure_cookies: bool,
    #[cfg(feature = "bench")] bench_routes: bool,
    request_timeout: Duration,
) -> AppService {
    let hsts = state.config.hsts;
    let api_for_report = api.clone();
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(if secure_cookies {
            "__Host-thub_session"
        } else {
            "thub_session"
        })
        .with_secure(secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    let web = app::web::routes::router(state.clone())
        .merge(http::static_files().with_state(state.clone()))
        .route("/openapi.json", axum::routing::get(api::openapi::serve))
        .route("/docs", axum::routing::get(api::docs::serve));
    // The benchmark's unauthenticated twin of /api/v1/workspaces, behind the same layers.
    #[cfg(feature = "bench")]
    let web = if bench_routes {
        web.merge(api::bench::router(api.clone()))
    } else {
        web
    };
    let routes = web
        .nest("/api/v1", api::router(api))
        .fallback(app::web::errors::fallback)
        // The one layer on each route: its template, for the access line and metrics.
        .layer(http::NoteRouteLayer);
    let served = ServiceBuilder::new()
        .layer(from_fn_with_state(
            http::GuardState {
                app: state.clone(),
                request_timeout,
                max_form_bytes: MAX_BODY_BYTES,
            },
            http::guard,
        ))
        // A handler that panics gets a 500 (the API's envelope; the guard makes it the error
        // page elsewhere) instead of a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            api::handlers::panic_response,
        ))
        .layer(session_layer)
        // The device cookie, for the new-device notice (set only by a sign-in).
        .layer(from_fn_with_state(
            app::web::device::DeviceCookies {
                secure: secure_cookies,
            },
            app::web::device::keep,
        ))
        .service(routes);
    // Beside the health endpoints, outside sessions and the guard: the public report of
    // leaked keys needs no key and no session, and must not start one (`api::report`).
    let all = http::health(state)
        .merge(api::report::router(api_for_report))
        .layer(http::NoteRouteLayer)
        .fallback_service(served);
    http::ObserveLayer::new(hsts, crate::metrics::HttpMetrics::new()).layer(all)
}
