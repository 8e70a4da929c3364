//! The roles of an account and what each may do. Checked on every request against the role
//! stored now, so a change of role or a removal takes effect on the next request.

/// A role in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// Whether changing someone from `current` to `new` (`None`: removing them) takes an owner
/// away, so the change must leave another owner behind: an account always keeps one.
pub fn takes_an_owner_away(current: Role, new: Option<Role>) -> bool {
    current == Role::Owner && new != Some(Role::Owner)
}

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
        assert!(takes_an_owner_away(Role::Owner, None));
        assert!(takes_an_owner_away(Role::Owner, Some(Role::Admin)));
        assert!(!takes_an_owner_away(Role::Owner, Some(Role::Owner)));
        assert!(!takes_an_owner_away(Role::Admin, None));
    }
}
