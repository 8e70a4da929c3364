//! Who is acting: a signed-in person in their current account with the role read from the
//! store this request, and the authorized forms of it that only the role rules can make.
//! A flow that takes an [`OwnerOf`] cannot be called for anyone else.
use crate::domain::audit::AuditEvent;
use crate::domain::roles::can_own;
use crate::domain::roles::Role;

/// Who is acting, in which account, with which role (read from the store this request).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub email: String,
    pub account_id: String,
    pub role: Role,
}

impl Actor {
    /// The actor as an owner of their account, if the role rules say they are one.
    pub fn as_owner(&self) -> Option<OwnerOf> {
        can_own(self.role).then(|| OwnerOf(self.clone()))
    }

    /// An audit event of this actor in their account.
    pub fn audit(
        &self,
        action: &str,
        detail: impl Into<String>,
        at: crate::domain::clock::Timestamp,
    ) -> AuditEvent {
        AuditEvent {
            account_id: Some(self.account_id.clone()),
            actor_user_id: Some(self.user_id.clone()),
            action: action.into(),
            detail: Some(detail.into()),
            at,
        }
    }
}

/// An owner of `account_id`: made only by [`Actor::as_owner`].
#[derive(Debug, Clone)]
pub struct OwnerOf(Actor);

impl std::ops::Deref for OwnerOf {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}
