//! The HTTP plumbing around the web app: request ids and tracing, security headers, the
//! count of requests being served, static files embedded in the binary, and the health
//! endpoints.
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Span;

use app::AppState;

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

/// `/healthz`: the process answers. `/readyz`: the database answers too.
pub fn health() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(readyz))
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
