//! Who is calling: a bearer API key (every route), or an owner's or admin's browser session
//! (admin-only routes, which refuse keys). Also applies the per-account rate limit.
use std::net::{IpAddr, SocketAddr};

use app::web::guards::client_addr;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use app::auth::{self, AdminOf, KeyOf};
use app::domain::ids::AccountId;

use super::error::{ApiError, ApiResult};
use super::limits::{Policy, Verdict};
use super::ApiState;

/// The key from `Authorization: Bearer <key>`: scheme case-insensitive (RFC 7235),
/// surrounding whitespace ignored. `None` when absent or not a bearer credential.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The key the request carries, as the auth rules see it (401 for every kind of bad key).
/// Its use (time, client IP, the day's count) is noted in memory, written in batches.
async fn authenticate_key(
    api: &ApiState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> ApiResult<KeyOf> {
    let token = bearer_token(headers).ok_or_else(ApiError::invalid_key)?;
    let key = auth::key_holder(&api.app, token)
        .await?
        .ok_or_else(ApiError::invalid_key)?;
    let ip = peer.map(|peer| client_addr(peer, headers, &api.app.config.trusted_proxies));
    api.last_used.note(key.key_id(), api.app.clock.now(), ip);
    Ok(key)
}

/// The socket peer of a request.
fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Runs the request under the account's rate limit and adds the RateLimit headers.
async fn limited<A: Clone + Send + Sync + 'static>(
    api: &ApiState,
    account_id: &AccountId,
    caller: A,
    plan: &str,
    mut req: Request,
    next: Next,
) -> Response {
    let (_, policy): (_, Policy) = api.app.config.plans.resolve(plan);
    let verdict = api.limits.check(policy, account_id.as_str()).await;
    let mut res = match verdict {
        Verdict::Limited { retry_after } => {
            ApiError::rate_limited(retry_after.as_secs_f64().ceil() as u64).into_response()
        }
        Verdict::Allowed { .. } => {
            req.extensions_mut().insert(caller);
            if super::idempotency::applies(&req) {
                super::idempotency::once(api, account_id, req, next).await
            } else {
                next.run(req).await
            }
        }
    };
    let (remaining, reset) = match verdict {
        Verdict::Allowed { remaining } => (remaining, 0),
        Verdict::Limited { retry_after } => (0, retry_after.as_secs_f64().ceil() as u64),
    };
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy.header()) {
        headers.insert("ratelimit-policy", v);
    }
    // `limit` is the plan's quota for the window (600 a minute), as the policy says it; the
    // burst, how many may come at once, is in the policy. `remaining` is how many may come now.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "limit={}, remaining={remaining}, reset={reset}",
        policy.per_minute.max(policy.burst)
    )) {
        headers.insert("ratelimit", v);
    }
    res
}

/// In front of every API route (the process's guard calls it for every `/api/v1` path): at
/// most one `Authorization` header (two are refused rather than guessed between), and the
/// cross-site check for requests that rely on a browser's session cookie. A request with an
/// `Authorization` header is not a session request: a cross-site page cannot add that header
/// (the browser would ask first, and this server allows no cross-origin requests), so it is
/// not checked, even if it also carries a cookie. `None` lets the request through.
pub fn refuse_request<B>(req: &Request<B>, public_origin: &str) -> Option<Response> {
    let authorizations = req.headers().get_all(header::AUTHORIZATION).iter().count();
    if authorizations > 1 {
        return Some(
            ApiError::bad_request(
                "duplicate_authorization_header",
                "Send one Authorization header, not several",
            )
            .param("Authorization")
            .into_response(),
        );
    }
    if authorizations == 0
        && !app::web::guards::same_origin_allowed(
            req.method(),
            req.uri().path(),
            req.headers(),
            public_origin,
        )
    {
        tracing::warn!(path = %req.uri().path(), "cross-site API request refused");
        return Some(ApiError::permission(
            "cross_site_request",
            "This request came from another site with this site's session cookie, so it was refused. Scripts authenticate with an API key in the Authorization header.",
        )
        .into_response());
    }
    None
}

/// Middleware for the routes scripts call: a valid bearer key is required.
pub async fn require_key(State(api): State<ApiState>, req: Request, next: Next) -> Response {
    match authenticate_key(&api, req.headers(), peer(&req)).await {
        Ok(key) => {
            let (account_id, plan) = (key.account_id().to_owned(), key.plan().to_owned());
            limited(&api, &account_id, key, &plan, req, next).await
        }
        Err(err) => err.into_response(),
    }
}

/// Middleware for admin-only routes: an owner's or admin's session. A valid key is refused
/// with 403 (keys cannot manage keys, members or SSO); an invalid one with the usual 401.
pub async fn require_admin_session(
    State(api): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    // Session routes are not the keyed hot path: the client's IP is worked out, as for the
    // web app, for the notices and events their changes cause.
    app::web::guards::note_client_ip(&api.app, &mut req);
    let headers = req.headers().clone();
    let session = req.extensions().get::<Session>().cloned();
    match admin_caller(&api, &headers, peer(&req), session).await {
        Ok((admin, plan)) => {
            let account_id = admin.account_id().to_owned();
            limited(&api, &account_id, admin, &plan, req, next).await
        }
        Err(err) => err.into_response(),
    }
}

/// The session's person as an admin of their current account (the role rules decide), and
/// the account's plan.
async fn admin_caller(
    api: &ApiState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    session: Option<Session>,
) -> ApiResult<(AdminOf, String)> {
    if headers.contains_key(header::AUTHORIZATION) {
        authenticate_key(api, headers, peer).await?;
        return Err(ApiError::permission(
            "admin_only",
            "API keys cannot use this endpoint: sign in to the web app as an owner or admin",
        ));
    }
    let session = session.ok_or_else(ApiError::invalid_key)?;
    let signed = auth::signed_in(&api.app, &session)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "session lookup failed");
            ApiError::internal()
        })?
        .ok_or_else(ApiError::invalid_key)?;
    let not_admin = || {
        ApiError::permission(
            "admin_only",
            "Only owners and admins of the current account can use this endpoint",
        )
    };
    let account_id = signed.current_account().ok_or_else(not_admin)?.to_owned();
    let admin = auth::member_of(&api.app, &signed, &account_id)
        .await?
        .and_then(|member| member.as_admin())
        .ok_or_else(not_admin)?;
    if auth::second_factor_due_in(&api.app, &signed, &account_id).await? {
        return Err(ApiError::permission(
            app::domain::policy::CODE,
            "This account requires two-factor authentication: set it up on your Security page first",
        ));
    }
    let plan = api
        .app
        .store
        .account(&account_id)
        .await?
        .map(|a| a.plan)
        .unwrap_or_default();
    Ok((admin, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(&h("Bearer thub_x")), Some("thub_x"));
        assert_eq!(bearer_token(&h("bEaReR    thub_x  ")), Some("thub_x"));
        assert_eq!(bearer_token(&h("Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer_token(&h("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
