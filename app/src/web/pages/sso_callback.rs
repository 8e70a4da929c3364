//! `/auth/oidc/callback`: where the identity provider sends the browser back. The answer must
//! match the flow this session started (state, then nonce and PKCE in the code exchange); the
//! flow is used once. Every failure is a page with a way back, never a 500.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::*;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tower_sessions::Session;

use super::{see_other, PageResult};
use crate::flows::sso_login::{self, SsoFailure, FLOW_LIFETIME_MS};
use crate::web::session::{self, AuthState};
use crate::web::shell::{render_page, AuthCard};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn failure_page(failure: SsoFailure, provider_error: Option<String>) -> Response {
    let status = match failure {
        SsoFailure::Unreachable => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    render_page(status, "Single sign-on", move || {
        view! {
            <AuthCard title="Single sign-on">
                <p role="alert" class="alert">{failure.message()}</p>
                {provider_error.clone().map(|e| view! { <p class="muted">{format!("The provider said: {e}")}</p> })}
                <p><a href="/sign-in">"Back to sign in"</a></p>
            </AuthCard>
        }
    })
}

/// Compares the returned `state` with the stored one without an early exit.
fn same_state(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    let Some(flow) = session::take_sso_flow(&session).await? else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| same_state(s, &flow.state));
    let fresh = state.clock.now().millis().saturating_sub(flow.started_at) <= FLOW_LIFETIME_MS;
    if !state_ok || !fresh {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    }
    if let Some(error) = q.error {
        let shown: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Ok(failure_page(SsoFailure::ProviderRefused, Some(shown)));
    }
    let Some(code) = q.code else {
        return Ok(failure_page(SsoFailure::FlowInvalid, None));
    };
    let outcome = sso_login::complete(
        &state,
        &flow.connection_id,
        &flow.account_id,
        &code,
        &flow.pkce_verifier,
        &flow.nonce,
    )
    .await?;
    let (user, account_id) = match outcome {
        Ok(v) => v,
        Err(failure) => return Ok(failure_page(failure, None)),
    };
    let memberships = state.store.memberships(&user.id).await?;
    let several = memberships.len() > 1;
    let auth = AuthState {
        user_id: user.id,
        account_id: (!several).then_some(account_id),
        epoch: user.session_epoch,
        signed_in_at: state.clock.now().millis(),
        method: Some("sso".into()),
    };
    session::sign_in(&session, auth).await?;
    Ok(see_other(if several { "/accounts" } else { "/home" }))
}
