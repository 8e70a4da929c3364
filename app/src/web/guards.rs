//! Request guards of the web app: the client IP, the cross-site (Origin) check, the per-IP
//! gate in front of password sign-in, and the flood gates in front of the doors that send mail.
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::floods::Door;
use crate::flows::floods;
use crate::flows::sign_in::{reserve_ip_attempt, IpAttempt};
use crate::flows::{Refusal, Stopped};
use crate::web::errors;
use crate::AppState;

/// The client's IP as this server trusts it: the socket peer, or the left-most address a
/// trusted proxy appended to `X-Forwarded-For`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

pub fn client_ip_from(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientIp {
    match peer {
        Some(peer) => ClientIp(client_addr(peer, headers, trusted).to_string()),
        None => ClientIp("unknown".into()),
    }
}

/// [`client_ip_from`] as an address: the socket peer `peer`, or the left-most address a
/// trusted proxy appended to `X-Forwarded-For`.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if trusted.contains(&peer) {
        // Walk X-Forwarded-For from the right, skipping our own proxies: the first other
        // address is the one the outermost trusted proxy saw.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        if let Some(ip) = forwarded.iter().rev().find(|ip| !trusted.contains(ip)) {
            return *ip;
        }
    }
    peer
}

/// Puts a [`ClientIp`] into the request's extensions for handlers and server functions.
pub fn note_client_ip(state: &AppState, req: &mut Request) {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = client_ip_from(peer, req.headers(), &state.config.trusted_proxies);
    crate::web::request::note_client_ip(&ip.0);
    req.extensions_mut().insert(ip);
}

/// Whether `path` belongs to the REST API (`/api/v1`), which answers in its own JSON
/// envelope and makes its own cross-site decision.
pub fn is_api_path(path: &str) -> bool {
    path.strip_prefix("/api/v1")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Decides whether a state-changing request may proceed: when it carries cookies (a
/// session) or targets a server function, its `Origin` (or, lacking that, its `Referer`)
/// must be this server's public origin.
pub fn same_origin_allowed(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    public_origin: &str,
) -> bool {
    if !is_state_changing(method) {
        return true;
    }
    let has_cookie = headers.contains_key(header::COOKIE);
    if !has_cookie && !path.starts_with("/_fn/") {
        return true;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.as_bytes() == public_origin.as_bytes();
    }
    match headers.get(header::REFERER).and_then(|r| r.to_str().ok()) {
        Some(referer) => {
            referer == public_origin
                || referer
                    .strip_prefix(public_origin)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
        None => false,
    }
}

/// CSRF defence: the 403 page for a cross-site state-changing request, else `None`. The REST
/// API applies the same rule itself, answering in its JSON envelope (see `is_api_path`).
pub fn refuse_cross_site(state: &AppState, req: &Request) -> Option<Response> {
    if is_api_path(req.uri().path())
        || same_origin_allowed(
            req.method(),
            req.uri().path(),
            req.headers(),
            state.config.public_origin(),
        )
    {
        return None;
    }
    tracing::warn!(path = %req.uri().path(), "cross-site request refused");
    Some(errors::cross_site_refused())
}

/// Server functions answer a body they could not read (a missing or repeated field) with
/// leptos' own 500 or a redirect carrying the error: here that becomes a 400 page saying what
/// happened (and any other server-function failure the generic error page).
pub async fn server_fn_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let res = next.run(req).await;
    if !res.headers().contains_key("serverfnerror") {
        return res;
    }
    // The no-JavaScript path redirects back with the error, base64, in `__err` (when the
    // request had a Referer); otherwise the error is the body.
    let in_location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.split_once('?').map(|(_, q)| q.to_owned()))
        .and_then(|query| {
            use base64::Engine as _;
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "__err")
                .and_then(|(_, v)| {
                    base64::engine::general_purpose::STANDARD
                        .decode(v.as_bytes())
                        .ok()
                })
        });
    let encoded = match in_location {
        Some(decoded) => decoded,
        None => axum::body::to_bytes(res.into_body(), 64 * 1024)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default(),
    };
    let unreadable = encoded.starts_with(b"Args|") || encoded.starts_with(b"Deserialization|");
    if unreadable {
        tracing::info!(request_id = %request_id, "a form post could not be read");
        errors::unreadable_form()
    } else {
        errors::internal_error()
    }
}

/// In front of password sign-in: counts the attempt against its client before anything is
/// checked (the flow gives it back unless the attempt fails), and answers 429 with
/// `Retry-After` to a client over its failure budget.
pub async fn sign_in_ip_gate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .cloned()
        .unwrap_or_else(|| ClientIp("unknown".into()));
    match reserve_ip_attempt(&state, &ip.0).await {
        Ok(IpAttempt::Allowed(reservation)) => {
            req.extensions_mut().insert(reservation);
            next.run(req).await
        }
        Ok(IpAttempt::Throttled(retry_after)) => {
            let secs = retry_after.as_secs().max(1);
            let mut res = errors::too_many_attempts(secs);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(err) => {
            tracing::error!(error = %err, "sign-in throttle check failed");
            (StatusCode::SERVICE_UNAVAILABLE, errors::internal_error()).into_response()
        }
    }
}

/// In front of a door that sends mail (sign-up, resend, forgot password, unlock): counts the
/// request against its client's network before anything is parsed or looked up, and answers
/// 429 with `Retry-After` once the network has used its hourly budget for that door.
pub async fn door_gate(
    State((state, door)): State<(AppState, Door)>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .cloned()
        .unwrap_or_else(|| ClientIp("unknown".into()));
    match floods::admit(&state, door, &ip.0).await {
        Ok(()) => next.run(req).await,
        Err(Stopped::Refused(Refusal::TooSoon {
            retry_after_secs, ..
        })) => {
            let secs = retry_after_secs.max(1);
            let mut res = errors::too_many_requests(secs);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(other) => {
            tracing::error!(error = %other, door = door.as_str(), "flood gate check failed");
            (StatusCode::SERVICE_UNAVAILABLE, errors::internal_error()).into_response()
        }
    }
}

/// A form's body that counts what it yields and fails once it passes `limit` bytes (at once
/// when its `Content-Length` says it will), noting that in `exceeded`. Whatever reads it (axum's
/// `Form`, a server function) then gives up on the form, and the caller answers 413, with or
/// without a `Content-Length`, rather than the reader's own words for a failed read.
pub struct FormLimit {
    inner: axum::body::Body,
    read: usize,
    limit: usize,
    exceeded: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FormLimit {
    /// `body` limited to `limit` bytes; `exceeded` is set when it passes them.
    pub fn new(
        body: axum::body::Body,
        limit: usize,
        exceeded: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self {
            inner: body,
            read: 0,
            limit,
            exceeded,
        }
    }

    fn over(
        &mut self,
    ) -> std::task::Poll<Option<Result<http_body::Frame<axum::body::Bytes>, axum::Error>>> {
        self.exceeded
            .store(true, std::sync::atomic::Ordering::Relaxed);
        std::task::Poll::Ready(Some(Err(axum::Error::new(std::io::Error::other(
            "the form is larger than the server reads",
        )))))
    }
}

impl http_body::Body for FormLimit {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if self.inner.size_hint().lower() > self.limit as u64 {
            return self.over();
        }
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.read += data.len();
                    if self.read > self.limit {
                        return self.over();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A page opened while signed out answers "sign in first" (303 to the sign-in page): the
/// page is remembered in the session, and the sign-in that follows lands there instead of
/// home (`auth::start_session`). Only a local path is kept, never one carrying a token.
pub async fn remember_deep_link(req: Request, next: Next) -> Response {
    let wanted = (req.method() == Method::GET)
        .then(|| req.uri().path_and_query().map(|p| p.as_str().to_owned()))
        .flatten()
        // (Home is where a sign-in lands anyway, or the account picker when there is none.)
        .filter(|p| {
            p != crate::paths::ROOT
                && p != crate::paths::HOME
                && !p.starts_with(crate::paths::SIGN_IN)
                && !p.contains("token=")
        });
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let res = next.run(req).await;
    let to_sign_in = res.status() == StatusCode::SEE_OTHER
        && res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            == Some(crate::paths::SIGN_IN);
    if let (true, Some(path), Some(session)) = (to_sign_in, wanted, session) {
        if let Err(err) = crate::session::set_return_to(&session, &path).await {
            tracing::warn!(error = %err, "could not remember the page asked for");
        }
    }
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const ORIGIN: &str = "http://127.0.0.1:3000";

    #[test]
    fn reads_are_always_allowed() {
        assert!(same_origin_allowed(
            &Method::GET,
            "/home",
            &headers(&[("cookie", "a=b"), ("origin", "https://evil.test")]),
            ORIGIN
        ));
    }

    #[test]
    fn cross_site_post_with_session_is_refused() {
        let h = headers(&[("cookie", "a=b"), ("origin", "https://evil.test")]);
        assert!(!same_origin_allowed(
            &Method::POST,
            "/_fn/sign_out",
            &h,
            ORIGIN
        ));
        let h = headers(&[
            ("cookie", "a=b"),
            ("origin", "http://127.0.0.1:3000.evil.test"),
        ]);
        assert!(!same_origin_allowed(
            &Method::POST,
            "/_fn/sign_out",
            &h,
            ORIGIN
        ));
    }

    #[test]
    fn same_origin_or_referer_passes() {
        assert!(same_origin_allowed(
            &Method::POST,
            "/_fn/x",
            &headers(&[("cookie", "a=b"), ("origin", ORIGIN)]),
            ORIGIN
        ));
        assert!(same_origin_allowed(
            &Method::POST,
            "/_fn/x",
            &headers(&[("referer", "http://127.0.0.1:3000/sign-in")]),
            ORIGIN
        ));
        assert!(!same_origin_allowed(
            &Method::POST,
            "/_fn/x",
            &headers(&[("referer", "http://127.0.0.1:30000/")]),
            ORIGIN
        ));
    }

    #[test]
    fn form_posts_need_an_origin_even_without_cookie() {
        assert!(!same_origin_allowed(
            &Method::POST,
            "/_fn/sign_up",
            &headers(&[]),
            ORIGIN
        ));
        assert!(same_origin_allowed(
            &Method::POST,
            "/api/v1/workspaces",
            &headers(&[("authorization", "Bearer x")]),
            ORIGIN
        ));
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.5")]);
        assert_eq!(client_ip_from(Some(proxy), &h, &[proxy]).0, "203.0.113.9");
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_ip_from(Some(stranger), &h, &[proxy]).0,
            "198.51.100.1"
        );
    }
}
