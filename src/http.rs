//! The HTTP plumbing around the web app and the API: request ids, access lines and request
//! metrics, security headers ([`Observe`], around everything); the server's request limits,
//! client IP, cross-site check, request timeout and the shape of every error answer
//! ([`guard`], around everything but the health endpoints); the route template each answer
//! was served by ([`NoteRoute`]); static files embedded in the binary; the health endpoints.
//!
//! The layers sit around the router as a whole, not on each of its routes: a layer on a
//! router wraps every route's boxed service, and axum clones a route's whole chain of boxed
//! services for every request (and `from_fn` clones what it wraps again), so a dozen layers
//! there cost more than the request they wrap.
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody as _};
use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::{Layer, Service};

use app::web::errors;
use app::web::guards::is_api_path;
use app::web::request::{self, RequestInfo};
use app::AppState;

use crate::api::error::ApiError;
use crate::metrics::HttpMetrics;
use crate::telemetry;

pub const REQUEST_ID: &str = "x-request-id";
/// [`REQUEST_ID`] as a header name, parsed once.
static X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID);

/// No inline scripts or styles; only this origin's files; never framed.
/// (`form-action` is left out: the single sign-on step redirects a form post to the
/// identity provider, which `form-action 'self'` would block in Chromium.)
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Headers every answer carries unless its handler set them.
static SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The longest request target (path and query) this server reads. Below hyper's own limit
/// (64 KiB), so the answer can carry a body and `x-request-id`.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names, values and separators) this server reads. Below hyper's
/// read buffer (about 400 KiB) and 100-header limit, which answer without a body.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// 414 or 431 for a request over this server's limits, else `None`.
fn over_limits<B>(req: &Request<B>) -> Option<(StatusCode, ApiError, &'static str)> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if target > MAX_URI_BYTES {
        return Some((
            StatusCode::URI_TOO_LONG,
            ApiError::uri_too_long(MAX_URI_BYTES),
            "This address is too long for the server to read.",
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::headers_too_large(MAX_HEADER_BYTES),
            "This request carries more headers than the server reads (too many or too large cookies?).",
        ));
    }
    None
}

/// Whether a client's `x-request-id` may be used as this request's id: at most 64 characters
/// of `A-Z a-z 0-9 . _ : -`, so it cannot flood or forge a log line or an answer.
pub fn acceptable_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request's id: the client's `x-request-id` when it sent one that is acceptable (see
/// [`acceptable_request_id`]), else a new random UUID. Set on the request for what follows.
fn request_id<B>(req: &mut Request<B>) -> HeaderValue {
    let mut ids = req.headers().get_all(&X_REQUEST_ID).iter();
    if let (Some(one), None) = (ids.next(), ids.next()) {
        if acceptable_request_id(one.as_bytes()) {
            return one.clone();
        }
    }
    // A UUID from the thread's CSPRNG: no system call per request (`Uuid::new_v4` asks the
    // kernel each time).
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let value = HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
        .unwrap_or_else(|_| HeaderValue::from_static("-"));
    req.headers_mut()
        .insert(X_REQUEST_ID.clone(), value.clone());
    value
}

/// The outermost layer: gives each request its id (echoed as `x-request-id`), serves it as
/// the current request (error pages and log lines name it), and writes its access line and
/// metrics once answered; adds the security headers (and HSTS behind an `https` public URL).
#[derive(Clone)]
pub struct ObserveLayer {
    shared: Arc<Observed>,
}

struct Observed {
    hsts: bool,
    metrics: HttpMetrics,
}

impl ObserveLayer {
    pub fn new(hsts: bool, metrics: HttpMetrics) -> Self {
        Self {
            shared: Arc::new(Observed { hsts, metrics }),
        }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`ObserveLayer`].
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    shared: Arc<Observed>,
}

impl<S> Service<Request<Body>> for Observe<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let id = request_id(&mut req);
        let info = RequestInfo::new(id, req.method().clone(), req.uri().clone())
            .with_user_agent(req.headers().get(header::USER_AGENT).cloned());
        let user_agent = req.headers().get(header::USER_AGENT).cloned();
        // The clone waits for the next request; the service that was polled ready serves this one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let (Ok(mut res), info) = request::serve(info, inner.call(req)).await;
            // The scope always gives its request back; without it there is nothing to log.
            if let Some(info) = info {
                finish(&shared, &info, user_agent.as_ref(), started, &mut res);
            }
            Ok(res)
        })
    }
}

/// The answer's own headers, then its access line and metrics.
fn finish(
    shared: &Observed,
    info: &RequestInfo,
    user_agent: Option<&HeaderValue>,
    started: Instant,
    res: &mut Response,
) {
    let headers = res.headers_mut();
    // Room for what follows at once, rather than growing the map header by header.
    headers.reserve(SECURITY_HEADERS.len() + 2);
    headers.insert(X_REQUEST_ID.clone(), info.id.clone());
    for (name, value) in &SECURITY_HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
    }
    if shared.hsts && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    let elapsed = started.elapsed();
    let route = info
        .route
        .get()
        .map_or(UNMATCHED, |r| server_function(r.as_str(), info.uri.path()));
    let status = res.status().as_u16();
    let method = method_label(&info.method);
    shared.metrics.record(method, route, status, elapsed);
    telemetry::access(&telemetry::Access {
        method: info.method.as_str(),
        route,
        status,
        elapsed,
        request_id: std::str::from_utf8(info.id.as_bytes()).unwrap_or("-"),
        client_ip: info.client_ip.get().map_or("-", String::as_str),
        user_agent: &user_agent_of(user_agent),
    });
}

/// The user agent as an access line keeps it: the header's text (bytes that are not UTF-8
/// replaced), at most [`telemetry::USER_AGENT_CHARS`] characters, or `-`.
fn user_agent_of(header: Option<&HeaderValue>) -> std::borrow::Cow<'_, str> {
    let Some(header) = header else {
        return "-".into();
    };
    let text = String::from_utf8_lossy(header.as_bytes());
    if text.chars().count() <= telemetry::USER_AGENT_CHARS {
        return text;
    }
    text.chars()
        .take(telemetry::USER_AGENT_CHARS)
        .collect::<String>()
        .into()
}

/// The route template of a request that matched no route (the 404 page, `/api/v1/…` 404s).
const UNMATCHED: &str = "unmatched";

/// The route of a request to a server function: the web app serves them all under one
/// wildcard route (`/_fn/{*name}`), so the function's own path is the template that says
/// which it was. Only paths of registered functions (a fixed set, known at compile time) are
/// used; any other path under `/_fn/` keeps the wildcard.
fn server_function<'a>(template: &'a str, path: &str) -> &'a str {
    static PATHS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    if !template.starts_with("/_fn/{") {
        return template;
    }
    let paths = PATHS.get_or_init(|| {
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect()
    });
    match paths.get(path) {
        Some(known) => known,
        None => template,
    }
}

/// A method as a label: the standard ones by name, anything else as "other" (a client can
/// send any token as a method; labels must stay a small set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Notes the matched route template (`/api/v1/workspaces/{id}`) of each request in its
/// [`RequestInfo`], for the access line and metrics, which run outside the router: the one
/// layer on the router's routes, where axum has just found the template.
#[derive(Clone, Copy, Default)]
pub struct NoteRouteLayer;

impl<S> Layer<S> for NoteRouteLayer {
    type Service = NoteRoute<S>;

    fn layer(&self, inner: S) -> NoteRoute<S> {
        NoteRoute { inner }
    }
}

/// See [`NoteRouteLayer`].
#[derive(Clone)]
pub struct NoteRoute<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for NoteRoute<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(route) = req.extensions().get::<MatchedPath>() {
            request::note_route(route);
        }
        self.inner.call(req)
    }
}

/// What [`guard`] needs.
#[derive(Clone)]
pub struct GuardState {
    pub app: AppState,
    pub request_timeout: Duration,
    /// The largest form body the web app reads (the API reads and limits its own bodies).
    pub max_form_bytes: usize,
}

/// Around everything but the health endpoints, in this order: requests over this server's
/// URL and header limits are refused before anything reads them; the client IP is noted (for
/// the web app's forms); cross-site requests are refused (the web app's and the API's, each
/// in its own shape), as are two `Authorization` headers; the request is served ahead of
/// password hashing (see `app::hashing`) and cut at the request timeout (408); a form body
/// past the limit gets 413, with or without a `Content-Length`; and every error answer gets
/// its shape: under `/api/v1` the JSON envelope, elsewhere an HTML page with the request id,
/// never an empty body or a framework's plain-text refusal. That covers what inner layers
/// answer on their own: the session layer's empty 500 when a session cannot be saved, axum's
/// plain-text rejections (a path, query string or form that cannot be decoded, a wrong
/// content type), a panic caught on its way out, the web app's HTML 404 for an unknown
/// `/api/v1…` address.
pub async fn guard(
    State(guard): State<GuardState>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let api = is_api_path(req.uri().path());
    let passkey_json = app::web::passkeys::is_passkey_path(req.uri().path());
    if let Some((status, api_error, message)) = over_limits(&req) {
        return if api {
            api_error.into_response()
        } else {
            errors::request_refused(status, message)
        };
    }
    let refused = if api {
        crate::api::auth::refuse_request(&req, guard.app.config.public_origin())
    } else {
        // The web app's forms read the client IP (sign-in throttles, session records); the
        // API does not, and does not pay for it.
        app::web::guards::note_client_ip(&guard.app, &mut req);
        app::web::guards::refuse_cross_site(&guard.app, &req)
    };
    if let Some(refused) = refused {
        return refused;
    }
    // The web app's forms are limited here (the API reads and limits its own bodies, to
    // answer in its envelope); the body is read inside the handler, so within the timeout.
    let too_large = (!api && has_body(&req)).then(|| {
        let exceeded = Arc::new(AtomicBool::new(false));
        let limited = exceeded.clone();
        let max = guard.max_form_bytes;
        req = std::mem::take(&mut req)
            .map(|body| Body::new(app::web::guards::FormLimit::new(body, max, limited)));
        exceeded
    });
    let served = guard
        .app
        .passwords
        .serve(tokio::time::timeout(guard.request_timeout, next.run(req)))
        .await;
    let res = match served {
        Ok(_) if too_large.is_some_and(|t| t.load(Ordering::Relaxed)) => {
            StatusCode::PAYLOAD_TOO_LARGE.into_response()
        }
        Ok(res) => res,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    reshape(res, api, passkey_json)
}

/// Whether a request says it has a body (a length above zero, or chunks).
fn has_body<B>(req: &Request<B>) -> bool {
    req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// `passkey_json`: a passkey ceremony endpoint, whose refusals are JSON for its script.
fn reshape(res: Response, api: bool, passkey_json: bool) -> Response {
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keep = if api {
        content_type.starts_with("application/json")
    } else if passkey_json && content_type.starts_with("application/json") {
        true
    } else {
        content_type.starts_with("text/html") && res.body().size_hint().exact() != Some(0)
    };
    if keep {
        return res;
    }
    let mut replacement = if api {
        ApiError::for_status(status).into_response()
    } else {
        errors::for_status(status)
    };
    // Headers that say something about the refusal stay (`Allow`, `Retry-After`, cookies).
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !replacement.headers().contains_key(name)
        {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    replacement
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Files from `style/` and `public/`, compiled into the binary so it runs from any folder.
pub fn static_files() -> Router<AppState> {
    Router::new()
        .route(
            "/style/main.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../style/main.css")) }),
        )
        .route(
            "/public/favicon.svg",
            get(|| async { asset("image/svg+xml", include_str!("../public/favicon.svg")) }),
        )
        .route(
            "/public/copy.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../public/copy.js"),
                )
            }),
        )
        .route(
            "/public/passkeys.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../public/passkeys.js"),
                )
            }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", include_str!("../public/favicon.svg")) }),
        )
}

/// `/healthz`: the process answers, with its version (`{"status":"ok","version":"0.1.0"}`).
/// `/readyz`: the database commits a small write (a full disk or a read-only file still
/// answers reads, so a read alone would say "ready" while every write fails). Both are served
/// outside the session layer and every other layer that could touch the database, so a probe
/// that keeps cookies gets the truth during a storage fault, not the session store's 500.
pub fn health(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// What `/healthz` answers: fixed for the life of the process.
const HEALTHZ: &str = concat!(
    r#"{"status":"ok","version":""#,
    env!("CARGO_PKG_VERSION"),
    r#""}"#
);

async fn healthz() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        HEALTHZ,
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    match ping {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients() {
        assert!(acceptable_request_id(b"req-2024.01:abc_DEF"));
        assert!(acceptable_request_id(&[b'a'; 64]));
        assert!(!acceptable_request_id(&[b'a'; 65]));
        assert!(!acceptable_request_id(b""));
        assert!(!acceptable_request_id(b"has space"));
        assert!(!acceptable_request_id("caf\u{e9}".as_bytes()));
        assert!(!acceptable_request_id(b"a\x1b[31m"));
    }

    #[test]
    fn healthz_is_json_with_the_version() {
        let body: serde_json::Value = serde_json::from_str(HEALTHZ).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
        );
    }

    #[test]
    fn new_request_ids_are_random_uuids() {
        let mut one = Request::new(());
        let mut two = Request::new(());
        let (a, b) = (request_id(&mut one), request_id(&mut two));
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(a.to_str().unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(one.headers()[REQUEST_ID], a);
        // A client's acceptable id is kept; two ids, or a bad one, get a new one.
        let mut kept = Request::new(());
        kept.headers_mut()
            .insert(REQUEST_ID, HeaderValue::from_static("trace-1"));
        assert_eq!(request_id(&mut kept), "trace-1");
        let mut two_ids = Request::new(());
        two_ids
            .headers_mut()
            .append(REQUEST_ID, HeaderValue::from_static("a"));
        two_ids
            .headers_mut()
            .append(REQUEST_ID, HeaderValue::from_static("b"));
        let fresh = request_id(&mut two_ids);
        assert!(uuid::Uuid::parse_str(fresh.to_str().unwrap()).is_ok());
        assert_eq!(two_ids.headers().get_all(REQUEST_ID).iter().count(), 1);
    }
}
