//! The REST API under `/api/v1`: bearer API keys for scripts, owner/admin sessions for the
//! admin-only routes, one JSON error envelope, per-account rate limits.
use std::sync::Arc;

use app::AppState;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, MethodRouter};
use axum::Router;

pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod body;
pub mod docs;
pub mod domains;
pub mod error;
pub mod events;
pub mod handlers;
pub mod idempotency;
pub mod inputs;
pub mod limits;
pub mod list;
pub mod members;
pub mod openapi;
pub mod query_params;
pub mod report;
pub mod resources;
pub mod shared_limits;
pub mod sso;

use handlers as h;
use limits::{LastUsed, RateLimits};

/// What API handlers share: the application state, rate limits and pending "last used"
/// times. One allocation, so the clones axum makes per request are one increment each.
#[derive(Clone)]
pub struct ApiState(Arc<ApiParts>);

pub struct ApiParts {
    pub app: AppState,
    pub limits: RateLimits,
    pub last_used: LastUsed,
}

impl ApiState {
    /// The API over `app`; with `rate_limit_url`, its rate limits are shared through Redis.
    pub async fn new(app: AppState, rate_limit_url: Option<&str>) -> anyhow::Result<Self> {
        let limits = RateLimits::new(app.clock.clone(), &app.config.plans);
        let limits = match rate_limit_url {
            Some(url) => limits.shared(url).await?,
            None => limits,
        };
        Ok(Self(Arc::new(ApiParts {
            limits,
            app,
            last_used: LastUsed::default(),
        })))
    }
}

impl std::ops::Deref for ApiState {
    type Target = ApiParts;

    fn deref(&self) -> &ApiParts {
        &self.0
    }
}

/// Every route the API serves, as `(method, path)` in OpenAPI form. `/openapi.json` and the
/// router below must both match it (a test holds them to it).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/account"),
    ("patch", "/account"),
    ("get", "/workspaces"),
    ("post", "/workspaces"),
    ("get", "/workspaces/{id}"),
    ("patch", "/workspaces/{id}"),
    ("delete", "/workspaces/{id}"),
    ("get", "/records"),
    ("post", "/records"),
    ("get", "/records/{id}"),
    ("patch", "/records/{id}"),
    ("delete", "/records/{id}"),
    ("get", "/api_keys"),
    ("post", "/api_keys"),
    ("delete", "/api_keys/{id}"),
    ("get", "/events"),
    ("post", "/api_keys/{id}/roll"),
    ("get", "/members"),
    ("patch", "/members/{id}"),
    ("delete", "/members/{id}"),
    ("get", "/invitations"),
    ("post", "/invitations"),
    ("delete", "/invitations/{id}"),
    ("get", "/domains"),
    ("post", "/domains"),
    ("post", "/domains/{id}/verify"),
    ("delete", "/domains/{id}"),
    ("get", "/sso_connections"),
    ("post", "/sso_connections"),
    ("patch", "/sso_connections/{id}"),
    ("delete", "/sso_connections/{id}"),
];

/// The `/api/v1` router (to be nested). Sessions, `auth::refuse_request` and the answer to a
/// panic are layered outside it (`startup::router`).
pub fn router(api: ApiState) -> Router {
    let with_fallback = |m: MethodRouter<ApiState>| m.fallback(h::method_not_allowed);
    let keyed = Router::new()
        .route("/account", with_fallback(get(h::get_account)))
        .route(
            "/workspaces",
            with_fallback(get(h::list_workspaces).post(h::create_workspace)),
        )
        .route(
            "/workspaces/{id}",
            with_fallback(
                get(h::get_workspace)
                    .patch(h::update_workspace)
                    .delete(h::delete_workspace),
            ),
        )
        .route(
            "/records",
            with_fallback(get(h::list_records).post(h::create_record)),
        )
        .route(
            "/records/{id}",
            with_fallback(
                get(h::get_record)
                    .patch(h::update_record)
                    .delete(h::delete_record),
            ),
        )
        .route_layer(axum::middleware::from_fn(
            query_params::refuse_unknown_params,
        ))
        .route_layer(from_fn_with_state(api.clone(), auth::require_key));
    let admin = Router::new()
        .route(
            "/api_keys",
            with_fallback(get(h::list_api_keys).post(h::create_api_key)),
        )
        .route(
            "/api_keys/{id}",
            with_fallback(axum::routing::delete(h::delete_api_key)),
        )
        // (No fallback of its own: merged with the keyed `GET /account`, whose fallback
        // answers other methods.)
        .route("/account", axum::routing::patch(h::update_account))
        .route("/events", with_fallback(get(events::list)))
        .route(
            "/api_keys/{id}/roll",
            with_fallback(axum::routing::post(h::roll_api_key)),
        )
        .route("/members", with_fallback(get(members::list_members)))
        .route(
            "/members/{id}",
            with_fallback(
                axum::routing::patch(members::update_member).delete(members::delete_member),
            ),
        )
        .route(
            "/invitations",
            with_fallback(get(members::list_invitations).post(members::create_invitation)),
        )
        .route(
            "/invitations/{id}",
            with_fallback(axum::routing::delete(members::delete_invitation)),
        )
        .route(
            "/domains",
            with_fallback(get(domains::list).post(domains::create)),
        )
        .route(
            "/domains/{id}/verify",
            with_fallback(axum::routing::post(domains::verify)),
        )
        .route(
            "/domains/{id}",
            with_fallback(axum::routing::delete(domains::delete)),
        )
        .route(
            "/sso_connections",
            with_fallback(get(sso::list).post(sso::create)),
        )
        .route(
            "/sso_connections/{id}",
            with_fallback(axum::routing::patch(sso::update).delete(sso::delete)),
        )
        .route_layer(axum::middleware::from_fn(
            query_params::refuse_unknown_params,
        ))
        .route_layer(from_fn_with_state(api.clone(), auth::require_admin_session));
    // The checks in front of every API route (`auth::refuse_request`) and the answer to a
    // panic are the process's guard's, around the whole router: a layer here would wrap each
    // route again.
    keyed
        .merge(admin)
        .fallback(h::route_not_found)
        .with_state(api)
}

/// Background work of the API: write "last used" times and usage, forget idle rate-limit
/// buckets, and (every 10 minutes) forget usage older than 30 days.
pub async fn housekeeping(api: ApiState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(err) = api.last_used.flush(api.app.store.as_ref()).await {
            tracing::warn!(error = %err, "writing API key last-used times failed");
        }
        api.limits.forget_idle();
        if ticks.is_multiple_of(20) {
            let first_day = app::domain::api_keys::first_usage_day(api.app.clock.now());
            if let Err(err) = api.app.store.prune_key_usage(first_day).await {
                tracing::warn!(error = %err, "pruning API key usage failed");
            }
        }
        ticks = ticks.wrapping_add(1);
    }
}
