//! Members and invitations: inviting by email with a role, accepting, changing roles and
//! removing people, always keeping at least one owner. Every change is an audit event.
use crate::auth::{AdminOf, MemberOf, Signed};
use crate::domain::audit::{AuditEntry, AuditEvent, AuditFilter};
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, InvitationId, UserId};
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
use crate::paths;
use crate::ports::MembershipStore;
use crate::AppState;

/// The account's members, newest user first, a page at a time, for its owners and admins.
pub async fn list(
    state: &AppState,
    admin: &AdminOf,
    page: &PageRequest,
) -> Outcome<Page<MemberRecord>> {
    let all = state.store.members(admin.account_id()).await?;
    Page::of_known(all, page, |m| m.user_id.as_str())
        .ok_or_else(|| Refusal::NotFound("member").into())
}

/// One member of the account, for its owners and admins.
pub async fn member(state: &AppState, admin: &AdminOf, user_id: &UserId) -> Outcome<MemberRecord> {
    find_member(state, admin.account_id(), user_id).await
}

async fn find_member(
    state: &AppState,
    account_id: &AccountId,
    user_id: &UserId,
) -> Outcome<MemberRecord> {
    state
        .store
        .members(account_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == *user_id)
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
    Page::of_known(all, page, |i| i.id.as_str())
        .ok_or_else(|| Refusal::NotFound("invitation").into())
}

/// The account's activity log, newest first, for its owners and admins.
pub async fn activity(
    state: &AppState,
    admin: &AdminOf,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Outcome<Page<AuditEntry>> {
    let rows = state
        .store
        .account_log(admin.account_id(), filter, page)
        .await?;
    Ok(Page::from_fetched(rows, page))
}

/// The member `user_id`, for the page that confirms removing them: anyone may look at
/// leaving themselves; only owners and admins at removing others (the removal itself then
/// applies the finer rule of who may remove whom).
pub async fn removal_target(
    state: &AppState,
    actor: &MemberOf,
    user_id: &UserId,
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
    let id = InvitationId::new();
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
        .link(&paths::with_token(paths::INVITE, raw.expose()));
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
pub async fn resend(
    state: &AppState,
    actor: &AdminOf,
    invitation_id: &InvitationId,
) -> Outcome<Invitation> {
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
pub async fn revoke(
    state: &AppState,
    actor: &AdminOf,
    invitation_id: &InvitationId,
) -> Outcome<()> {
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
    user_id: &UserId,
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
    user_id: &UserId,
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
    user_id: &UserId,
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
pub async fn remove(state: &AppState, actor: &MemberOf, user_id: &UserId) -> Outcome<()> {
    // Removing someone else is a sensitive change; leaving is not.
    if user_id != actor.user_id() {
        actor.recently_authenticated(state)?;
    }
    remove_in(state.store.as_ref(), actor, user_id, state.clock.now()).await
}

/// [`remove`] against the memberships alone (what its unit tests use).
async fn remove_in(
    store: &dyn MembershipStore,
    actor: &MemberOf,
    user_id: &UserId,
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
    let audit = actor.audit(action, user_id.to_string(), now);
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
        user_id: UserId,
        account_id: AccountId,
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
            user_id: person.user_id().clone(),
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
                user_id: UserId::new(),
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
) -> Result<Option<(Invitation, UserId)>, FlowError> {
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
    use std::time::Duration;

    use super::*;
    use crate::domain::users::NewPendingSignUp;
    use crate::ports::prelude::*;
    use crate::testing::{code, link_token, refused, refused_code, Harness, PASSWORD};

    /// An account with an owner, an admin and a member (joined in that order).
    struct Acme {
        account: AccountId,
        owner: MemberOf,
        admin: MemberOf,
        member: MemberOf,
    }

    fn acme(h: &Harness) -> Acme {
        let account = h.account("Acme");
        Acme {
            owner: h.member(&account, "owner@acme.test", Role::Owner),
            admin: h.member(&account, "admin@acme.test", Role::Admin),
            member: h.member(&account, "member@acme.test", Role::Member),
            account,
        }
    }

    fn admin(m: &MemberOf) -> AdminOf {
        m.as_admin().unwrap()
    }

    fn page(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
            ending_before: None,
        }
    }

    fn before(limit: u32, cursor: &str) -> PageRequest {
        PageRequest {
            limit,
            starting_after: None,
            ending_before: Some(cursor.to_owned()),
        }
    }

    fn member_actions(h: &Harness) -> Vec<String> {
        h.store
            .audit_actions()
            .into_iter()
            .filter(|a| a.starts_with("member."))
            .collect()
    }

    #[tokio::test]
    async fn an_admin_cannot_touch_an_owner_and_nothing_is_written() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        // Against the memberships alone, as the rule needs no more.
        let memberships: &dyn MembershipStore = h.store.as_ref();
        let demote = change_role_in(
            memberships,
            &admin_of,
            a.owner.user_id(),
            Role::Member,
            h.now(),
        );
        assert_eq!(refused_code(demote.await), "role_not_allowed");
        let promote = change_role(&h.state, &admin_of, a.member.user_id(), Role::Owner).await;
        assert_eq!(refused_code(promote), "role_not_allowed");
        let removal = remove_in(memberships, &a.admin, a.owner.user_id(), h.now()).await;
        assert_eq!(refused_code(removal), "role_not_allowed");
        assert_eq!(
            h.store
                .role_in(a.owner.user_id(), &a.account)
                .await
                .unwrap(),
            Some(Role::Owner)
        );
        assert!(
            member_actions(&h).is_empty(),
            "a refused change writes no event"
        );
    }

    #[tokio::test]
    async fn a_role_change_answers_the_member_and_writes_its_event_once() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let changed = change_role(&h.state, &admin_of, a.member.user_id(), Role::Admin)
            .await
            .unwrap();
        assert_eq!(changed.role, Role::Admin);
        assert_eq!(changed.email, "member@acme.test");
        assert_eq!(member_actions(&h), vec!["member.role_changed"]);
        // The same role again changes nothing and records nothing.
        change_role(&h.state, &admin_of, a.member.user_id(), Role::Admin)
            .await
            .unwrap();
        assert_eq!(member_actions(&h).len(), 1);
        let ghost = change_role(&h.state, &admin_of, &"usr_nobody".into(), Role::Admin).await;
        assert_eq!(refused(ghost), Refusal::NotFound("member"));
    }

    #[tokio::test]
    async fn the_last_owner_can_neither_step_down_nor_leave() {
        let h = Harness::new();
        let a = acme(&h);
        let owner = admin(&a.owner);
        let step_down = change_role(&h.state, &owner, a.owner.user_id(), Role::Admin).await;
        assert_eq!(refused_code(step_down), "last_owner");
        let leave = remove(&h.state, &a.owner, a.owner.user_id()).await;
        assert_eq!(refused_code(leave), "last_owner");
        assert!(member_actions(&h).is_empty());
        // With a second owner, the first may go.
        change_role(&h.state, &owner, a.admin.user_id(), Role::Owner)
            .await
            .unwrap();
        remove(&h.state, &a.owner, a.owner.user_id()).await.unwrap();
        assert_eq!(
            h.store
                .role_in(a.owner.user_id(), &a.account)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn members_may_leave_but_not_remove_others() {
        let h = Harness::new();
        let a = acme(&h);
        let other = remove(&h.state, &a.member, a.admin.user_id()).await;
        assert_eq!(refused_code(other), "role_not_allowed");
        remove(&h.state, &a.member, a.member.user_id())
            .await
            .unwrap();
        assert_eq!(member_actions(&h), vec!["member.left"]);
        let ghost = remove(&h.state, &a.owner, &"usr_nobody".into()).await;
        assert_eq!(refused(ghost), Refusal::NotFound("member"));
    }

    #[tokio::test]
    async fn a_removed_member_is_signed_out_of_the_account_and_a_leaver_is_not() {
        let h = Harness::new();
        let a = acme(&h);
        let elsewhere = h.account("Elsewhere");
        let store = &h.store;
        store.add_session(a.admin.user_id(), Some(&a.account), "password");
        store.add_session(a.member.user_id(), Some(&a.account), "password");
        store.add_session(a.member.user_id(), Some(&elsewhere), "password");
        remove(&h.state, &a.admin, a.admin.user_id()).await.unwrap();
        assert_eq!(store.sessions().len(), 3, "leaving keeps the session");
        remove(&h.state, &a.owner, a.member.user_id())
            .await
            .unwrap();
        let left: Vec<_> = store
            .sessions()
            .into_iter()
            .map(|s| (s.user_id, s.account_id))
            .collect();
        assert_eq!(
            left,
            vec![
                (a.admin.user_id().clone(), Some(a.account.clone())),
                (a.member.user_id().clone(), Some(elsewhere)),
            ],
            "only the removed member's sessions in this account end"
        );
    }

    #[tokio::test]
    async fn an_admin_made_a_member_where_sso_is_enforced_loses_password_sessions() {
        let h = Harness::new();
        let account = h.account("Corp");
        let owner = admin(&h.member(&account, "owner@corp.test", Role::Owner));
        let ada = h.member(&account, "ada@corp.test", Role::Admin);
        h.sso(&account, &["corp.test"], true).await;
        h.store
            .add_session(ada.user_id(), Some(&account), "password");
        h.store.add_session(ada.user_id(), Some(&account), "sso");
        change_role(&h.state, &owner, ada.user_id(), Role::Member)
            .await
            .unwrap();
        let methods: Vec<String> = h.store.sessions().into_iter().map(|s| s.method).collect();
        assert_eq!(methods, vec!["sso"]);
    }

    #[tokio::test]
    async fn members_come_a_page_at_a_time_newest_first() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let first = list(&h.state, &admin_of, &page(2, None)).await.unwrap();
        let ids: Vec<&str> = first.items.iter().map(|m| m.user_id.as_str()).collect();
        assert_eq!(
            ids,
            vec![a.member.user_id().as_str(), a.admin.user_id().as_str()]
        );
        assert!(first.has_more);
        let rest = list(
            &h.state,
            &admin_of,
            &page(2, Some(a.admin.user_id().as_str())),
        )
        .await
        .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].user_id, a.owner.user_id());
        assert!(!rest.has_more);
        let back = list(&h.state, &admin_of, &before(2, a.owner.user_id().as_str()))
            .await
            .unwrap();
        assert_eq!(
            back.items, first.items,
            "back before the last page: the first"
        );
        assert!(!back.has_more);
    }

    #[tokio::test]
    async fn a_member_of_another_account_is_not_found() {
        let h = Harness::new();
        let a = acme(&h);
        let other = h.account("Other");
        let stranger = h.member(&other, "x@other.test", Role::Owner);
        let looked_up = member(&h.state, &admin(&a.admin), stranger.user_id()).await;
        assert_eq!(refused(looked_up), Refusal::NotFound("member"));
        let removed = remove(&h.state, &a.owner, stranger.user_id()).await;
        assert_eq!(refused(removed), Refusal::NotFound("member"));
        assert_eq!(
            h.store.role_in(stranger.user_id(), &other).await.unwrap(),
            Some(Role::Owner)
        );
    }

    #[tokio::test]
    async fn only_admins_look_at_removing_others_and_anyone_at_leaving() {
        let h = Harness::new();
        let a = acme(&h);
        let other = removal_target(&h.state, &a.member, a.admin.user_id()).await;
        assert_eq!(refused(other), Refusal::admins_only());
        let me = removal_target(&h.state, &a.member, a.member.user_id())
            .await
            .unwrap();
        assert_eq!(me.email, "member@acme.test");
        assert!(removal_target(&h.state, &a.admin, a.member.user_id())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn an_invitation_is_stored_mailed_and_audited() {
        let h = Harness::new();
        let a = acme(&h);
        let sent = invite(&h.state, &admin(&a.admin), "New@Ext.test", Role::Admin)
            .await
            .unwrap();
        assert_eq!(sent.email.as_str(), "new@ext.test");
        assert_eq!(
            (sent.role, sent.account_name.as_str()),
            (Role::Admin, "Acme")
        );
        h.settle().await;
        let mails = h.mails_to("new@ext.test");
        assert_eq!(mails.len(), 1);
        assert!(mails[0].text.contains("admin@acme.test"));
        let opened = invitation_for_link(&h.state, &link_token(&mails[0]))
            .await
            .unwrap();
        assert_eq!(opened.id, sent.id);
        assert!(h
            .store
            .audit_actions()
            .contains(&"invitation.created".to_owned()));
    }

    #[tokio::test]
    async fn invitations_are_refused_beyond_the_role_to_members_and_to_bad_addresses() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let owner = invite(&h.state, &admin_of, "boss@ext.test", Role::Owner).await;
        assert_eq!(refused_code(owner), "role_not_allowed");
        let member_again =
            refused(invite(&h.state, &admin_of, "member@acme.test", Role::Member).await);
        assert_eq!(
            (code(&member_again), member_again.field()),
            ("already_member", Some("email"))
        );
        let junk = refused(invite(&h.state, &admin_of, "not an email", Role::Member).await);
        assert_eq!(junk.field(), Some("email"));
        h.settle().await;
        assert!(h.mailer.sent().is_empty());
        assert!(invitations(&h.state, &admin_of, &page(10, None))
            .await
            .unwrap()
            .items
            .is_empty());
    }

    #[tokio::test]
    async fn one_invitation_mail_a_minute_per_mailbox() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        invite(&h.state, &admin_of, "a@ext.test", Role::Member)
            .await
            .unwrap();
        // Sub-addressing spells the same mailbox.
        let again = invite(&h.state, &admin_of, "a+team@ext.test", Role::Member).await;
        assert_eq!(refused_code(again), "recipient_recently_emailed");
        h.advance(Duration::from_secs(61));
        invite(&h.state, &admin_of, "a+team@ext.test", Role::Member)
            .await
            .unwrap();
        h.settle().await;
        assert_eq!(h.mailer.sent().len(), 2);
    }

    #[tokio::test]
    async fn an_account_sends_so_many_invitations_a_day() {
        let h = Harness::with_config(|c| c.invitations_per_day = 2);
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        for email in ["a@ext.test", "b@ext.test"] {
            invite(&h.state, &admin_of, email, Role::Member)
                .await
                .unwrap();
        }
        let third = refused(invite(&h.state, &admin_of, "c@ext.test", Role::Member).await);
        assert_eq!(code(&third), "invitation_limit_reached");
        assert!(third.message().starts_with("This account"));
        h.advance(Duration::from_secs(24 * 3600));
        invite(&h.state, &admin_of, "d@ext.test", Role::Member)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_person_sends_so_many_invitations_a_day_across_their_accounts() {
        let h = Harness::with_config(|c| c.floods.invitations_per_person_per_day = 2);
        let a = acme(&h);
        let second = h.account("Second");
        h.store
            .add_member(&second, a.admin.user_id(), a.admin.email(), Role::Admin);
        let there = MemberOf::for_tests(a.admin.user_id(), a.admin.email(), &second, Role::Admin);
        invite(&h.state, &admin(&a.admin), "a@ext.test", Role::Member)
            .await
            .unwrap();
        invite(&h.state, &admin(&there), "b@ext.test", Role::Member)
            .await
            .unwrap();
        let third = refused(invite(&h.state, &admin(&there), "c@ext.test", Role::Member).await);
        assert_eq!(code(&third), "invitation_limit_reached");
        assert!(third.message().starts_with("You have sent"));
        // Another person of the account still may.
        invite(&h.state, &admin(&a.owner), "d@ext.test", Role::Member)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn invitations_come_a_page_at_a_time_newest_first() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let mut ids = Vec::new();
        for email in ["a@ext.test", "b@ext.test", "c@ext.test"] {
            ids.push(
                invite(&h.state, &admin_of, email, Role::Member)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let first = invitations(&h.state, &admin_of, &page(2, None))
            .await
            .unwrap();
        let got: Vec<&str> = first.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str()]);
        assert!(first.has_more);
        let rest = invitations(&h.state, &admin_of, &page(2, Some(ids[1].as_str())))
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert_eq!(rest.items[0].id, ids[0]);
        assert!(!rest.has_more);
        let back = invitations(&h.state, &admin_of, &before(1, ids[0].as_str()))
            .await
            .unwrap();
        let got: Vec<&str> = back.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(got, vec![ids[1].as_str()]);
        assert!(back.has_more, "ids[2] is newer");
    }

    #[tokio::test]
    async fn resending_gives_a_new_link_and_the_old_one_dies() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let first = invite(&h.state, &admin_of, "new@ext.test", Role::Member)
            .await
            .unwrap();
        let too_soon = resend(&h.state, &admin_of, &first.id).await;
        assert_eq!(refused_code(too_soon), "recipient_recently_emailed");
        h.advance(Duration::from_secs(61));
        let second = resend(&h.state, &admin_of, &first.id).await.unwrap();
        assert_ne!(second.id, first.id);
        h.settle().await;
        let mails = h.mails_to("new@ext.test");
        assert_eq!(mails.len(), 2);
        let old = invitation_for_link(&h.state, &link_token(&mails[0])).await;
        assert_eq!(refused_code(old), "link_dead");
        assert!(invitation_for_link(&h.state, &link_token(&mails[1]))
            .await
            .is_ok());
        let gone = resend(&h.state, &admin_of, &first.id).await;
        assert_eq!(refused(gone), Refusal::NotFound("invitation"));
    }

    #[tokio::test]
    async fn an_admin_cannot_resend_or_revoke_an_invitation_to_be_owner() {
        let h = Harness::new();
        let a = acme(&h);
        let for_owner = invite(&h.state, &admin(&a.owner), "boss@ext.test", Role::Owner)
            .await
            .unwrap();
        h.advance(Duration::from_secs(61));
        let admin_of = admin(&a.admin);
        let resent = resend(&h.state, &admin_of, &for_owner.id).await;
        assert_eq!(refused_code(resent), "role_not_allowed");
        let revoked = revoke(&h.state, &admin_of, &for_owner.id).await;
        assert_eq!(refused_code(revoked), "role_not_allowed");
        assert_eq!(
            invitations(&h.state, &admin_of, &page(10, None))
                .await
                .unwrap()
                .items
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn revoking_kills_the_link_at_once() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        let sent = invite(&h.state, &admin_of, "new@ext.test", Role::Member)
            .await
            .unwrap();
        revoke(&h.state, &admin_of, &sent.id).await.unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("new@ext.test")[0]);
        assert_eq!(
            refused_code(invitation_for_link(&h.state, &link).await),
            "link_dead"
        );
        let accepted = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(accepted), "link_dead");
        assert!(h
            .store
            .audit_actions()
            .contains(&"invitation.revoked".to_owned()));
        let again = revoke(&h.state, &admin_of, &sent.id).await;
        assert_eq!(refused(again), Refusal::NotFound("invitation"));
    }

    #[tokio::test]
    async fn a_new_user_chooses_the_password_behind_the_link_once() {
        let h = Harness::new();
        let a = acme(&h);
        invite(&h.state, &admin(&a.admin), "new@ext.test", Role::Admin)
            .await
            .unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("new@ext.test")[0]);
        // A sign-up the address had pending dies: the invitation proved the mailbox.
        h.store
            .put_pending_sign_up(NewPendingSignUp {
                email: EmailAddress::parse("new@ext.test").unwrap(),
                token_hash: "pending".into(),
                expires_at: h.now().plus(Duration::from_secs(3600)),
                now: h.now(),
            })
            .await
            .unwrap();
        let joined = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD))
            .await
            .unwrap();
        let Acceptance::Joined {
            user_id,
            account_id,
            new_user,
            ..
        } = joined
        else {
            panic!("expected to join, got {joined:?}");
        };
        assert_eq!(
            (account_id.as_str(), new_user),
            (a.account.as_str(), Some(0))
        );
        assert_eq!(
            h.store.role_in(&user_id, &a.account).await.unwrap(),
            Some(Role::Admin)
        );
        let user = h.store.user_by_id(&user_id).await.unwrap().unwrap();
        let verdict = h
            .state
            .passwords
            .verify(&Secret::new(PASSWORD), user.password_hash.as_deref())
            .await
            .unwrap();
        assert!(matches!(
            verdict,
            crate::hashing::Verification::Match { .. }
        ));
        assert_eq!(h.store.pending_sign_ups(), 0);
        assert!(h
            .store
            .audit_actions()
            .contains(&"member.joined".to_owned()));
        let again = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(again), "link_dead");
    }

    #[tokio::test]
    async fn accepting_checks_the_password_the_person_and_the_link() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        invite(&h.state, &admin_of, "new@ext.test", Role::Member)
            .await
            .unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("new@ext.test")[0]);
        let weak =
            refused(accept_invitation(&h.state, &link, None, &Secret::new("password")).await);
        assert_eq!(weak.field(), Some("password"));
        let someone_else = Harness::signed(&a.member);
        let wrong = accept_invitation(&h.state, &link, Some(&someone_else), &Secret::new("")).await;
        assert_eq!(refused_code(wrong), "signed_in_as_someone_else");
        assert_eq!(h.store.user_count(), 3, "no user was created");
        // The link outlives the refusals, and not its seven days.
        assert!(invitation_for_link(&h.state, &link).await.is_ok());
        h.advance(crate::domain::tokens::INVITATION_LIFETIME);
        let late = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD)).await;
        assert_eq!(refused_code(late), "link_dead");
    }

    #[tokio::test]
    async fn someone_with_a_user_signs_in_first_then_joins() {
        let h = Harness::new();
        let a = acme(&h);
        let (user_id, _) = h.signed_up("known@ext.test", Some(PASSWORD)).await;
        invite(&h.state, &admin(&a.admin), "known@ext.test", Role::Member)
            .await
            .unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("known@ext.test")[0]);
        let invitation = invitation_for_link(&h.state, &link).await.unwrap();
        assert!(invited_has_user(&h.state, &invitation).await.unwrap());
        let anonymous = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD))
            .await
            .unwrap();
        assert!(
            matches!(anonymous, Acceptance::SignInFirst(ref e) if e.as_str() == "known@ext.test")
        );
        let signed = Signed::for_tests(&user_id, "known@ext.test", None);
        let joined = accept_invitation(&h.state, &link, Some(&signed), &Secret::new(""))
            .await
            .unwrap();
        assert!(matches!(joined, Acceptance::Joined { new_user: None, .. }));
        assert_eq!(
            h.store.role_in(&user_id, &a.account).await.unwrap(),
            Some(Role::Member)
        );
    }

    #[tokio::test]
    async fn where_sso_is_enforced_an_invitation_is_accepted_through_the_provider() {
        let h = Harness::new();
        let a = acme(&h);
        let connection = h.sso(&a.account, &["corp.test"], true).await;
        invite(&h.state, &admin(&a.admin), "bob@corp.test", Role::Member)
            .await
            .unwrap();
        h.settle().await;
        let link = link_token(&h.mails_to("bob@corp.test")[0]);
        let invitation = invitation_for_link(&h.state, &link).await.unwrap();
        assert!(accepted_through_sso(&h.state, &invitation).await.unwrap());
        let through = accept_invitation(&h.state, &link, None, &Secret::new(PASSWORD))
            .await
            .unwrap();
        let Acceptance::ThroughSso { connection: c, .. } = through else {
            panic!("expected single sign-on, got {through:?}");
        };
        assert_eq!(c.id, connection.id);
        assert_eq!(h.store.user_count(), 3, "no password user was created");
        assert!(
            invitation_for_link(&h.state, &link).await.is_ok(),
            "still live"
        );
    }

    #[tokio::test]
    async fn the_activity_log_is_newest_first() {
        let h = Harness::new();
        let a = acme(&h);
        let admin_of = admin(&a.admin);
        invite(&h.state, &admin_of, "new@ext.test", Role::Member)
            .await
            .unwrap();
        h.advance(Duration::from_secs(1));
        change_role(&h.state, &admin_of, a.member.user_id(), Role::Admin)
            .await
            .unwrap();
        let everything = AuditFilter::default();
        let log = activity(&h.state, &admin_of, &everything, &page(10, None))
            .await
            .unwrap();
        let actions: Vec<&str> = log.items.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(actions, vec!["member.role_changed", "invitation.created"]);
        assert_eq!(
            log.items[0].event.actor_user_id.as_ref(),
            Some(a.admin.user_id())
        );

        // A page at a time, after a cursor; narrowed by kind and by person.
        let first = activity(&h.state, &admin_of, &everything, &page(1, None))
            .await
            .unwrap();
        assert!(first.has_more);
        let cursor = first.items[0].id.clone();
        let second = activity(&h.state, &admin_of, &everything, &page(1, Some(&cursor)))
            .await
            .unwrap();
        assert_eq!(second.items[0].event.action, "invitation.created");
        assert!(!second.has_more);
        let back = activity(
            &h.state,
            &admin_of,
            &everything,
            &before(5, &second.items[0].id),
        )
        .await
        .unwrap();
        assert_eq!(back.items, first.items, "the newer event");
        assert!(!back.has_more, "and nothing before it");
        let invitations = AuditFilter {
            kind: AuditFilter::kind_of("invitation"),
            actor: None,
        };
        let only = activity(&h.state, &admin_of, &invitations, &page(10, None))
            .await
            .unwrap();
        assert_eq!(only.items.len(), 1);
        let by_member = AuditFilter {
            kind: None,
            actor: Some(a.member.user_id().clone()),
        };
        let none = activity(&h.state, &admin_of, &by_member, &page(10, None))
            .await
            .unwrap();
        assert!(none.items.is_empty());
    }

    #[tokio::test]
    async fn the_log_shows_members_sign_ins_and_no_one_else_s() {
        use crate::flows::sign_in::sign_in_with_password;
        let h = Harness::new();
        let acme = h.account("Acme");
        let ada = h.user_in(&acme, "ada@acme.test", Role::Owner).await;
        let admin_of = MemberOf::for_tests(&ada, "ada@acme.test", &acme, Role::Owner)
            .admin()
            .unwrap();
        let (_, _) = h.signed_up("eve@else.test", Some(PASSWORD)).await;
        for (email, password) in [
            ("ada@acme.test", "wrong password"),
            ("eve@else.test", "wrong password"),
        ] {
            let _ = sign_in_with_password(
                &h.state,
                email,
                &Secret::new(password.to_owned()),
                "203.0.113.7",
                None,
            )
            .await;
        }
        h.settle().await;
        let log = activity(
            &h.state,
            &admin_of,
            &AuditFilter::default(),
            &page(10, None),
        )
        .await
        .unwrap();
        let lines: Vec<(String, Option<String>)> = log
            .items
            .iter()
            .map(|e| (e.event.action.clone(), e.event.detail.clone()))
            .collect();
        assert_eq!(
            lines,
            vec![(
                "sign_in.failed".to_owned(),
                Some("with a wrong password, from 203.0.113.7".to_owned())
            )],
            "Ada's failure only: Eve is no member"
        );
    }

    #[tokio::test]
    async fn a_broken_store_stops_a_flow_as_broken() {
        let h = Harness::new();
        let a = acme(&h);
        h.store.set_broken(true);
        let outcome = list(&h.state, &admin(&a.admin), &page(10, None)).await;
        assert!(matches!(outcome, Err(crate::flows::Stopped::Broken(_))));
    }

    #[tokio::test]
    async fn removing_someone_needs_a_recent_sign_in_but_leaving_does_not() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let owner = h.member(&acme, "owner@acme.test", Role::Owner);
        let dev = h.member(&acme, "dev@acme.test", Role::Member);
        let then = h.now();
        h.advance(std::time::Duration::from_secs(11 * 60));
        let stale_owner = owner.clone().authenticated_at_for_tests(then);
        assert_eq!(
            refused(remove(&h.state, &stale_owner, dev.user_id()).await),
            crate::domain::reauth::required()
        );
        let stale_dev = dev.clone().authenticated_at_for_tests(then);
        remove(&h.state, &stale_dev, dev.user_id()).await.unwrap();
    }
}
