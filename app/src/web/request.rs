//! The request being served: its id (the `x-request-id` it is answered with), method, path and
//! route template, for the error pages that show the id and the log lines written while it is
//! served.
use std::cell::OnceCell;
use std::future::Future;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method, Uri};

/// What is known of the request being served. Each part is reference-counted or inline.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub id: HeaderValue,
    pub method: Method,
    pub uri: Uri,
    /// The route template that matched (`/api/v1/workspaces/{id}`), once routing found one:
    /// known even when the answer comes from outside the route (a timeout, an error page).
    pub route: OnceCell<MatchedPath>,
    /// The client's IP as the guard decided it (proxies believed only when trusted), once
    /// it did: for the access line and security events.
    pub client_ip: OnceCell<String>,
    /// The browser's `User-Agent`, for the security notices a request causes.
    pub user_agent: Option<HeaderValue>,
}

impl RequestInfo {
    pub fn new(id: HeaderValue, method: Method, uri: Uri) -> Self {
        Self {
            id,
            method,
            uri,
            route: OnceCell::new(),
            client_ip: OnceCell::new(),
            user_agent: None,
        }
    }

    /// With the request's `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: Option<HeaderValue>) -> Self {
        self.user_agent = user_agent;
        self
    }
}

tokio::task_local! {
    static CURRENT: RequestInfo;
}

/// Serves `inner` as the request `info`: every handler, layer and log line within sees it.
/// The process's outermost layer calls it once per request; it gets the request back with
/// what was learned while serving it (its route).
pub async fn serve<F: Future>(info: RequestInfo, inner: F) -> (F::Output, Option<RequestInfo>) {
    let mut scoped = std::pin::pin!(CURRENT.scope(info, inner));
    let output = scoped.as_mut().await;
    (output, scoped.take_value())
}

/// `f` of the request being served, when there is one (not in background work, which runs
/// in tasks of its own).
pub fn with_current<R>(f: impl FnOnce(&RequestInfo) -> R) -> Option<R> {
    CURRENT.try_with(f).ok()
}

/// Notes the route template that matched the request being served (the first one noted
/// stays).
pub fn note_route(route: &MatchedPath) {
    let _ = CURRENT.try_with(|info| {
        info.route.get_or_init(|| route.clone());
    });
}

/// The id of the request being served.
pub fn request_id() -> Option<String> {
    with_current(|info| String::from_utf8_lossy(info.id.as_bytes()).into_owned())
}

/// Notes the client's IP of the request being served (the first one noted stays).
pub fn note_client_ip(ip: &str) {
    let _ = CURRENT.try_with(|info| {
        info.client_ip.get_or_init(|| ip.to_owned());
    });
}

/// The client's IP of the request being served, once the guard decided it.
pub fn client_ip() -> Option<String> {
    CURRENT
        .try_with(|info| info.client_ip.get().cloned())
        .ok()
        .flatten()
}

/// The device (from the `User-Agent`: "Firefox on Linux") of the request being served.
pub fn device() -> Option<String> {
    with_current(|info| {
        info.user_agent
            .as_ref()
            .and_then(|ua| ua.to_str().ok())
            .map(crate::domain::sessions::device_label)
    })
    .flatten()
}
