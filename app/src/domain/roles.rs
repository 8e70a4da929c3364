//! What each role may do in an account. Checked on every request against the role stored
//! now, so a change of role or a removal takes effect on the next request.
use crate::ports::Role;

/// Members, invitations, API keys and the activity log.
pub fn can_administer(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

/// Single sign-on settings and deleting the account.
pub fn can_own(role: Role) -> bool {
    role == Role::Owner
}

/// Only owners make owners, and only owners change or remove an owner.
pub fn can_assign(actor: Role, current: Option<Role>, new: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => new != Role::Owner && current != Some(Role::Owner),
        Role::Member => false,
    }
}

pub fn can_remove(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => target != Role::Owner,
        Role::Member => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_cannot_touch_owners() {
        assert!(can_assign(Role::Admin, Some(Role::Member), Role::Admin));
        assert!(!can_assign(Role::Admin, Some(Role::Member), Role::Owner));
        assert!(!can_assign(Role::Admin, Some(Role::Owner), Role::Member));
        assert!(can_assign(Role::Owner, Some(Role::Owner), Role::Member));
        assert!(!can_assign(Role::Member, None, Role::Member));
        assert!(!can_remove(Role::Admin, Role::Owner));
        assert!(can_remove(Role::Admin, Role::Member));
        assert!(can_administer(Role::Admin) && !can_administer(Role::Member));
        assert!(can_own(Role::Owner) && !can_own(Role::Admin));
    }
}
