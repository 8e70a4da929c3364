//! Members and invitations: inviting by email with a role, accepting, changing roles and
//! removing people, always keeping at least one owner. Every change is an audit event.
use crate::auth::{AdminOf, MemberOf, Signed};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids;
use crate::domain::ids::new_id;
use crate::domain::lockout::Hit;
use crate::domain::members::{Acceptor, Invitation, MemberRecord, MembershipChange, NewInvitation};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::roles::Role;
use crate::domain::secret::Secret;
use crate::domain::sso::SsoConnection;
use crate::domain::tokens::{new_link_token, INVITATION_LIFETIME};
use crate::flows::mail::{self, MailKind};
use crate::flows::sign_up::validate_new_password;
use crate::flows::sso_login;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::mails;
use crate::ports::MembershipStore;
use crate::AppState;

/// The account's members, newest user first, a page at a time, for its owners and admins.
pub async fn list(
    state: &AppState,
    admin: &AdminOf,
    page: &PageRequest,
) -> Outcome<Page<MemberRecord>> {
    let all = state.store.members(admin.account_id()).await?;
    Ok(Page::of(all, page, |m| m.user_id.as_str()))
}

/// One member of the account, for its owners and admins.
pub async fn member(state: &AppState, admin: &AdminOf, user_id: &str) -> Outcome<MemberRecord> {
    find_member(state, admin.account_id(), user_id).await
}

async fn find_member(state: &AppState, account_id: &str, user_id: &str) -> Outcome<MemberRecord> {
    state
        .store
        .members(account_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| Refusal::NotFound("member").into())
}

/// The account's pending invitations, newest first, a page at a time, for its owners and
/// admins.
pub async fn invitations(
    state: &AppState,
    admin: &AdminOf,
    page: &PageRequest,
) -> Outcome<Page<Invitation>> {
    let all = state
        .store
        .invitations(admin.account_id(), state.clock.now())
        .await?;
    Ok(Page::of(all, page, |i| i.id.as_str()))
}

/// The account's activity log, newest first, for its owners and admins.
pub async fn activity(state: &AppState, admin: &AdminOf) -> Outcome<Vec<AuditEvent>> {
    Ok(state.store.audit_events(admin.account_id(), 200).await?)
}

/// The member `user_id`, for the page that confirms removing them: anyone may look at
/// leaving themselves; only owners and admins at removing others (the removal itself then
/// applies the finer rule of who may remove whom).
pub async fn removal_target(
    state: &AppState,
    actor: &MemberOf,
    user_id: &str,
) -> Outcome<MemberRecord> {
    if user_id != actor.user_id() {
        actor.admin()?;
    }
    find_member(state, actor.account_id(), user_id).await
}

/// Refusals of member changes, worded once for the page and the API.
const ROLE_NOT_ALLOWED: &str = "Your role does not allow this change.";
const INVITE_NOT_ALLOWED: &str = "Your role does not allow inviting someone with that role.";
const INVITATION_NOT_ALLOWED: &str = "Your role does not allow managing that invitation.";
const LAST_OWNER: &str =
    "An account always keeps at least one owner: make someone else an owner first.";

fn not_allowed(message: &str) -> Refusal {
    Refusal::not_allowed("role_not_allowed", message)
}

fn from_store(change: MembershipChange) -> Result<(), Refusal> {
    match change {
        MembershipChange::Done => Ok(()),
        MembershipChange::NotAMember => Err(Refusal::NotFound("member")),
        MembershipChange::LastOwner => Err(Refusal::conflict("last_owner", LAST_OWNER)),
    }
}

/// Invites `email_input` with `role`; the answer is the invitation that was sent.
pub async fn invite(
    state: &AppState,
    actor: &AdminOf,
    email_input: &str,
    role: Role,
) -> Outcome<Invitation> {
    if !actor.may_assign(None, role) {
        return Err(not_allowed(INVITE_NOT_ALLOWED).into());
    }
    let email =
        EmailAddress::parse(email_input).map_err(|e| Refusal::invalid("email", e.to_string()))?;
    let members = state.store.members(actor.account_id()).await?;
    if members.iter().any(|m| m.email == email.as_str()) {
        return Err(Refusal::Conflict {
            code: "already_member",
            message: format!("{email} is already a member of this account."),
            field: Some("email"),
        }
        .into());
    }
    send_invitation(state, actor, email, role).await
}

/// One day: the window of the per-account invitation limit.
const INVITATION_DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Stores the invitation and emails its link, within the per-recipient mail interval and the
/// account's daily limit (both checked before anything is written).
async fn send_invitation(
    state: &AppState,
    actor: &AdminOf,
    email: EmailAddress,
    role: Role,
) -> Outcome<Invitation> {
    if !mail::take_slot(state, MailKind::Invitation, &email).await? {
        return Err(Refusal::TooSoon {
            code: "recipient_recently_emailed",
            message: format!(
                "An email was sent to {email} less than a minute ago. Try again in a minute."
            ),
            retry_after_secs: 60,
            field: Some("email"),
        }
        .into());
    }
    let quota = state
        .store
        .count_hit(
            &format!("invitations:{}", actor.account_id()),
            state.clock.now(),
            INVITATION_DAY,
            state.config.invitations_per_day,
        )
        .await?;
    if matches!(quota, Hit::Over { .. }) {
        return Err(Refusal::TooSoon {
            code: "invitation_limit_reached",
            message:
                "This account has sent as many invitations as it may today. Try again tomorrow."
                    .into(),
            retry_after_secs: 3600,
            field: None,
        }
        .into());
    }
    // And per inviting person, across every account they administer: creating accounts
    // must not multiply what one person can send.
    let limit = state.config.floods.invitations_per_person_per_day;
    let key = crate::domain::floods::invitations_by_key(actor.user_id());
    if let Some(wait) = crate::flows::floods::per_day(state, &key, limit).await? {
        return Err(Refusal::TooSoon {
            code: "invitation_limit_reached",
            message: "You have sent as many invitations as you may today. Try again tomorrow."
                .into(),
            retry_after_secs: wait.as_secs(),
            field: None,
        }
        .into());
    }
    let (raw, hash) = new_link_token();
    let now = state.clock.now();
    let id = new_id("inv");
    let expires_at = now.plus(INVITATION_LIFETIME);
    state
        .store
        .create_invitation(
            NewInvitation {
                id: id.clone(),
                account_id: actor.account_id().to_owned(),
                email: email.clone(),
                role,
                token_hash: hash,
                invited_by: Some(actor.user_id().to_owned()),
                now,
                expires_at,
            },
            actor.audit(
                "invitation.created",
                format!("{email} as {}", role.as_str()),
                now,
            ),
        )
        .await?;
    let account_name = state
        .store
        .account(actor.account_id())
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let link = state
        .config
        .link(&format!("/invite?token={}", raw.expose()));
    state.send_mail_later(mails::invitation(
        &email,
        &account_name,
        actor.email(),
        role.as_str(),
        &link,
    ));
    Ok(Invitation {
        id,
        account_id: actor.account_id().to_owned(),
        account_name,
        email,
        role,
        invited_by: Some(actor.user_id().to_owned()),
        created_at: now,
        expires_at,
    })
}

/// May `actor` manage an invitation with this role? The one rule for resend and revoke.
fn may_manage_invitation(actor: &AdminOf, role: Role) -> bool {
    actor.may_assign(None, role)
}

/// Sends a pending invitation again with a new link (the old link stops working).
pub async fn resend(state: &AppState, actor: &AdminOf, invitation_id: &str) -> Outcome<Invitation> {
    let inv = state
        .store
        .invitation(actor.account_id(), invitation_id, state.clock.now())
        .await?
        .ok_or(Refusal::NotFound("invitation"))?;
    if !may_manage_invitation(actor, inv.role) {
        return Err(not_allowed(INVITATION_NOT_ALLOWED).into());
    }
    send_invitation(state, actor, inv.email, inv.role).await
}

/// Revokes a pending invitation: its link stops working at once.
pub async fn revoke(state: &AppState, actor: &AdminOf, invitation_id: &str) -> Outcome<()> {
    let now = state.clock.now();
    let inv = state
        .store
        .invitation(actor.account_id(), invitation_id, now)
        .await?
        .ok_or(Refusal::NotFound("invitation"))?;
    if !may_manage_invitation(actor, inv.role) {
        return Err(not_allowed(INVITATION_NOT_ALLOWED).into());
    }
    let revoked = state
        .store
        .revoke_invitation(
            actor.account_id(),
            invitation_id,
            now,
            actor.audit("invitation.revoked", inv.email.to_string(), now),
        )
        .await?;
    if !revoked {
        return Err(Refusal::NotFound("invitation").into());
    }
    Ok(())
}

async fn current_role(
    store: &dyn MembershipStore,
    actor: &MemberOf,
    user_id: &str,
) -> Outcome<Role> {
    store
        .role_in(user_id, actor.account_id())
        .await?
        .ok_or(Refusal::NotFound("member").into())
}

/// Gives `user_id` the role `role`, within what the admin's own role allows.
pub async fn change_role(
    state: &AppState,
    actor: &AdminOf,
    user_id: &str,
    role: Role,
) -> Outcome<MemberRecord> {
    change_role_in(
        state.store.as_ref(),
        actor,
        user_id,
        role,
        state.clock.now(),
    )
    .await?;
    member(state, actor, user_id).await
}

/// [`change_role`] against the memberships alone (what its unit tests use).
async fn change_role_in(
    store: &dyn MembershipStore,
    actor: &AdminOf,
    user_id: &str,
    role: Role,
    now: Timestamp,
) -> Outcome<()> {
    let current = current_role(store, actor, user_id).await?;
    if !actor.may_assign(Some(current), role) {
        return Err(not_allowed(ROLE_NOT_ALLOWED).into());
    }
    let audit = actor.audit(
        "member.role_changed",
        format!("{user_id}: {} → {}", current.as_str(), role.as_str()),
        now,
    );
    from_store(
        store
            .change_role(actor.account_id(), user_id, role, audit)
            .await?,
    )?;
    Ok(())
}

/// Removes a member; anyone may remove themselves (leave), except the last owner.
pub async fn remove(state: &AppState, actor: &MemberOf, user_id: &str) -> Outcome<()> {
    remove_in(state.store.as_ref(), actor, user_id, state.clock.now()).await
}

/// [`remove`] against the memberships alone (what its unit tests use).
async fn remove_in(
    store: &dyn MembershipStore,
    actor: &MemberOf,
    user_id: &str,
    now: Timestamp,
) -> Outcome<()> {
    let current = current_role(store, actor, user_id).await?;
    let leaving = user_id == actor.user_id();
    if !actor.may_remove_member(user_id, current) {
        return Err(not_allowed(ROLE_NOT_ALLOWED).into());
    }
    let action = if leaving {
        "member.left"
    } else {
        "member.removed"
    };
    let audit = actor.audit(action, user_id.to_owned(), now);
    // Someone removed by another is signed out of the account: their sessions in it end.
    // Someone who leaves keeps the session they left in (it goes to the account picker).
    let end_sessions = !leaving;
    from_store(
        store
            .remove_member(actor.account_id(), user_id, end_sessions, audit)
            .await?,
    )?;
    Ok(())
}

/// The pending invitation an invitation link (its token's hash) opens, if it is still live.
pub async fn invitation_for_link(state: &AppState, token_hash: &str) -> Outcome<Invitation> {
    state
        .store
        .invitation_by_token(token_hash, state.clock.now())
        .await?
        .ok_or_else(|| dead_invitation().into())
}

/// Whether the invited address must accept through single sign-on (its domain enforces it),
/// for the invitation page to offer that instead of a password.
pub async fn accepted_through_sso(state: &AppState, invitation: &Invitation) -> Outcome<bool> {
    Ok(sso_login::enforced_for(state, &invitation.email)
        .await?
        .is_some())
}

/// Whether the invited address has a user already (they sign in, then join). The link's
/// holder sees this: the link proves the address, so it tells them only about themselves.
pub async fn invited_has_user(state: &AppState, invitation: &Invitation) -> Outcome<bool> {
    Ok(state
        .store
        .user_by_email(&invitation.email)
        .await?
        .is_some())
}

/// What opening "join" on an invitation link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Joined the account; `new_user` carries the session epoch of a user created just now
    /// (the page signs them in).
    Joined {
        user_id: String,
        account_id: String,
        account_name: String,
        new_user: Option<i64>,
    },
    /// The invited address has a user: sign in first, then join.
    SignInFirst(EmailAddress),
    /// The invited address is on a domain where single sign-on is enforced: the person signs
    /// in through this connection's provider and joins then (no password is set or checked).
    ThroughSso {
        connection: Box<SsoConnection>,
        invited: EmailAddress,
    },
}

fn dead_invitation() -> Refusal {
    Refusal::conflict("link_dead", crate::flows::recovery::DEAD_LINK)
}

/// Accepts the invitation whose token hash the link carried: as the signed-in person (whose
/// email must be the invited one), or as a new user with `password` (the link proves the
/// email). The membership, the user and the audit event are one transaction. Someone not
/// signed in whose address is on a domain that enforces single sign-on is sent through the
/// provider instead: enforcement holds at this door too (no password is set, and no
/// password session starts).
pub async fn accept_invitation(
    state: &AppState,
    token_hash: &str,
    signed: Option<&Signed>,
    password: &Secret,
) -> Outcome<Acceptance> {
    let now = state.clock.now();
    let Some(inv) = state.store.invitation_by_token(token_hash, now).await? else {
        return Err(dead_invitation().into());
    };
    let acceptor = match signed {
        Some(person) if person.email() == inv.email.as_str() => Acceptor::Existing {
            user_id: person.user_id().to_owned(),
        },
        Some(person) => {
            return Err(Refusal::conflict(
                "signed_in_as_someone_else",
                format!(
                    "This invitation is for {}, but you are signed in as {}. Sign out, then open the link again.",
                    inv.email, person.email()
                ),
            )
            .into())
        }
        None => {
            if let Some(connection) = sso_login::enforced_for(state, &inv.email).await? {
                return Ok(Acceptance::ThroughSso {
                    connection: Box::new(connection),
                    invited: inv.email,
                });
            }
            if state.store.user_by_email(&inv.email).await?.is_some() {
                return Ok(Acceptance::SignInFirst(inv.email));
            }
            validate_new_password(password, Some(&inv.email))
                .map_err(|message| Refusal::invalid("password", message))?;
            Acceptor::New {
                user_id: new_id(ids::USER),
                password_hash: state.passwords.hash(password).await?,
            }
        }
    };
    let new_user = matches!(acceptor, Acceptor::New { .. });
    let Some((inv, user_id)) = accept(state, token_hash, &inv, acceptor).await? else {
        return Err(dead_invitation().into());
    };
    let new_user = match new_user {
        true => Some(
            state
                .store
                .user_by_id(&user_id)
                .await?
                .map(|u| u.session_epoch)
                .unwrap_or_default(),
        ),
        false => None,
    };
    Ok(Acceptance::Joined {
        user_id,
        account_id: inv.account_id,
        account_name: inv.account_name,
        new_user,
    })
}

/// Accepts `invitation` (read from its link) as `acceptor`, with its audit event; `None`
/// when the link is no longer live.
async fn accept(
    state: &AppState,
    token_hash: &str,
    invitation: &Invitation,
    acceptor: Acceptor,
) -> Result<Option<(Invitation, String)>, FlowError> {
    let user_id = match &acceptor {
        Acceptor::Existing { user_id } | Acceptor::New { user_id, .. } => user_id.clone(),
    };
    let now = state.clock.now();
    let audit = AuditEvent {
        account_id: Some(invitation.account_id.clone()),
        actor_user_id: Some(user_id.clone()),
        action: "member.joined".into(),
        detail: Some(format!(
            "{} as {}",
            invitation.email,
            invitation.role.as_str()
        )),
        at: now,
    };
    let Some(inv) = state
        .store
        .accept_invitation(token_hash, acceptor, now, audit)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((inv, user_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::MemberOf;
    use crate::flows::Stopped;
    use crate::ports::fake::MemoryMemberships;
    use crate::ports::AuditStore;

    const NOW: Timestamp = Timestamp(1_000);

    fn acme() -> MemoryMemberships {
        let store = MemoryMemberships::new();
        store.add_account("acc", "Acme");
        store.add_member("acc", "owner", "owner@acme.test", Role::Owner);
        store.add_member("acc", "admin", "admin@acme.test", Role::Admin);
        store.add_member("acc", "member", "member@acme.test", Role::Member);
        store
    }

    fn who(user: &str, role: Role) -> MemberOf {
        MemberOf::for_tests(user, &format!("{user}@acme.test"), "acc", role)
    }

    fn refusal(outcome: Outcome<()>) -> Refusal {
        match outcome {
            Err(Stopped::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    async fn actions(store: &MemoryMemberships) -> Vec<String> {
        let events = store.audit_events("acc", 100).await.unwrap();
        events.into_iter().map(|e| e.action).collect()
    }

    #[tokio::test]
    async fn an_admin_cannot_touch_an_owner_and_nothing_is_written() {
        let store = acme();
        let admin = who("admin", Role::Admin).as_admin().unwrap();
        let demote = change_role_in(&store, &admin, "owner", Role::Member, NOW).await;
        assert!(matches!(
            refusal(demote),
            Refusal::NotAllowed {
                code: "role_not_allowed",
                ..
            }
        ));
        let promote = change_role_in(&store, &admin, "member", Role::Owner, NOW).await;
        assert!(matches!(refusal(promote), Refusal::NotAllowed { .. }));
        let remove = remove_in(&store, &admin, "owner", NOW).await;
        assert!(matches!(refusal(remove), Refusal::NotAllowed { .. }));
        assert_eq!(
            store.role_in("owner", "acc").await.unwrap(),
            Some(Role::Owner)
        );
        assert!(
            actions(&store).await.is_empty(),
            "a refused change writes no audit event"
        );
    }

    #[tokio::test]
    async fn a_role_change_and_its_audit_event_go_together() {
        let store = acme();
        let admin = who("admin", Role::Admin).as_admin().unwrap();
        change_role_in(&store, &admin, "member", Role::Admin, NOW)
            .await
            .unwrap();
        assert_eq!(
            store.role_in("member", "acc").await.unwrap(),
            Some(Role::Admin)
        );
        assert_eq!(actions(&store).await, vec!["member.role_changed"]);
        // The same role again changes nothing and records nothing.
        change_role_in(&store, &admin, "member", Role::Admin, NOW)
            .await
            .unwrap();
        assert_eq!(actions(&store).await.len(), 1);
    }

    #[tokio::test]
    async fn members_may_leave_but_not_remove_others_and_the_last_owner_stays() {
        let store = acme();
        let member = who("member", Role::Member);
        let other = remove_in(&store, &member, "admin", NOW).await;
        assert!(matches!(refusal(other), Refusal::NotAllowed { .. }));
        remove_in(&store, &member, "member", NOW).await.unwrap();
        assert_eq!(actions(&store).await, vec!["member.left"]);

        let owner = who("owner", Role::Owner);
        let leave = remove_in(&store, &owner, "owner", NOW).await;
        assert!(matches!(
            refusal(leave),
            Refusal::Conflict {
                code: "last_owner",
                ..
            }
        ));
        let ghost = remove_in(&store, &owner, "nobody", NOW).await;
        assert_eq!(refusal(ghost), Refusal::NotFound("member"));
    }

    #[tokio::test]
    async fn a_removed_member_is_signed_out_of_the_account_and_a_leaver_is_not() {
        let store = acme();
        let admin = who("admin", Role::Admin);
        remove_in(&store, &admin, "admin", NOW).await.unwrap();
        assert!(
            store.sessions_ended().is_empty(),
            "leaving keeps the session"
        );

        let store = acme();
        let owner = who("owner", Role::Owner);
        remove_in(&store, &owner, "member", NOW).await.unwrap();
        assert_eq!(
            store.sessions_ended(),
            vec![("acc".to_owned(), "member".to_owned())]
        );
        // A refused removal ends nothing.
        let member = who("member2", Role::Member);
        store.add_member("acc", "member2", "member2@acme.test", Role::Member);
        let refused = remove_in(&store, &member, "admin", NOW).await;
        assert!(matches!(refusal(refused), Refusal::NotAllowed { .. }));
        assert_eq!(store.sessions_ended().len(), 1);
    }
}
