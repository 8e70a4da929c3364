//! The pages' side of "who is acting": the signed-in member in their current account (from
//! [`crate::auth`]), or the page to show instead — sign-in when signed out, the account picker
//! when no account is chosen or they left it, 403 when their role does not allow the page.
use tower_sessions::Session;

use super::errors;
use super::respond::{see_other, PageError};
use crate::auth::{self, AdminOf, MemberOf, OwnerOf, Signed};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::policy;
use crate::paths;
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
    pub fn user_id(&self) -> &UserId {
        self.signed.user_id()
    }

    pub fn account_id(&self) -> &AccountId {
        self.member.account_id()
    }

    pub fn chrome(&self) -> Chrome {
        Chrome {
            account_name: self.account_name.clone(),
            email: self.signed.email().to_owned(),
            is_admin: self.member.is_admin(),
            is_owner: self.member.is_owner(),
        }
    }
}

/// The signed-in person, if any.
pub async fn signed_in(state: &AppState, session: &Session) -> Result<Option<Signed>, PageError> {
    Ok(auth::signed_in(state, session).await?)
}

/// The signed-in member in their current account (role read now); instead, the sign-in page
/// when signed out, the account picker when no account is chosen or they left it, and the
/// two-factor page when the account requires a second factor they have not set up.
pub async fn member(state: &AppState, session: &Session) -> Result<Member, PageError> {
    in_account(state, session, true).await
}

/// Like [`member`], for the person's own settings (the Security pages), which concern them
/// rather than the account: its two-factor policy does not apply there (it sends them there).
pub async fn own_settings(state: &AppState, session: &Session) -> Result<Member, PageError> {
    in_account(state, session, false).await
}

async fn in_account(
    state: &AppState,
    session: &Session,
    apply_policy: bool,
) -> Result<Member, PageError> {
    let Some(signed) = signed_in(state, session).await? else {
        return Err(PageError::Instead(see_other(paths::SIGN_IN)));
    };
    let found = auth::current_member(state, &signed).await?;
    let Some((member, account_name, must_enrol)) = found else {
        session::set_current_account(session, None).await?;
        return Err(PageError::Instead(see_other(paths::ACCOUNTS)));
    };
    if apply_policy && must_enrol {
        session::set_flash(session, session::Flash::error(policy::MESSAGE)).await?;
        return Err(PageError::Instead(see_other(paths::SECURITY_TWO_FACTOR)));
    }
    Ok(Member {
        signed,
        member,
        account_name,
    })
}

/// An owner or admin of the current account; instead, the 403 page for anyone else.
pub async fn admin(state: &AppState, session: &Session) -> Result<(Member, AdminOf), PageError> {
    let m = member(state, session).await?;
    let admin = m
        .member
        .admin()
        .map_err(|r| PageError::Instead(errors::refused(&r)))?;
    Ok((m, admin))
}

/// An owner of the current account; instead, the 403 page for anyone else.
pub async fn owner(state: &AppState, session: &Session) -> Result<(Member, OwnerOf), PageError> {
    let m = member(state, session).await?;
    let owner = m
        .member
        .owner()
        .map_err(|r| PageError::Instead(errors::refused(&r)))?;
    Ok((m, owner))
}
