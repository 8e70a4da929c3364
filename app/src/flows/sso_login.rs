//! Signing in through single sign-on: the email step's decision, starting the OpenID Connect
//! flow, and checking what comes back before anyone is signed in or provisioned.
use crate::auth::OwnerOf;
use crate::auth::Signed;
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ConnectionId, UserId};
use crate::domain::members::Invitation;
use crate::domain::sso::{
    first_sign_in_creates_users, DomainPolicy, InvitationToAccept, SsoConnection, SsoInvitation,
    SsoSignIn, SsoSignInOutcome,
};
use crate::domain::users::UserRecord;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::ports::{SsoError, SsoIdentity};
use crate::AppState;

/// How long a started SSO sign-in may take before its callback is refused.
pub const FLOW_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// The email step's decision for an address: by the connection serving its domain through
/// a domain its account has verified.
pub async fn policy_for(
    state: &AppState,
    email: &EmailAddress,
) -> Result<(DomainPolicy, Option<SsoConnection>), FlowError> {
    Ok(match state.store.sso_for_domain(email.domain()).await? {
        None => (DomainPolicy::Unclaimed, None),
        Some(c) if c.enforced => (DomainPolicy::Enforced, Some(c)),
        Some(c) => (DomainPolicy::Offered, Some(c)),
    })
}

/// The connection that enforces single sign-on for `email`'s domain, if one does: the only
/// way in for that address (an invitation to it too is accepted through the provider).
pub async fn enforced_for(
    state: &AppState,
    email: &EmailAddress,
) -> Result<Option<SsoConnection>, FlowError> {
    Ok(match policy_for(state, email).await? {
        (DomainPolicy::Enforced, Some(c)) => Some(c),
        _ => None,
    })
}

/// Why a callback did not sign anyone in; each has its own page text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// No flow in the session, a wrong `state`, a replayed or an expired callback.
    FlowInvalid,
    /// The provider answered with `error=…` (e.g. the person cancelled).
    ProviderRefused,
    Unreachable,
    /// Code exchange or ID token checks failed (signature, audience, nonce, …).
    NotVerified,
    EmailUnverified,
    /// The ID token's email is not on a verified domain this connection serves.
    WrongDomain,
    /// The connection was deleted meanwhile.
    NoConnection,
    /// The user with this email is linked to another identity at this provider.
    LinkedElsewhere,
    /// Nobody here has this email, and this server creates users by invitation only (the
    /// connection does not create users at first sign-in).
    NotInvited,
}

impl SsoFailure {
    pub fn message(self) -> &'static str {
        match self {
            SsoFailure::FlowInvalid => {
                "This sign-in attempt expired or was already used. Please start again."
            }
            SsoFailure::ProviderRefused => "Your identity provider did not sign you in.",
            SsoFailure::Unreachable => {
                "We could not reach your identity provider. Please try again in a moment."
            }
            SsoFailure::NotVerified => {
                "The answer from your identity provider could not be verified."
            }
            SsoFailure::EmailUnverified => {
                "Your identity provider has not verified your email address."
            }
            SsoFailure::WrongDomain => {
                "Your email address is not on a domain that uses this single sign-on."
            }
            SsoFailure::NoConnection => "Single sign-on is no longer set up for your domain.",
            SsoFailure::LinkedElsewhere => {
                "Your account here is linked to a different identity at your provider. Ask an owner of your account for help."
            }
            SsoFailure::NotInvited => {
                "Your identity provider signed you in, but you have no user here yet, and new users join this hub by invitation only. Ask an owner or admin of your organization's account to invite you."
            }
        }
    }
}

impl SsoFailure {
    /// The stable code of the refusal.
    pub fn code(self) -> &'static str {
        match self {
            SsoFailure::FlowInvalid => "sso_flow_invalid",
            SsoFailure::ProviderRefused => "provider_refused",
            SsoFailure::Unreachable => "provider_unreachable",
            SsoFailure::NotVerified => "id_token_not_verified",
            SsoFailure::EmailUnverified => "email_unverified",
            SsoFailure::WrongDomain => "domain_not_served",
            SsoFailure::NoConnection => "sso_connection_gone",
            SsoFailure::LinkedElsewhere => "linked_elsewhere",
            SsoFailure::NotInvited => "not_invited",
        }
    }
}

/// Every surface meets a failed callback as the one refusal type: an unreachable provider is
/// unavailable, someone this hub does not let in is not allowed, the rest conflict with the
/// state of the flow or of the user's links.
impl From<SsoFailure> for Refusal {
    fn from(failure: SsoFailure) -> Self {
        let (code, message) = (failure.code(), failure.message());
        match failure {
            SsoFailure::Unreachable => Refusal::unavailable(code, message),
            SsoFailure::NotInvited => Refusal::not_allowed(code, message),
            _ => Refusal::conflict(code, message),
        }
    }
}

impl From<SsoFailure> for crate::flows::Stopped {
    fn from(failure: SsoFailure) -> Self {
        Refusal::from(failure).into()
    }
}

impl From<SsoError> for SsoFailure {
    fn from(e: SsoError) -> Self {
        tracing::warn!(error = %e, "SSO callback refused");
        match e {
            SsoError::Unreachable(_) | SsoError::ForbiddenAddress => SsoFailure::Unreachable,
            SsoError::Rejected(_) => SsoFailure::NotVerified,
        }
    }
}

/// What a callback carries back to the flow that started it.
pub struct Callback<'a> {
    pub connection_id: &'a ConnectionId,
    pub account_id: &'a AccountId,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

/// Exchanges the code and verifies the ID token for the connection the flow started with.
async fn verified_identity(
    state: &AppState,
    cb: &Callback<'_>,
) -> Outcome<(SsoConnection, SsoIdentity)> {
    let Some(connection) = crate::flows::sso::find(state, cb.account_id, cb.connection_id).await?
    else {
        return Err(SsoFailure::NoConnection.into());
    };
    let secret = state
        .sealing
        .open(&connection.client_secret_sealed)
        .map_err(FlowError::from)?;
    let redirect = crate::flows::sso::redirect_uri(state);
    match state
        .oidc
        .finish(
            &connection.issuer,
            &connection.client_id,
            &secret,
            &redirect,
            cb.code,
            cb.pkce_verifier,
            cb.nonce,
        )
        .await
    {
        Ok(identity) => Ok((connection, identity)),
        Err(e) => Err(SsoFailure::from(e).into()),
    }
}

/// The identity's email when it may name a user here: verified by the provider and on a
/// verified domain the connection serves.
fn usable_email(
    connection: &SsoConnection,
    identity: &SsoIdentity,
) -> Result<EmailAddress, SsoFailure> {
    if !identity.email_verified {
        return Err(SsoFailure::EmailUnverified);
    }
    let email = identity
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or(SsoFailure::EmailUnverified)?;
    if !connection.serves_verified(email.domain()) {
        return Err(SsoFailure::WrongDomain);
    }
    Ok(email)
}

/// A completed sign-in through the provider.
#[derive(Debug, Clone)]
pub struct SsoSignedIn {
    pub user: UserRecord,
    /// The connection's account.
    pub account_id: AccountId,
    /// The invitation this sign-in accepted, if one.
    pub joined: Option<Invitation>,
}

/// A sign-in through the provider. The ID token's email must be verified and on a domain the
/// connection still serves, for known identities as for new ones. The user is found by
/// (connection, subject); the first time, the email links an existing user or, as the
/// sign-up policy allows, provisions one (a member of the connection's account). With
/// `invitation_link` (the hash of an invitation link's token), that invitation is accepted
/// when it names the user; otherwise a first sign-in accepts the person's pending invitation
/// to the connection's account.
pub async fn complete(
    state: &AppState,
    cb: Callback<'_>,
    invitation_link: Option<&str>,
) -> Outcome<SsoSignedIn> {
    let (connection, identity) = verified_identity(state, &cb).await?;
    let email = usable_email(&connection, &identity)?;
    let now = state.clock.now();
    let invitation = match invitation_link {
        Some(hash) => state
            .store
            .invitation_by_token(hash, now)
            .await?
            .map(|i| (i, true)),
        None => state
            .store
            .pending_invitation(&connection.account_id, &email, now)
            .await?
            .map(|i| (i, false)),
    };
    let to_accept = invitation.as_ref().map(|(inv, by_link)| {
        let accept = InvitationToAccept {
            id: inv.id.clone(),
            account_id: inv.account_id.clone(),
            email: inv.email.clone(),
            role: inv.role,
            audit: AuditEvent {
                account_id: Some(inv.account_id.clone()),
                actor_user_id: None,
                action: "member.joined".into(),
                detail: Some(format!(
                    "{} as {} (through single sign-on)",
                    inv.email,
                    inv.role.as_str()
                )),
                at: now,
            },
        };
        if *by_link {
            SsoInvitation::Link(accept)
        } else {
            SsoInvitation::Pending(accept)
        }
    });
    let open = state.config.signup == crate::SignUpPolicy::Open;
    let audit = AuditEvent {
        account_id: Some(connection.account_id.clone()),
        actor_user_id: None,
        action: "sso.sign_in".into(),
        detail: Some(format!("{email} via {}", connection.issuer)),
        at: now,
    };
    let outcome = state
        .store
        .sso_sign_in(
            SsoSignIn {
                connection_id: connection.id.clone(),
                account_id: connection.account_id.clone(),
                subject: identity.subject.clone(),
                email,
                new_user_id: UserId::new(),
                may_create_user: first_sign_in_creates_users(open, &connection),
                invitation: to_accept,
                now,
            },
            audit,
        )
        .await?;
    match outcome {
        SsoSignInOutcome::SignedIn { user, joined, .. } => Ok(SsoSignedIn {
            user,
            account_id: connection.account_id,
            joined: joined.and(invitation.map(|(i, _)| i)),
        }),
        SsoSignInOutcome::NotInvited => Err(SsoFailure::NotInvited.into()),
        SsoSignInOutcome::DomainNotServed => Err(SsoFailure::WrongDomain.into()),
        SsoSignInOutcome::UserLinkedElsewhere => Err(SsoFailure::LinkedElsewhere.into()),
    }
}

/// An owner's test sign-in: the provider answered with a verified ID token whose verified
/// email is on a served domain. Records the test (enforcement may now be switched on);
/// signs nobody in and links nothing. Returns the email the provider asserted.
pub async fn complete_test(
    state: &AppState,
    owner: &OwnerOf,
    cb: Callback<'_>,
) -> Outcome<EmailAddress> {
    let (connection, identity) = verified_identity(state, &cb).await?;
    let email = usable_email(&connection, &identity)?;
    let now = state.clock.now();
    let audit = owner.audit(
        "sso.test_sign_in",
        format!("{} as {email}", connection.issuer),
        now,
    );
    if !state
        .store
        .mark_sso_tested(owner.account_id(), &connection.id, now, audit)
        .await?
    {
        return Err(SsoFailure::NoConnection.into());
    }
    Ok(email)
}

/// The end of a re-authentication through the provider: it must have signed in the very
/// identity already linked to `signed` (found by connection and subject, never by email), on
/// a domain the connection still serves. Signs nobody in and links nothing.
pub async fn complete_reauthentication(
    state: &AppState,
    signed: &Signed,
    cb: Callback<'_>,
) -> Outcome<()> {
    let (connection, identity) = verified_identity(state, &cb).await?;
    usable_email(&connection, &identity)?;
    let user = state
        .store
        .user_of_identity(&connection.id, &identity.subject)
        .await?;
    if user.as_ref() != Some(signed.user_id()) {
        return Err(Refusal::not_allowed(
            "someone_else",
            "Your identity provider signed in someone other than you, so nothing was confirmed.",
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::flows::members;
    use crate::ports::prelude::*;
    use crate::testing::{code, link_token, refused, refused_code, Harness, PASSWORD};

    fn callback(c: &SsoConnection) -> Callback<'_> {
        Callback {
            connection_id: &c.id,
            account_id: &c.account_id,
            code: "code",
            pkce_verifier: "verifier",
            nonce: "nonce",
        }
    }

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    async fn policy(h: &Harness, address: &str) -> (DomainPolicy, Option<SsoConnection>) {
        policy_for(&h.state, &email(address)).await.unwrap()
    }

    /// Corp, with an owner, serving corp.test (enforced or not).
    async fn corp(h: &Harness, enforced: bool) -> (OwnerOf, SsoConnection) {
        let account = h.account("Corp");
        let owner = h.owner(&account, "owner@corp.test");
        let connection = h.sso(&account, &["corp.test"], enforced).await;
        (owner, connection)
    }

    #[tokio::test]
    async fn the_policy_follows_the_connection_serving_the_domain() {
        let h = Harness::new();
        let (_, offered) = corp(&h, false).await;
        let other = h.account("Strict");
        let enforced = h.sso(&other, &["strict.test"], true).await;
        assert_eq!(
            policy(&h, "a@corp.test").await,
            (DomainPolicy::Offered, Some(offered))
        );
        assert_eq!(
            policy(&h, "a@strict.test").await,
            (DomainPolicy::Enforced, Some(enforced.clone()))
        );
        assert_eq!(
            policy(&h, "a@free.test").await,
            (DomainPolicy::Unclaimed, None)
        );
        assert_eq!(
            enforced_for(&h.state, &email("a@corp.test")).await.unwrap(),
            None
        );
        assert_eq!(
            enforced_for(&h.state, &email("a@strict.test"))
                .await
                .unwrap(),
            Some(enforced)
        );
    }

    #[tokio::test]
    async fn a_first_sign_in_provisions_a_member_and_later_ones_find_them_by_subject() {
        let h = Harness::new();
        let (_, c) = corp(&h, false).await;
        h.oidc.sign_in_as("sub-1", "Dev@Corp.test", true);
        let first = complete(&h.state, callback(&c), None).await.unwrap();
        assert_eq!(first.user.email.as_str(), "dev@corp.test");
        assert!(first.user.password_hash.is_none());
        assert_eq!(
            (first.account_id.as_str(), first.joined),
            (c.account_id.as_str(), None)
        );
        assert_eq!(
            h.store
                .role_in(&first.user.id, &c.account_id)
                .await
                .unwrap(),
            Some(Role::Member)
        );
        assert_eq!(
            h.store.identity_user(&c.id, "sub-1"),
            Some(first.user.id.clone())
        );
        assert_eq!(
            h.oidc.secrets_seen(),
            vec!["secret"],
            "the sealed secret, opened"
        );
        // The subject names the user from now on, whatever email the provider says.
        h.oidc.sign_in_as("sub-1", "renamed@corp.test", true);
        let again = complete(&h.state, callback(&c), None).await.unwrap();
        assert_eq!(again.user.id, first.user.id);
        assert_eq!(h.store.user_count(), 2);
        let sign_ins = h
            .store
            .audit_log()
            .into_iter()
            .filter(|e| e.action == "sso.sign_in")
            .count();
        assert_eq!(sign_ins, 2);
    }

    #[tokio::test]
    async fn an_existing_user_is_linked_by_email_once() {
        let h = Harness::new();
        let (_, c) = corp(&h, false).await;
        let (dev, _) = h.signed_up("dev@corp.test", Some(PASSWORD)).await;
        h.oidc.sign_in_as("sub-1", "dev@corp.test", true);
        let signed = complete(&h.state, callback(&c), None).await.unwrap();
        assert_eq!(signed.user.id, dev);
        assert!(signed.user.password_hash.is_some(), "linked, not replaced");
        // Another subject asserting the same email does not take the user over.
        h.oidc.sign_in_as("sub-2", "dev@corp.test", true);
        let other = refused(complete(&h.state, callback(&c), None).await);
        assert_eq!(code(&other), "linked_elsewhere");
        assert_eq!(h.store.identity_user(&c.id, "sub-2"), None);
    }

    #[tokio::test]
    async fn what_the_provider_answers_is_checked_before_anyone_is_signed_in() {
        let h = Harness::new();
        let (_, c) = corp(&h, false).await;
        let users = h.store.user_count();
        h.oidc.sign_in_as("sub-1", "dev@corp.test", false);
        assert_eq!(
            refused_code(complete(&h.state, callback(&c), None).await),
            "email_unverified"
        );
        h.oidc.sign_in_as("sub-1", "dev@elsewhere.test", true);
        assert_eq!(
            refused_code(complete(&h.state, callback(&c), None).await),
            "domain_not_served"
        );
        h.oidc.answer(crate::testing::OidcAnswer::Rejected);
        assert_eq!(
            refused_code(complete(&h.state, callback(&c), None).await),
            "id_token_not_verified"
        );
        h.oidc.answer(crate::testing::OidcAnswer::Unreachable);
        let down = refused(complete(&h.state, callback(&c), None).await);
        assert!(matches!(
            down,
            Refusal::Unavailable {
                code: "provider_unreachable",
                ..
            }
        ));
        assert_eq!(h.store.user_count(), users);
    }

    #[tokio::test]
    async fn a_deleted_connection_signs_nobody_in() {
        let h = Harness::new();
        let (owner, c) = corp(&h, false).await;
        crate::flows::sso::delete(&h.state, &owner, &c.id)
            .await
            .unwrap();
        h.oidc.sign_in_as("sub-1", "dev@corp.test", true);
        let gone = complete(&h.state, callback(&c), None).await;
        assert_eq!(refused_code(gone), "sso_connection_gone");
    }

    #[tokio::test]
    async fn invite_only_lets_in_the_invited_and_not_strangers() {
        let h = Harness::with_config(|cfg| cfg.signup = crate::SignUpPolicy::InviteOnly);
        let (owner, c) = corp(&h, false).await;
        h.oidc.sign_in_as("sub-1", "dev@corp.test", true);
        let stranger = refused(complete(&h.state, callback(&c), None).await);
        assert!(matches!(
            stranger,
            Refusal::NotAllowed {
                code: "not_invited",
                ..
            }
        ));
        assert_eq!(h.store.user_count(), 1);
        let invited = members::invite(
            &h.state,
            &owner.as_admin().unwrap(),
            "dev@corp.test",
            Role::Admin,
        )
        .await
        .unwrap();
        let signed = complete(&h.state, callback(&c), None).await.unwrap();
        assert_eq!(signed.joined.map(|i| i.id), Some(invited.id));
        assert_eq!(
            h.store
                .role_in(&signed.user.id, &c.account_id)
                .await
                .unwrap(),
            Some(Role::Admin)
        );
    }

    #[tokio::test]
    async fn create_users_on_lets_strangers_in_on_an_invite_only_server() {
        let h = Harness::with_config(|cfg| cfg.signup = crate::SignUpPolicy::InviteOnly);
        let (owner, c) = corp(&h, false).await;
        crate::flows::sso::set_create_users(&h.state, &owner, &c.id, true)
            .await
            .unwrap();
        h.oidc.sign_in_as("sub-1", "dev@corp.test", true);
        let signed = complete(&h.state, callback(&c), None).await.unwrap();
        assert_eq!(
            h.store
                .role_in(&signed.user.id, &c.account_id)
                .await
                .unwrap(),
            Some(Role::Member)
        );
    }

    #[tokio::test]
    async fn an_invitation_link_to_another_account_joins_only_that_account() {
        let h = Harness::with_config(|cfg| cfg.signup = crate::SignUpPolicy::InviteOnly);
        let (_, c) = corp(&h, false).await;
        let partner = h.account("Partner");
        let partner_admin = h.admin(&partner, "admin@partner.test");
        members::invite(&h.state, &partner_admin, "dev@corp.test", Role::Member)
            .await
            .unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("dev@corp.test")[0]);
        h.oidc.sign_in_as("sub-1", "dev@corp.test", true);
        let signed = complete(&h.state, callback(&c), Some(&link)).await.unwrap();
        assert_eq!(signed.joined.map(|i| i.account_id), Some(partner.clone()));
        let user = signed.user.id;
        assert_eq!(
            h.store.role_in(&user, &partner).await.unwrap(),
            Some(Role::Member)
        );
        assert_eq!(h.store.role_in(&user, &c.account_id).await.unwrap(), None);
        let dead = members::invitation_for_link(&h.state, &link).await;
        assert_eq!(refused_code(dead), "link_dead");
    }

    #[tokio::test]
    async fn a_test_sign_in_records_the_test_and_signs_nobody_in() {
        let h = Harness::new();
        let (owner, c) = corp(&h, false).await;
        let users = h.store.user_count();
        h.oidc.sign_in_as("sub-9", "someone@corp.test", true);
        let asserted = complete_test(&h.state, &owner, callback(&c)).await.unwrap();
        assert_eq!(asserted.as_str(), "someone@corp.test");
        assert_eq!(h.store.user_count(), users);
        assert_eq!(h.store.identity_user(&c.id, "sub-9"), None);
        let stored = crate::flows::sso::connection(&h.state, &owner, &c.id)
            .await
            .unwrap();
        assert_eq!(stored.tested_at, Some(h.now()));
        assert!(h
            .store
            .audit_actions()
            .contains(&"sso.test_sign_in".to_owned()));
    }

    #[tokio::test]
    async fn an_owner_cannot_test_another_account_s_connection() {
        let h = Harness::new();
        let (_, c) = corp(&h, false).await;
        let other = h.account("Other");
        let stranger = h.owner(&other, "owner@other.test");
        h.oidc.sign_in_as("sub-9", "someone@corp.test", true);
        let refused_test = complete_test(&h.state, &stranger, callback(&c)).await;
        assert_eq!(refused_code(refused_test), "sso_connection_gone");
        let stored = h.store.sso_connections(&c.account_id).await.unwrap();
        assert_eq!(stored[0].tested_at, None);
    }

    #[test]
    fn every_failure_is_one_refusal_with_its_own_words() {
        use SsoFailure::*;
        let all = [
            FlowInvalid,
            ProviderRefused,
            Unreachable,
            NotVerified,
            EmailUnverified,
            WrongDomain,
            NoConnection,
            LinkedElsewhere,
            NotInvited,
        ];
        let mut codes: Vec<&str> = all.iter().map(|f| f.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "one code each");
        for failure in all {
            let refusal = Refusal::from(failure);
            assert_eq!(refusal.message(), failure.message());
            let kind_ok = match failure {
                Unreachable => matches!(refusal, Refusal::Unavailable { .. }),
                NotInvited => matches!(refusal, Refusal::NotAllowed { .. }),
                _ => matches!(refusal, Refusal::Conflict { .. }),
            };
            assert!(kind_ok, "{failure:?} → {refusal:?}");
        }
        assert_eq!(SsoFailure::from(SsoError::ForbiddenAddress), Unreachable);
        assert_eq!(
            SsoFailure::from(SsoError::Rejected("x".into())),
            NotVerified
        );
    }
}
