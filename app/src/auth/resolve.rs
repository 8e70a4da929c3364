//! The three questions every request starts with, answered the same way for pages, server
//! functions and the REST API: who is signed in, what are they in this account, and which
//! account does this API key open.
use tower_sessions::Session;

use super::actors::{KeyOf, MemberOf, Seal, SecondStepDue, Signed};
use crate::domain::api_keys;
use crate::domain::ids::AccountId;
use crate::ports::StoreError;
use crate::session;
use crate::AppState;

/// The session or the store could not be read: an infrastructure failure, never "signed out".
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
}

/// The signed-in person, checked against the store on every request: a reset password (new
/// epoch), a deleted user or an expired absolute lifetime ends the session here.
pub async fn signed_in(state: &AppState, session: &Session) -> Result<Option<Signed>, AuthError> {
    let Some(auth) = session::auth(session).await? else {
        return Ok(None);
    };
    let now = state.clock.now().millis();
    let too_old =
        now.saturating_sub(auth.signed_in_at) > state.config.session_absolute.as_millis() as i64;
    match state.store.user_by_id(&auth.user_id).await? {
        Some(user) if !too_old && user.session_epoch == auth.epoch => Ok(Some(Signed {
            auth,
            email: user.email.to_string(),
            _seal: Seal,
        })),
        _ => {
            session::sign_out(session).await?;
            Ok(None)
        }
    }
}

/// The second step a checked password left in this session, while it is due: within its 5
/// minutes and under the user's current session epoch (a password reset since ends it).
/// Anything else forgets it.
pub async fn second_step_due(
    state: &AppState,
    session: &Session,
) -> Result<Option<SecondStepDue>, AuthError> {
    let Some(pending) = session::second_step(session).await? else {
        return Ok(None);
    };
    let now = state.clock.now().millis();
    let lifetime = crate::domain::second_factors::SECOND_STEP_LIFETIME.as_millis() as i64;
    let live = now.saturating_sub(pending.started_at) < lifetime;
    match state.store.user_by_id(&pending.user_id).await? {
        Some(user) if live && user.session_epoch == pending.epoch => Ok(Some(SecondStepDue {
            user_id: pending.user_id,
            epoch: pending.epoch,
            _seal: Seal,
        })),
        _ => {
            session::end_second_step(session).await?;
            Ok(None)
        }
    }
}

/// What `signed` is in `account_id`, with the role stored now (so a change of role or a
/// removal takes effect on the next request); `None` when they do not belong to it.
pub async fn member_of(
    state: &AppState,
    signed: &Signed,
    account_id: &AccountId,
) -> Result<Option<MemberOf>, StoreError> {
    let role = state.store.role_in(signed.user_id(), account_id).await?;
    Ok(role.map(|role| MemberOf {
        user_id: signed.user_id().clone(),
        email: signed.email.clone(),
        account_id: account_id.clone(),
        role,
        authenticated_at: signed.auth.authenticated_at(),
        _seal: Seal,
    }))
}

/// Whether `signed` must enrol a second factor before entering an account that `requires`
/// one (the account's two-factor policy: single sign-on exempt). The one place the policy is
/// applied: pages ([`current_member`]), server functions and the REST API ask it.
pub async fn second_factor_due(
    state: &AppState,
    signed: &Signed,
    requires: bool,
) -> Result<bool, StoreError> {
    if !requires {
        return Ok(false);
    }
    let through_sso = signed.auth.method.as_deref() == Some("sso");
    let has = crate::flows::policy::has_second_factor(state, signed.user_id()).await?;
    Ok(crate::domain::policy::must_enrol(
        requires,
        through_sso,
        has,
    ))
}

/// [`second_factor_due`] for an account read by id (server functions and the REST API, which
/// resolve the member by role alone).
pub async fn second_factor_due_in(
    state: &AppState,
    signed: &Signed,
    account_id: &AccountId,
) -> Result<bool, StoreError> {
    let requires = state
        .store
        .account(account_id)
        .await?
        .is_some_and(|a| a.require_second_factor);
    second_factor_due(state, signed, requires).await
}

/// The signed-in person in the account their session is in, with that account's name and
/// whether its two-factor policy sends them to enrol first: one read (the role and the policy
/// come with the membership). `None` when no account is chosen or they no longer belong to it.
pub async fn current_member(
    state: &AppState,
    signed: &Signed,
) -> Result<Option<(MemberOf, String, bool)>, StoreError> {
    let Some(account_id) = signed.current_account() else {
        return Ok(None);
    };
    let memberships = state.store.memberships(signed.user_id()).await?;
    let Some(m) = memberships
        .into_iter()
        .find(|m| m.account_id == *account_id)
    else {
        return Ok(None);
    };
    let due = second_factor_due(state, signed, m.require_second_factor).await?;
    let member = MemberOf {
        user_id: signed.user_id().clone(),
        email: signed.email.clone(),
        account_id: m.account_id,
        role: m.role,
        authenticated_at: signed.auth.authenticated_at(),
        _seal: Seal,
    };
    Ok(Some((member, m.account_name, due)))
}

/// The account a bearer key opens: shape and checksum first (no database for junk), then one
/// indexed read of its hash; an expired key opens nothing.
pub async fn key_holder(state: &AppState, token: &str) -> Result<Option<KeyOf>, StoreError> {
    if !api_keys::is_well_formed(token) {
        return Ok(None);
    }
    let Some(grant) = state.store.key_by_hash(&api_keys::hash(token)).await? else {
        return Ok(None);
    };
    if grant.expires_at.is_some_and(|at| at <= state.clock.now()) {
        return Ok(None);
    }
    Ok(Some(KeyOf {
        key_id: grant.key_id,
        account_id: grant.account_id,
        scopes: grant.scopes,
        plan: grant.plan,
        _seal: Seal,
    }))
}
