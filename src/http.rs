//! The HTTP plumbing around the web app: request ids and tracing, security headers, the
//! shape of every error answer, the count of requests being served, static files embedded in
//! the binary, and the health endpoints.
use axum::body::HttpBody as _;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Span;

use app::web::errors;
use app::web::guards::is_api_path;
use app::AppState;

use crate::api::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";

/// No inline scripts or styles; only this origin's files; never framed.
/// (`form-action` is left out: the single sign-on step redirects a form post to the
/// identity provider, which `form-action 'self'` would block in Chromium.)
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let headers: [(&str, &str); 5] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ))
    })
}

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

/// Every error answer in its shape: under `/api/v1` the JSON envelope, elsewhere an HTML
/// page; never an empty body. Runs inside the request-id layers (the id is set, and is
/// echoed on the answer) and outside everything else, so it also sees what other layers
/// answer on their own: the session layer's empty 500 when a session cannot be saved, axum's
/// plain-text rejections of a path or query string that cannot be decoded, the web app's
/// HTML 404 for an unknown `/api/v1…` address. Requests over this server's URL and header
/// limits are refused here, before anything reads them.
pub async fn error_shapes(req: axum::extract::Request, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    errors::with_request_id(request_id, async move {
        if let Some((status, api_error, message)) = over_limits(&req) {
            return if api {
                api_error.into_response()
            } else {
                errors::request_refused(status, message)
            };
        }
        reshape(next.run(req).await, api)
    })
    .await
}

fn reshape(res: Response, api: bool) -> Response {
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    if api {
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            return res;
        }
        let mut envelope = ApiError::for_status(status).into_response();
        for (name, value) in res.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                envelope.headers_mut().append(name.clone(), value.clone());
            }
        }
        return envelope;
    }
    if status == StatusCode::REQUEST_TIMEOUT && res.body().size_hint().exact() == Some(0) {
        return errors::request_refused(
            status,
            "This request took too long to be answered. Please try again.",
        );
    }
    if status.is_server_error() && res.body().size_hint().exact() == Some(0) {
        let mut page = errors::internal_error();
        *page.status_mut() = status;
        return page;
    }
    res
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

/// Drops a client's `x-request-id` unless it is acceptable (one header, see
/// [`acceptable_request_id`]); the request-id layer then gives the request a new UUID.
pub async fn screen_request_id(mut req: axum::extract::Request) -> axum::extract::Request {
    let ids = req.headers().get_all(REQUEST_ID);
    let mut values = ids.iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => acceptable_request_id(one.as_bytes()),
        _ => false,
    };
    if !keep {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// The tracing span of a request: method, path (never the query string, which may hold a
/// token) and request id.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
}

/// Serves the request through `Passwords::serve`, so password hashing gives way to requests
/// that do not hash (see `app::hashing`).
pub async fn serve_ahead_of_hashing(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: Next,
) -> Response {
    state.passwords.serve(next.run(req)).await
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
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", include_str!("../public/favicon.svg")) }),
        )
}

/// `/healthz`: the process answers, with its version (`{"status":"ok","version":"0.1.0"}`).
/// `/readyz`: the database commits a small write (a full disk or a read-only file still
/// answers reads, so a read alone would say "ready" while every write fails).
pub fn health() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})),
    )
        .into_response()
}

/// The route template of a request that matched no route (the 404 page, `/api/v1/…` 404s).
const UNMATCHED: &str = "unmatched";

/// One access line per request, and the request metrics. The route is axum's template
/// (`/api/v1/workspaces/{id}`), never the path as sent, and never the query string, which may
/// hold a one-time token; the request id ties the line to the answer's `x-request-id`.
pub async fn access(req: axum::extract::Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| server_function(m.as_str(), req.uri().path()));
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    // A nested router (the API) notes its full template on the answer: see `note_route`.
    let route = res
        .extensions()
        .get::<RouteTemplate>()
        .map(|r| r.0.clone())
        .or(route)
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let labels = [
        ("method", method_label(&method)),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("terminus_http_requests_total", &labels).increment(1);
    metrics::histogram!("terminus_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "access",
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    res
}

/// The route of a request to a server function: the web app serves them all under one
/// wildcard route (`/_fn/{*name}`), so the function's own path is the template that says
/// which it was. Only paths of registered functions (a fixed set, known at compile time) are
/// used; any other path under `/_fn/` keeps the wildcard.
fn server_function(template: &str, path: &str) -> String {
    static PATHS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    if !template.starts_with("/_fn/{") {
        return template.to_owned();
    }
    let paths = PATHS.get_or_init(|| {
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect()
    });
    match paths.get(path) {
        Some(known) => (*known).to_owned(),
        None => template.to_owned(),
    }
}

/// A method as a label: the standard ones by name, anything else as "other" (a client can
/// send any token as a method; labels must stay a small set).
fn method_label(method: &axum::http::Method) -> String {
    use axum::http::Method;
    match *method {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => method.as_str().to_owned(),
        _ => "other".to_owned(),
    }
}

/// The full route template of a request, put on its answer by a nested router.
#[derive(Clone)]
pub struct RouteTemplate(pub String);

/// Notes the matched route template on the answer. Layered on a nested router (the API),
/// whose `MatchedPath` is the full template, where the outer router only sees its prefix.
pub async fn note_route(req: axum::extract::Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(RouteTemplate(route));
    }
    res
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await;
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
    use super::acceptable_request_id;

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
}
