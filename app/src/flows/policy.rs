//! An account's two-factor policy, for its owners: require a second factor of every member
//! (the rule that sends members without one to enrol is `auth::second_factor_due`), and reset
//! a member's second factors (someone who lost both their app and their codes).
use crate::auth::OwnerOf;
use crate::domain::ids::UserId;
use crate::flows::mail::{self, MailKind};
use crate::flows::{Outcome, Refusal};
use crate::ports::StoreError;
use crate::{mails, paths, AppState};

/// Whether a person has a second factor: an authenticator app or a passkey (each brings a
/// second step after the password, and counts for an account that requires one).
pub async fn has_second_factor(state: &AppState, user_id: &UserId) -> Result<bool, StoreError> {
    Ok(state.store.totp_factor(user_id).await?.is_some()
        || !state.store.passkeys(user_id).await?.is_empty())
}

/// Requires (`true`) or no longer requires a second factor of the account's members; needs a
/// recent sign-in, writes the audit event.
pub async fn set_second_factor_required(
    state: &AppState,
    owner: &OwnerOf,
    required: bool,
) -> Outcome<()> {
    owner.recently_authenticated(state)?;
    let action = if required {
        "account.second_factor_required"
    } else {
        "account.second_factor_not_required"
    };
    let audit = owner.audit(action, String::new(), state.clock.now());
    if state
        .store
        .set_second_factor_required(owner.account_id(), required, audit)
        .await?
    {
        tracing::warn!(
            event = action,
            user_id = owner.user_id().as_str(),
            account_id = owner.account_id().as_str(),
            client_ip = crate::web::request::client_ip(),
            "an owner changed the account's two-factor policy"
        );
        Ok(())
    } else {
        Err(Refusal::NotFound("account").into())
    }
}

/// What an owner resetting their own second factors is told (their Security page does it,
/// with a code).
pub const NOT_YOURSELF: &str = "Your own two-factor authentication is on your Security page.";

/// Removes a member's authenticator app, passkeys and recovery codes (someone who lost their
/// devices and their codes): needs a
/// recent sign-in; the member must belong to the owner's account and have a second factor;
/// writes the audit event in the removal's transaction and mails the member. They then sign
/// in with their password alone (and, where the account requires it, enrol again).
pub async fn reset_member_second_factors(
    state: &AppState,
    owner: &OwnerOf,
    member: &UserId,
) -> Outcome<()> {
    owner.recently_authenticated(state)?;
    if member == owner.user_id() {
        return Err(Refusal::not_allowed("not_yourself", NOT_YOURSELF).into());
    }
    if state
        .store
        .role_in(member, owner.account_id())
        .await?
        .is_none()
    {
        return Err(Refusal::NotFound("member").into());
    }
    let Some(user) = state.store.user_by_id(member).await? else {
        return Err(Refusal::NotFound("member").into());
    };
    let audit = owner.audit(
        "member.second_factors_reset",
        member.to_string(),
        state.clock.now(),
    );
    if !state.store.remove_second_factors(member, audit).await? {
        return Err(Refusal::conflict(
            "no_second_factor",
            "That member has no two-factor authentication to reset.",
        )
        .into());
    }
    tracing::warn!(
        event = "member.second_factors_reset",
        user_id = owner.user_id().as_str(),
        member_id = member.as_str(),
        account_id = owner.account_id().as_str(),
        client_ip = crate::web::request::client_ip(),
        "an owner reset a member's second factors"
    );
    let account_name = state
        .store
        .account(owner.account_id())
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let link = state.config.link(paths::SECURITY_TWO_FACTOR);
    let mail = mails::second_factors_reset(&user.email, owner.email(), &account_name, &link);
    mail::send_throttled(state, MailKind::SecondFactorsReset, mail).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::MemberOf;
    use crate::domain::roles::Role;
    use crate::domain::second_factors::NewTotpFactor;
    use crate::ports::prelude::*;
    use crate::testing::{refused, Harness};

    async fn with_app(h: &Harness, user: &UserId) {
        let factor = NewTotpFactor {
            user_id: user.clone(),
            secret_sealed: "sealed".into(),
            step: 0,
            recovery_hashes: vec!["a".into(), "b".into()],
            now: h.now(),
        };
        let audit = crate::domain::audit::AuditEvent {
            account_id: None,
            actor_user_id: Some(user.clone()),
            action: "second_factor.added".into(),
            detail: None,
            at: h.now(),
        };
        assert!(h.store.add_totp_factor(factor, audit).await.unwrap());
    }

    fn owner_of(account: &crate::domain::ids::AccountId, id: &UserId) -> OwnerOf {
        MemberOf::for_tests(id, "owner@acme.test", account, Role::Owner)
            .owner()
            .unwrap()
    }

    #[tokio::test]
    async fn an_owner_switches_the_policy_with_a_recent_sign_in_and_an_audit_event() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let id = h.user_in(&acme, "owner@acme.test", Role::Owner).await;
        let owner = owner_of(&acme, &id);
        set_second_factor_required(&h.state, &owner, true)
            .await
            .unwrap();
        assert!(
            h.store
                .account(&acme)
                .await
                .unwrap()
                .unwrap()
                .require_second_factor
        );
        set_second_factor_required(&h.state, &owner, false)
            .await
            .unwrap();
        assert!(
            !h.store
                .account(&acme)
                .await
                .unwrap()
                .unwrap()
                .require_second_factor
        );
        assert_eq!(
            h.store.audit_actions(),
            vec![
                "account.second_factor_required",
                "account.second_factor_not_required"
            ]
        );
        // A stale session must confirm it's them first.
        let stale = MemberOf::for_tests(&id, "owner@acme.test", &acme, Role::Owner)
            .authenticated_at_for_tests(h.now())
            .owner()
            .unwrap();
        h.advance(h.state.config.reauth_window + std::time::Duration::from_secs(1));
        assert_eq!(
            refused(set_second_factor_required(&h.state, &stale, true).await),
            crate::domain::reauth::required()
        );
        assert!(
            !h.store
                .account(&acme)
                .await
                .unwrap()
                .unwrap()
                .require_second_factor
        );
    }

    #[tokio::test]
    async fn an_owner_resets_a_member_s_factors_with_an_audit_event_and_a_mail() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let id = h.user_in(&acme, "owner@acme.test", Role::Owner).await;
        let owner = owner_of(&acme, &id);
        let dev = h.user_in(&acme, "dev@acme.test", Role::Member).await;
        with_app(&h, &dev).await;
        reset_member_second_factors(&h.state, &owner, &dev)
            .await
            .unwrap();
        assert!(!has_second_factor(&h.state, &dev).await.unwrap());
        assert_eq!(h.store.recovery_codes_left(&dev).await.unwrap(), 0);
        let events = h.store.audit_log();
        let last = events.last().unwrap();
        assert_eq!(last.action, "member.second_factors_reset");
        assert_eq!(last.account_id.as_ref(), Some(&acme));
        h.settle().await;
        let mails = h.mails_to("dev@acme.test");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "Your two-factor authentication was reset");
        assert!(mails[0].text.contains("owner@acme.test"));
        // Nothing left to reset.
        let again = refused(reset_member_second_factors(&h.state, &owner, &dev).await);
        assert!(matches!(
            again,
            Refusal::Conflict {
                code: "no_second_factor",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn only_members_of_the_account_and_never_oneself() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let id = h.user_in(&acme, "owner@acme.test", Role::Owner).await;
        with_app(&h, &id).await;
        let owner = owner_of(&acme, &id);
        let other = h.account("Other");
        let outsider = h.user_in(&other, "out@other.test", Role::Member).await;
        with_app(&h, &outsider).await;
        assert_eq!(
            refused(reset_member_second_factors(&h.state, &owner, &outsider).await),
            Refusal::NotFound("member")
        );
        assert!(has_second_factor(&h.state, &outsider).await.unwrap());
        let own = refused(reset_member_second_factors(&h.state, &owner, &id).await);
        assert_eq!(own.message(), NOT_YOURSELF);
        assert!(has_second_factor(&h.state, &id).await.unwrap());
    }
}
