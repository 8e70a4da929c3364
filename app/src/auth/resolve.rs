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

/// The signed-in person in the account their session is in, with that account's name: one
/// read (the role comes with the membership). `None` when no account is chosen or they no
/// longer belong to it.
pub async fn current_member(
    state: &AppState,
    signed: &Signed,
) -> Result<Option<(MemberOf, String)>, StoreError> {
    let Some(account_id) = signed.current_account() else {
        return Ok(None);
    };
    let memberships = state.store.memberships(signed.user_id()).await?;
    Ok(memberships
        .into_iter()
        .find(|m| m.account_id == *account_id)
        .map(|m| {
            let member = MemberOf {
                user_id: signed.user_id().clone(),
                email: signed.email.clone(),
                account_id: m.account_id,
                role: m.role,
                authenticated_at: signed.auth.authenticated_at(),
                _seal: Seal,
            };
            (member, m.account_name)
        }))
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
