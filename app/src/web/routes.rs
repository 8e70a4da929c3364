//! The web app's routes: pages (GET) and the server functions their forms post to.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::provide_context;
use leptos::server_fn::ServerFn as _;

use crate::domain::floods::Door;
use crate::web::guards;
use crate::web::recovery::actions::{ForgotPassword, UnlockAccount};
use crate::web::sign_in::actions::SignInPassword;
use crate::web::sign_up::actions::{ResendConfirmation, SignUp};
use crate::web::{accounts, api_keys, domains, members, recovery, sign_in, sign_up, sso};
use crate::AppState;

/// Server functions receive the application state as Leptos context.
async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    leptos_axum::handle_server_fns_with_context(move || provide_context(state.clone()), req).await
}

/// A server function behind the flood gate of `door`.
fn gated(state: &AppState, door: Door) -> axum::routing::MethodRouter<AppState> {
    post(server_fn_handler)
        .route_layer(from_fn_with_state((state.clone(), door), guards::door_gate))
}

/// The web app's router. The process adds sessions, the client-IP and Origin guards,
/// security headers and static files around it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(sign_in::page::root))
        .route("/sign-in", get(sign_in::page::email_step))
        .route("/sign-in/password", get(sign_in::page::password_step))
        .route("/sign-up", get(sign_up::page::sign_up_page))
        .route("/check-email", get(sign_up::page::check_email_page))
        .route("/forgot", get(recovery::page::forgot_page))
        .route("/forgot/sent", get(recovery::page::forgot_sent_page))
        .route("/confirm", get(recovery::links::confirm_page))
        .route("/unlock", get(recovery::links::unlock_page))
        .route("/reset", get(recovery::links::reset_page))
        .route("/home", get(accounts::home::home_page))
        .route("/accounts", get(accounts::picker::picker_page))
        .route("/invite", get(members::invite::invite_page))
        .route("/settings/members", get(members::page::members_page))
        .route(
            "/settings/members/{user_id}/remove",
            get(members::page::confirm_remove_page),
        )
        .route("/settings/activity", get(members::page::activity_page))
        .route("/settings/sso", get(sso::page::sso_page))
        .route(
            "/settings/sso/{id}/enforce",
            get(sso::page::confirm_enforce_page),
        )
        .route("/settings/domains", get(domains::domains_page))
        .route("/resend-confirmation", get(sign_up::page::resend_page))
        .route("/auth/oidc/callback", get(sso::callback::callback))
        .route("/sign-in/direct", get(sign_in::page::direct_page))
        .route(
            "/settings/api-keys",
            get(api_keys::page::keys_page).post(api_keys::page::create_key),
        )
        .route(
            "/settings/api-keys/{id}/delete",
            get(api_keys::page::confirm_delete_page),
        )
        .route(
            SignInPassword::PATH,
            post(server_fn_handler)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route(SignUp::PATH, gated(&state, Door::SignUp))
        .route(
            ResendConfirmation::PATH,
            gated(&state, Door::ResendConfirmation),
        )
        .route(ForgotPassword::PATH, gated(&state, Door::ForgotPassword))
        .route(UnlockAccount::PATH, gated(&state, Door::Unlock))
        .route("/_fn/{*name}", post(server_fn_handler))
        .layer(axum::middleware::from_fn(guards::server_fn_errors))
        .with_state(state)
}
