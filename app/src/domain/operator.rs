//! What the operator's command line (`terminus-hub admin …`) reads about people: the users a
//! list finds, and the filter it finds them by.
use super::clock::Timestamp;
use super::email::EmailAddress;
use super::ids::{AccountId, UserId};

/// Which users `admin user list` shows: every one, or those whose email contains a text,
/// who are locked out now, who are disabled (all of the given conditions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Lower-cased (emails are stored lower-cased); matched as plain text, not a pattern.
    pub email_contains: Option<String>,
    pub locked: bool,
    pub disabled: bool,
}

impl UserFilter {
    /// Whether `user` passes the filter at `now` (the rule the SQL applies, for the fake).
    pub fn admits(&self, user: &UserListing, now: Timestamp) -> bool {
        self.email_contains
            .as_deref()
            .is_none_or(|text| user.email.as_str().contains(text))
            && (!self.locked || user.locked_at(now))
            && (!self.disabled || user.disabled_at.is_some())
    }
}

/// A user as the operator's list shows them (no secrets: no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    pub id: UserId,
    pub email: EmailAddress,
    pub created_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    /// When the operator disabled them; `None`: they can sign in.
    pub disabled_at: Option<Timestamp>,
}

impl UserListing {
    /// Locked out at `now`.
    pub fn locked_at(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// The LIKE pattern (with `\` as its escape) that matches emails containing `text`.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What setting a user's email (by the operator) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailSet {
    Set,
    /// It already was that address: nothing written.
    Unchanged,
    /// Another user has that address: nothing written.
    Taken,
    NoUser,
}

/// What making someone an owner of an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerAdded {
    /// They were not a member: now an owner.
    Added,
    /// They were an admin or member: now an owner.
    Promoted,
    /// Already an owner: nothing written.
    AlreadyOwner,
    NoAccount,
}

/// A person to erase (GDPR art. 17): their user row and everything hanging off it goes, the
/// audit trail keeps `pseudonym` wherever it named them, and `delete_accounts` (the accounts
/// they alone own) go with them.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub user_id: UserId,
    pub email: EmailAddress,
    pub pseudonym: String,
    pub delete_accounts: Vec<AccountId>,
}

/// What erasing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    Erased,
    /// An account would be left without an owner: nothing written.
    WouldOrphan,
    NoUser,
}

/// Which audit events `admin audit export` reads: of one account or all, from a time on,
/// after a cursor (the last event of the previous page), a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub account_id: Option<AccountId>,
    pub since: Option<Timestamp>,
    /// (at, id) of the last event already read.
    pub after: Option<(Timestamp, String)>,
    pub limit: u32,
}

/// An audit event with its id, as the export writes it (the activity log's entry).
pub use super::audit::AuditEntry;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matches_the_text_literally() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn the_filter_applies_every_condition_given() {
        let user = UserListing {
            id: "usr_1".into(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            created_at: Timestamp(0),
            locked_until: Some(Timestamp(10)),
            disabled_at: None,
        };
        assert!(UserFilter::default().admits(&user, Timestamp(5)));
        let locked = UserFilter {
            locked: true,
            ..UserFilter::default()
        };
        assert!(locked.admits(&user, Timestamp(5)));
        assert!(!locked.admits(&user, Timestamp(10)));
        let disabled = UserFilter {
            disabled: true,
            ..UserFilter::default()
        };
        assert!(!disabled.admits(&user, Timestamp(5)));
        let text = UserFilter {
            email_contains: Some("example".into()),
            ..UserFilter::default()
        };
        assert!(text.admits(&user, Timestamp(5)));
        let other = UserFilter {
            email_contains: Some("bob".into()),
            ..UserFilter::default()
        };
        assert!(!other.admits(&user, Timestamp(5)));
    }
}
