//! The web app's routes: pages (GET) and the server functions their forms post to.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::provide_context;
use leptos::server_fn::ServerFn as _;

use crate::web::actions::SignInPassword;
use crate::web::guards;
use crate::web::pages::{
    account, accounts, api_keys, invite, links, members, sign_in, sign_up, sso, sso_callback,
};
use crate::AppState;

/// Server functions receive the application state as Leptos context.
async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    leptos_axum::handle_server_fns_with_context(move || provide_context(state.clone()), req).await
}

/// The web app's router. The process adds sessions, the client-IP and Origin guards,
/// security headers and static files around it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(sign_in::root))
        .route("/sign-in", get(sign_in::email_step))
        .route("/sign-in/password", get(sign_in::password_step))
        .route("/sign-up", get(sign_up::sign_up_page))
        .route("/check-email", get(sign_up::check_email_page))
        .route("/forgot", get(sign_in::forgot_page))
        .route("/forgot/sent", get(sign_in::forgot_sent_page))
        .route("/confirm", get(links::confirm_page))
        .route("/unlock", get(links::unlock_page))
        .route("/reset", get(links::reset_page))
        .route("/home", get(account::home_page))
        .route("/accounts", get(accounts::picker_page))
        .route("/invite", get(invite::invite_page))
        .route("/settings/members", get(members::members_page))
        .route(
            "/settings/members/{user_id}/remove",
            get(members::confirm_remove_page),
        )
        .route("/settings/activity", get(members::activity_page))
        .route("/settings/sso", get(sso::sso_page))
        .route("/settings/sso/{id}/enforce", get(sso::confirm_enforce_page))
        .route("/settings/domains", get(crate::web::domains::domains_page))
        .route("/resend-confirmation", get(sign_up::resend_page))
        .route("/auth/oidc/callback", get(sso_callback::callback))
        .route("/sign-in/direct", get(sign_in::direct_page))
        .route(
            "/settings/api-keys",
            get(api_keys::keys_page).post(api_keys::create_key),
        )
        .route(
            "/settings/api-keys/{id}/delete",
            get(api_keys::confirm_delete_page),
        )
        .route(
            SignInPassword::PATH,
            post(server_fn_handler)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route("/_fn/{*name}", post(server_fn_handler))
        .layer(axum::middleware::from_fn(guards::server_fn_errors))
        .with_state(state)
}
