//! The rules of a sign-in through an identity provider, decided on what the store read in the
//! sign-in's transaction: which user the identity names (by (connection, subject), never by
//! email once linked), whether the connection still serves their domain, which invitation the
//! sign-in accepts, and whether the sign-up policy lets a new user be created. The store reads
//! the facts and carries out the steps, in one transaction; it decides nothing.
use super::ids::{AccountId, UserId};
use super::sso::{InvitationToAccept, SsoInvitation, SsoSignIn};
use super::users::UserRecord;

/// What the store found, in the transaction of the sign-in.
#[derive(Debug, Clone)]
pub struct SignInFacts {
    /// The user the (connection, subject) identity is linked to, when it is.
    pub identity_user: Option<UserId>,
    /// The user: the identity's when it is linked, else the one with the asserted email.
    pub user: Option<UserRecord>,
    /// That user (found by email) is linked to another subject at this connection already.
    pub user_linked_elsewhere: bool,
}

/// Why a sign-in through the provider signs nobody in (nothing is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    /// Nobody has this email, and the sign-up policy creates no user for them.
    NotInvited,
    /// The connection no longer serves the domain of the user's email.
    DomainNotServed,
    /// The user with that email is linked to another subject at this connection.
    UserLinkedElsewhere,
}

/// Who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInUser {
    /// A user who exists (found by the identity, or linked now by email).
    Existing(UserId),
    /// A user created now, confirmed and without a password.
    New(UserId),
}

impl SignInUser {
    pub fn id(&self) -> &UserId {
        match self {
            SignInUser::Existing(id) | SignInUser::New(id) => id,
        }
    }
}

/// The first half of the decision: whose email decides the domain check, and which invitation
/// the sign-in tries to accept (the store then uses it, if it is still live).
#[derive(Debug, Clone)]
pub struct SignInStart {
    /// The email the connection must still serve: the user's, else the one asserted.
    pub email: super::email::EmailAddress,
    /// The invitation to use, if one names this person.
    pub invitation: Option<InvitationToAccept>,
    /// This (connection, subject) is linked for the first time by this sign-in.
    pub new_identity: bool,
}

/// The second half: what to write, once the store knows whether the invitation was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSteps {
    pub user: SignInUser,
    /// Link the identity to the user (its first sign-in); otherwise note the sign-in on it.
    pub link_identity: bool,
    /// Make the user a member of this account (the connection's), unless they are already.
    pub join_connection_account: Option<AccountId>,
}

/// Decides whose email is checked and which invitation is tried. Refused when the email names
/// a user linked to another subject of this connection (only for a subject seen the first
/// time: a linked identity finds its user, never the email).
pub fn start(request: &SsoSignIn, facts: &SignInFacts) -> Result<SignInStart, SignInRefused> {
    let new_identity = facts.identity_user.is_none();
    if new_identity && facts.user_linked_elsewhere {
        return Err(SignInRefused::UserLinkedElsewhere);
    }
    let email = facts
        .user
        .as_ref()
        .map_or_else(|| request.email.clone(), |u| u.email.clone());
    // An invitation whose link was opened is accepted at any sign-in; a pending one only at
    // the identity's first. Either only when it names this person.
    let invitation = match &request.invitation {
        Some(SsoInvitation::Link(inv)) => Some(inv.clone()),
        Some(SsoInvitation::Pending(inv)) if new_identity => Some(inv.clone()),
        _ => None,
    }
    .filter(|inv| inv.email == email);
    Ok(SignInStart {
        email,
        invitation,
        new_identity,
    })
}

/// Decides what to write, given whether the connection still serves the email's domain (for
/// known identities too) and whether the invitation was used just now. A new user is created
/// only when the sign-up policy allows it or an invitation was accepted; a first sign-in makes
/// the person a member of the connection's account, unless they were created only because
/// another account invited them.
pub fn steps(
    request: &SsoSignIn,
    facts: &SignInFacts,
    start: &SignInStart,
    domain_served: bool,
    accepted: Option<&InvitationToAccept>,
) -> Result<SignInSteps, SignInRefused> {
    if !domain_served {
        return Err(SignInRefused::DomainNotServed);
    }
    let user = match (&facts.identity_user, &facts.user) {
        (Some(user_id), _) => SignInUser::Existing(user_id.clone()),
        (None, Some(user)) => SignInUser::Existing(user.id.clone()),
        (None, None) if request.may_create_user || accepted.is_some() => {
            SignInUser::New(request.new_user_id.clone())
        }
        (None, None) => return Err(SignInRefused::NotInvited),
    };
    let by_invitation_elsewhere = matches!(user, SignInUser::New(_))
        && !request.may_create_user
        && accepted.is_some_and(|i| i.account_id != request.account_id);
    let join_connection_account =
        (start.new_identity && !by_invitation_elsewhere).then(|| request.account_id.clone());
    Ok(SignInSteps {
        user,
        link_identity: start.new_identity,
        join_connection_account,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::audit::AuditEvent;
    use crate::domain::clock::Timestamp;
    use crate::domain::email::EmailAddress;
    use crate::domain::roles::Role;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn request(may_create_user: bool, invitation: Option<SsoInvitation>) -> SsoSignIn {
        SsoSignIn {
            connection_id: "sso_1".into(),
            account_id: "acct_conn".into(),
            subject: "sub-1".into(),
            email: email("dave@corp.test"),
            new_user_id: "usr_new".into(),
            may_create_user,
            invitation,
            now: Timestamp(0),
        }
    }

    fn user(id: &str, address: &str) -> UserRecord {
        UserRecord {
            id: id.into(),
            email: email(address),
            password_hash: None,
            email_confirmed_at: Some(Timestamp(0)),
            failed_attempts: 0,
            locked_until: None,
            session_epoch: 0,
            created_at: Timestamp(0),
        }
    }

    fn invitation(account: &str, address: &str) -> InvitationToAccept {
        InvitationToAccept {
            id: "inv_1".into(),
            account_id: account.into(),
            email: email(address),
            role: Role::Admin,
            audit: AuditEvent {
                account_id: Some(account.into()),
                actor_user_id: None,
                action: "member.joined".into(),
                detail: None,
                at: Timestamp(0),
            },
        }
    }

    fn nobody() -> SignInFacts {
        SignInFacts {
            identity_user: None,
            user: None,
            user_linked_elsewhere: false,
        }
    }

    #[test]
    fn a_linked_identity_finds_its_user_not_the_email() {
        let facts = SignInFacts {
            identity_user: Some("usr_linked".into()),
            user: Some(user("usr_linked", "old@corp.test")),
            user_linked_elsewhere: false,
        };
        let req = request(false, None);
        let start = start(&req, &facts).unwrap();
        assert_eq!(
            start.email,
            email("old@corp.test"),
            "the user's email is checked"
        );
        let steps = steps(&req, &facts, &start, true, None).unwrap();
        assert_eq!(steps.user, SignInUser::Existing("usr_linked".into()));
        assert!(!steps.link_identity);
        assert_eq!(steps.join_connection_account, None);
    }

    #[test]
    fn a_known_identity_whose_domain_is_no_longer_served_signs_nobody_in() {
        let facts = SignInFacts {
            identity_user: Some("usr_linked".into()),
            user: Some(user("usr_linked", "dave@corp.test")),
            user_linked_elsewhere: false,
        };
        let req = request(true, None);
        let start = start(&req, &facts).unwrap();
        assert_eq!(
            steps(&req, &facts, &start, false, None),
            Err(SignInRefused::DomainNotServed)
        );
    }

    #[test]
    fn an_email_linked_to_another_subject_is_refused() {
        let facts = SignInFacts {
            identity_user: None,
            user: Some(user("usr_dave", "dave@corp.test")),
            user_linked_elsewhere: true,
        };
        assert!(matches!(
            start(&request(true, None), &facts),
            Err(SignInRefused::UserLinkedElsewhere)
        ));
    }

    #[test]
    fn a_first_sign_in_links_the_user_with_that_email_and_joins_the_account() {
        let facts = SignInFacts {
            identity_user: None,
            user: Some(user("usr_dave", "dave@corp.test")),
            user_linked_elsewhere: false,
        };
        let req = request(false, None);
        let start = start(&req, &facts).unwrap();
        let steps = steps(&req, &facts, &start, true, None).unwrap();
        assert_eq!(steps.user, SignInUser::Existing("usr_dave".into()));
        assert!(steps.link_identity);
        assert_eq!(steps.join_connection_account, Some("acct_conn".into()));
    }

    #[test]
    fn the_sign_up_policy_decides_whether_a_stranger_becomes_a_user() {
        let req = request(false, None);
        let start = start(&req, &nobody()).unwrap();
        assert_eq!(
            steps(&req, &nobody(), &start, true, None),
            Err(SignInRefused::NotInvited)
        );
        let req = request(true, None);
        let steps = steps(&req, &nobody(), &start, true, None).unwrap();
        assert_eq!(steps.user, SignInUser::New("usr_new".into()));
        assert_eq!(steps.join_connection_account, Some("acct_conn".into()));
    }

    #[test]
    fn an_invitation_lets_a_stranger_in_and_only_one_that_names_them() {
        let mine = invitation("acct_conn", "dave@corp.test");
        let req = request(false, Some(SsoInvitation::Pending(mine.clone())));
        let begun = start(&req, &nobody()).unwrap();
        assert_eq!(
            begun.invitation.as_ref().map(|i| i.id.as_str()),
            Some("inv_1")
        );
        let steps = steps(&req, &nobody(), &begun, true, Some(&mine)).unwrap();
        assert_eq!(steps.user, SignInUser::New("usr_new".into()));

        let someone_elses = invitation("acct_conn", "erin@corp.test");
        let req = request(false, Some(SsoInvitation::Link(someone_elses)));
        assert!(start(&req, &nobody()).unwrap().invitation.is_none());
    }

    #[test]
    fn a_pending_invitation_counts_only_at_the_first_sign_in() {
        let facts = SignInFacts {
            identity_user: Some("usr_dave".into()),
            user: Some(user("usr_dave", "dave@corp.test")),
            user_linked_elsewhere: false,
        };
        let pending = invitation("acct_conn", "dave@corp.test");
        let req = request(false, Some(SsoInvitation::Pending(pending.clone())));
        assert!(start(&req, &facts).unwrap().invitation.is_none());
        let req = request(false, Some(SsoInvitation::Link(pending)));
        assert!(start(&req, &facts).unwrap().invitation.is_some());
    }

    #[test]
    fn someone_created_by_another_accounts_invitation_joins_only_that_account() {
        let elsewhere = invitation("acct_other", "dave@corp.test");
        let req = request(false, Some(SsoInvitation::Link(elsewhere.clone())));
        let begun = start(&req, &nobody()).unwrap();
        let steps = steps(&req, &nobody(), &begun, true, Some(&elsewhere)).unwrap();
        assert_eq!(steps.user, SignInUser::New("usr_new".into()));
        assert_eq!(steps.join_connection_account, None);
    }
}
