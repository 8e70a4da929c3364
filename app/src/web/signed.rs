//! The pages' side of "who is acting": the signed-in member in their current account (from
//! [`crate::auth`]), or the page to show instead — sign-in when signed out, the account picker
//! when no account is chosen or they left it, 403 when their role does not allow the page.
use axum::response::Response;
use tower_sessions::Session;

use super::errors;
use super::respond::{see_other, PageError};
use crate::auth::{self, AdminOf, MemberOf, OwnerOf, Signed};
use crate::session;
use crate::web::shell::Chrome;
use crate::AppState;

/// A signed-in person in their current account, and that account's name (for the chrome).
pub struct Member {
    pub signed: Signed,
    pub member: MemberOf,
    pub account_name: String,
}

impl Member {
    pub fn user_id(&self) -> &str {
        self.signed.user_id()
    }

    pub fn account_id(&self) -> &str {
        &self.member.account_id
    }

    pub fn chrome(&self) -> Chrome {
        Chrome {
            account_name: self.account_name.clone(),
            email: self.signed.email.clone(),
            is_admin: self.member.is_admin(),
            is_owner: self.member.is_owner(),
        }
    }
}

/// The page to show instead of the one asked for.
pub type Instead = Response;

/// The signed-in person, or the sign-in page.
pub async fn signed_in(state: &AppState, session: &Session) -> Result<Option<Signed>, PageError> {
    auth::signed_in(state, session)
        .await
        .map_err(|e| PageError(e.to_string()))
}

/// The signed-in member in their current account (role read now), or where to go instead.
pub async fn member(
    state: &AppState,
    session: &Session,
) -> Result<Result<Member, Instead>, PageError> {
    let Some(signed) = signed_in(state, session).await? else {
        return Ok(Err(see_other("/sign-in")));
    };
    let found = auth::current_member(state, &signed).await?;
    let Some((member, account_name)) = found else {
        session::set_current_account(session, None).await?;
        return Ok(Err(see_other("/accounts")));
    };
    Ok(Ok(Member {
        signed,
        member,
        account_name,
    }))
}

/// An owner or admin of the current account, or where to go instead (`refused` says why).
pub async fn admin(
    state: &AppState,
    session: &Session,
    refused: &'static str,
) -> Result<Result<(Member, AdminOf), Instead>, PageError> {
    Ok(match member(state, session).await? {
        Ok(m) => match m.member.as_admin() {
            Some(admin) => Ok((m, admin)),
            None => Err(errors::forbidden(refused)),
        },
        Err(page) => Err(page),
    })
}

/// An owner of the current account, or where to go instead (`refused` says why).
pub async fn owner(
    state: &AppState,
    session: &Session,
    refused: &'static str,
) -> Result<Result<(Member, OwnerOf), Instead>, PageError> {
    Ok(match member(state, session).await? {
        Ok(m) => match m.member.as_owner() {
            Some(owner) => Ok((m, owner)),
            None => Err(errors::forbidden(refused)),
        },
        Err(page) => Err(page),
    })
}
