//! Members and invitations: inviting by email with a role, accepting, changing roles and
//! removing people, always keeping at least one owner. Every change is an audit event.
use crate::auth::{AdminOf, MemberOf, Signed};
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids;
use crate::domain::ids::new_id;
use crate::domain::lockout::Hit;
use crate::domain::members::{Acceptor, Invitation, MemberRecord, MembershipChange, NewInvitation};
use crate::domain::roles::Role;
use crate::domain::secret::Secret;
use crate::domain::tokens::{new_link_token, INVITATION_LIFETIME};
use crate::flows::mail::{self, MailKind};
use crate::flows::sign_up::validate_new_password;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::mails;
use crate::ports::{StoreError, StoreResult};
use crate::AppState;

async fn audit(
    state: &AppState,
    actor: &MemberOf,
    action: &str,
    detail: String,
) -> StoreResult<()> {
    state
        .store
        .record_audit(AuditEvent {
            account_id: Some(actor.account_id.clone()),
            actor_user_id: Some(actor.user_id.clone()),
            action: action.into(),
            detail: Some(detail),
            at: state.clock.now(),
        })
        .await
}

/// The account's members, for its owners and admins.
pub async fn list(state: &AppState, admin: &AdminOf) -> StoreResult<Vec<MemberRecord>> {
    state.store.members(&admin.account_id).await
}

/// The account's pending invitations, for its owners and admins.
pub async fn invitations(state: &AppState, admin: &AdminOf) -> StoreResult<Vec<Invitation>> {
    state
        .store
        .invitations(&admin.account_id, state.clock.now())
        .await
}

/// The account's activity log, newest first, for its owners and admins.
pub async fn activity(state: &AppState, admin: &AdminOf) -> StoreResult<Vec<AuditEvent>> {
    state.store.audit_events(&admin.account_id, 200).await
}

/// The member `user_id`, for the page that confirms removing them: anyone may look at
/// leaving themselves; only owners and admins at removing others (the removal itself then
/// applies the finer rule of who may remove whom).
pub async fn removal_target(
    state: &AppState,
    actor: &MemberOf,
    user_id: &str,
) -> Result<Result<MemberRecord, Refusal>, StoreError> {
    if user_id != actor.user_id && actor.as_admin().is_none() {
        return Ok(Err(Refusal::not_allowed(
            "role_not_allowed",
            ROLE_NOT_ALLOWED,
        )));
    }
    let target = state
        .store
        .members(&actor.account_id)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id);
    Ok(target.ok_or(Refusal::NotFound("member")))
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

/// Invites `email_input` with `role`; the answer is the address the invitation went to.
pub async fn invite(
    state: &AppState,
    actor: &AdminOf,
    email_input: &str,
    role: Role,
) -> Outcome<EmailAddress> {
    if !actor.may_assign(None, role) {
        return Err(not_allowed(INVITE_NOT_ALLOWED).into());
    }
    let email =
        EmailAddress::parse(email_input).map_err(|e| Refusal::invalid("email", e.to_string()))?;
    let members = state.store.members(&actor.account_id).await?;
    if members.iter().any(|m| m.email == email.as_str()) {
        return Err(Refusal::Conflict {
            code: "already_member",
            message: format!("{email} is already a member of this account."),
            field: Some("email"),
        }
        .into());
    }
    send_invitation(state, actor, email.clone(), role).await?;
    Ok(email)
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
) -> Outcome<()> {
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
            &format!("invitations:{}", actor.account_id),
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
    let (raw, hash) = new_link_token();
    let now = state.clock.now();
    let id = new_id("inv");
    state
        .store
        .create_invitation(NewInvitation {
            id: id.clone(),
            account_id: actor.account_id.clone(),
            email: email.clone(),
            role,
            token_hash: hash,
            invited_by: Some(actor.user_id.clone()),
            now,
            expires_at: now.plus(INVITATION_LIFETIME),
        })
        .await?;
    let account_name = state
        .store
        .account(&actor.account_id)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let link = state
        .config
        .link(&format!("/invite?token={}", raw.expose()));
    state.send_mail_later(mails::invitation(
        &email,
        &account_name,
        &actor.email,
        role.as_str(),
        &link,
    ));
    audit(
        state,
        actor,
        "invitation.created",
        format!("{email} as {}", role.as_str()),
    )
    .await?;
    Ok(())
}

/// May `actor` manage an invitation with this role? The one rule for resend and revoke.
fn may_manage_invitation(actor: &AdminOf, role: Role) -> bool {
    actor.may_assign(None, role)
}

/// Sends a pending invitation again with a new link (the old link stops working).
pub async fn resend(state: &AppState, actor: &AdminOf, invitation_id: &str) -> Outcome<()> {
    let inv = state
        .store
        .invitation(&actor.account_id, invitation_id, state.clock.now())
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
        .invitation(&actor.account_id, invitation_id, now)
        .await?
        .ok_or(Refusal::NotFound("invitation"))?;
    if !may_manage_invitation(actor, inv.role) {
        return Err(not_allowed(INVITATION_NOT_ALLOWED).into());
    }
    let revoked = state
        .store
        .revoke_invitation(&actor.account_id, invitation_id, now)
        .await?;
    if !revoked {
        return Err(Refusal::NotFound("invitation").into());
    }
    audit(state, actor, "invitation.revoked", inv.email.to_string()).await?;
    Ok(())
}

async fn current_role(state: &AppState, actor: &MemberOf, user_id: &str) -> Outcome<Role> {
    state
        .store
        .role_in(user_id, &actor.account_id)
        .await?
        .ok_or(Refusal::NotFound("member").into())
}

pub async fn change_role(
    state: &AppState,
    actor: &AdminOf,
    user_id: &str,
    role: Role,
) -> Outcome<()> {
    let current = current_role(state, actor, user_id).await?;
    if !actor.may_assign(Some(current), role) {
        return Err(not_allowed(ROLE_NOT_ALLOWED).into());
    }
    from_store(
        state
            .store
            .change_role(&actor.account_id, user_id, role)
            .await?,
    )?;
    if current != role {
        audit(
            state,
            actor,
            "member.role_changed",
            format!("{user_id}: {} → {}", current.as_str(), role.as_str()),
        )
        .await?;
    }
    Ok(())
}

/// Removes a member; anyone may remove themselves (leave), except the last owner.
pub async fn remove(state: &AppState, actor: &MemberOf, user_id: &str) -> Outcome<()> {
    let current = current_role(state, actor, user_id).await?;
    let leaving = user_id == actor.user_id;
    if !leaving
        && !actor
            .as_admin()
            .is_some_and(|admin| admin.may_remove(current))
    {
        return Err(not_allowed(ROLE_NOT_ALLOWED).into());
    }
    from_store(
        state
            .store
            .remove_member(&actor.account_id, user_id)
            .await?,
    )?;
    let action = if leaving {
        "member.left"
    } else {
        "member.removed"
    };
    audit(state, actor, action, user_id.to_owned()).await?;
    Ok(())
}

/// The pending invitation an invitation link (its token's hash) opens, if it is still live.
pub async fn invitation_for_link(
    state: &AppState,
    token_hash: &str,
) -> StoreResult<Option<Invitation>> {
    state
        .store
        .invitation_by_token(token_hash, state.clock.now())
        .await
}

/// Whether the invited address has a user already (they sign in, then join). The link's
/// holder sees this: the link proves the address, so it tells them only about themselves.
pub async fn invited_has_user(state: &AppState, invitation: &Invitation) -> StoreResult<bool> {
    Ok(state
        .store
        .user_by_email(&invitation.email)
        .await?
        .is_some())
}

/// What became of opening "join" on an invitation link.
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
    /// The link is invalid, expired, revoked or used.
    DeadLink,
    /// Someone else is signed in in this browser.
    SignedInAsSomeoneElse {
        invited: EmailAddress,
        signed_in_as: String,
    },
    /// The invited address has a user: sign in first, then join.
    SignInFirst(EmailAddress),
    /// The password chosen for a new user was refused.
    InvalidPassword(String),
}

/// Accepts the invitation whose token hash the link carried: as the signed-in person (whose
/// email must be the invited one), or as a new user with `password` (the link proves the
/// email). The membership, the user and the audit event are one transaction.
pub async fn accept_invitation(
    state: &AppState,
    token_hash: &str,
    signed: Option<&Signed>,
    password: &Secret,
) -> Result<Acceptance, FlowError> {
    let now = state.clock.now();
    let Some(inv) = state.store.invitation_by_token(token_hash, now).await? else {
        return Ok(Acceptance::DeadLink);
    };
    let acceptor = match signed {
        Some(person) if person.email == inv.email.as_str() => Acceptor::Existing {
            user_id: person.user_id().to_owned(),
        },
        Some(person) => {
            return Ok(Acceptance::SignedInAsSomeoneElse {
                invited: inv.email,
                signed_in_as: person.email.clone(),
            })
        }
        None => {
            if state.store.user_by_email(&inv.email).await?.is_some() {
                return Ok(Acceptance::SignInFirst(inv.email));
            }
            if let Err(message) = validate_new_password(password, Some(&inv.email)) {
                return Ok(Acceptance::InvalidPassword(message));
            }
            Acceptor::New {
                user_id: new_id(ids::USER),
                password_hash: state.passwords.hash(password).await?,
            }
        }
    };
    let new_user = matches!(acceptor, Acceptor::New { .. });
    let Some((inv, user_id)) = accept(state, token_hash, acceptor).await? else {
        return Ok(Acceptance::DeadLink);
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

/// Accepts an invitation as `acceptor`; `None` when the link is no longer live.
async fn accept(
    state: &AppState,
    token_hash: &str,
    acceptor: Acceptor,
) -> Result<Option<(Invitation, String)>, FlowError> {
    let user_id = match &acceptor {
        Acceptor::Existing { user_id } | Acceptor::New { user_id, .. } => user_id.clone(),
    };
    let now = state.clock.now();
    let Some(inv) = state
        .store
        .accept_invitation(token_hash, acceptor, now)
        .await?
    else {
        return Ok(None);
    };
    state
        .store
        .record_audit(AuditEvent {
            account_id: Some(inv.account_id.clone()),
            actor_user_id: Some(user_id.clone()),
            action: "member.joined".into(),
            detail: Some(format!("{} as {}", inv.email, inv.role.as_str())),
            at: now,
        })
        .await?;
    Ok(Some((inv, user_id)))
}
