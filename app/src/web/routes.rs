//! The web app's routes: pages (GET) and the server functions their forms post to.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::provide_context;
use leptos::server_fn::ServerFn as _;

use crate::paths;

use crate::domain::floods::Door;
use crate::web::guards;
use crate::web::recovery::actions::{ForgotPassword, UnlockAccount};
use crate::web::sign_in::actions::{SignInCode, SignInPassword, SignInRecoveryCode};
use crate::web::sign_up::actions::{ResendConfirmation, SignUp};
use crate::web::{
    accounts, api_keys, domains, members, passkeys, recovery, security, sign_in, sign_up, sso,
    workspaces,
};
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
        .route(paths::SIGN_IN, get(sign_in::page::email_step))
        .route(paths::SIGN_IN_PASSWORD, get(sign_in::page::password_step))
        .route(paths::SIGN_UP, get(sign_up::page::sign_up_page))
        .route(paths::CHECK_EMAIL, get(sign_up::page::check_email_page))
        .route(paths::FORGOT, get(recovery::page::forgot_page))
        .route(paths::FORGOT_SENT, get(recovery::page::forgot_sent_page))
        .route(paths::CONFIRM, get(recovery::links::confirm_page))
        .route(paths::UNLOCK, get(recovery::links::unlock_page))
        .route(paths::RESET, get(recovery::links::reset_page))
        .route(paths::NOT_ME, get(recovery::links::not_me_page))
        .route(paths::HOME, get(workspaces::pages::home_page))
        .route(paths::WORKSPACE, get(workspaces::pages::workspace_page))
        .route(
            paths::WORKSPACE_DELETION,
            get(workspaces::pages::confirm_delete_page),
        )
        .route(paths::RECORD, get(workspaces::record::record_page))
        .route(paths::ACCOUNTS, get(accounts::picker::picker_page))
        .route(
            paths::ACCOUNT_SETTINGS,
            get(accounts::settings::settings_page),
        )
        .route(paths::SECURITY, get(security::page::security_page))
        .route(paths::REAUTHENTICATE, get(security::reauth::reauth_page))
        .route(paths::SECURITY_EMAIL, get(security::email::email_page))
        .route(paths::EMAIL_CHANGE, get(security::email::confirm_page))
        .route(
            paths::SECURITY_TWO_FACTOR,
            get(security::two_factor::two_factor_page).post(security::two_factor::two_factor_post),
        )
        .route(
            paths::SECURITY_NEW_RECOVERY_CODES,
            get(security::two_factor::new_codes_page),
        )
        .route(
            paths::SIGN_IN_SECOND_FACTOR,
            get(sign_in::second_factor::second_factor_page),
        )
        .route(paths::INVITE, get(members::invite::invite_page))
        .route(paths::MEMBERS, get(members::page::members_page))
        .route(
            paths::MEMBER_REMOVAL,
            get(members::page::confirm_remove_page),
        )
        .route(paths::ACTIVITY, get(members::activity::activity_page))
        .route(paths::SSO, get(sso::page::sso_page))
        .route(paths::SSO_ENFORCEMENT, get(sso::page::confirm_enforce_page))
        .route(paths::DOMAINS, get(domains::domains_page))
        .route(paths::RESEND_CONFIRMATION, get(sign_up::page::resend_page))
        .route(paths::OIDC_CALLBACK, get(sso::callback::callback))
        .route(paths::SIGN_IN_DIRECT, get(sign_in::page::direct_page))
        .route(
            paths::API_KEYS,
            get(api_keys::page::keys_page).post(api_keys::page::create_key),
        )
        .route(
            paths::API_KEY_DELETION,
            get(api_keys::page::confirm_delete_page),
        )
        .route(
            paths::API_KEY_ROLL,
            get(api_keys::page::roll_page).post(api_keys::page::roll_key),
        )
        .route(
            SignInPassword::PATH,
            post(server_fn_handler)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route(
            paths::PASSKEY_REGISTER_OPTIONS,
            post(passkeys::register_options),
        )
        .route(
            paths::PASSKEY_REGISTER_FINISH,
            post(passkeys::register_finish),
        )
        .route(
            paths::PASSKEY_SIGN_IN_OPTIONS,
            post(passkeys::sign_in_options).route_layer(from_fn_with_state(
                (state.clone(), Door::PasskeySignIn),
                guards::door_gate,
            )),
        )
        .route(
            paths::PASSKEY_SIGN_IN_FINISH,
            post(passkeys::sign_in_finish)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route(
            paths::PASSKEY_SECOND_STEP_OPTIONS,
            post(passkeys::second_step_options),
        )
        .route(
            paths::PASSKEY_SECOND_STEP_FINISH,
            post(passkeys::second_step_finish)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route(
            paths::PASSKEY_REAUTH_OPTIONS,
            post(passkeys::reauthenticate_options),
        )
        .route(
            paths::PASSKEY_REAUTH_FINISH,
            post(passkeys::reauthenticate_finish),
        )
        // The second step's codes count against their client like passwords (given back
        // when right).
        .route(
            SignInCode::PATH,
            post(server_fn_handler)
                .route_layer(from_fn_with_state(state.clone(), guards::sign_in_ip_gate)),
        )
        .route(
            SignInRecoveryCode::PATH,
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
        .layer(axum::middleware::from_fn(guards::remember_deep_link))
        .with_state(state)
}
