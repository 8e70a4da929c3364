//! Members and invitations: inviting by email with a role, accepting, changing roles and
//! removing people, always keeping at least one owner. Every change is an audit event.
use crate::domain::audit::AuditEvent;
use crate::domain::email::EmailAddress;
use crate::domain::ids::new_id;
use crate::domain::lockout::Hit;
use crate::domain::members::{Acceptor, Invitation, MembershipChange, NewInvitation};
use crate::domain::roles::Role;
use crate::domain::roles::{can_administer, can_assign, can_remove};
use crate::domain::tokens::{generate_token, token_hash, INVITATION_LIFETIME};
use crate::flows::mail::{self, MailKind};
use crate::flows::FlowError;
use crate::mails;
use crate::ports::{StoreError, StoreResult};
use crate::AppState;

pub use crate::flows::actor::Actor;

async fn audit(state: &AppState, actor: &Actor, action: &str, detail: String) -> StoreResult<()> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteResult {
    Sent(EmailAddress),
    InvalidEmail(String),
    AlreadyMember(EmailAddress),
    NotAllowed,
    /// An invitation was emailed to this address less than the mail interval ago.
    RecipientThrottled(EmailAddress),
    /// The account has sent its invitations for today.
    DailyLimitReached,
}

impl InviteResult {
    /// The message for a refused invitation.
    pub fn message(&self) -> String {
        match self {
            InviteResult::Sent(to) => format!("Invitation sent to {to}."),
            InviteResult::InvalidEmail(m) => m.clone(),
            InviteResult::AlreadyMember(who) => {
                format!("{who} is already a member of this account.")
            }
            InviteResult::NotAllowed => {
                "Your role does not allow inviting someone with that role.".into()
            }
            InviteResult::RecipientThrottled(to) => {
                format!("An email was sent to {to} less than a minute ago. Try again in a minute.")
            }
            InviteResult::DailyLimitReached => {
                "This account has sent as many invitations as it may today. Try again tomorrow."
                    .into()
            }
        }
    }
}

pub async fn invite(
    state: &AppState,
    actor: &Actor,
    email_input: &str,
    role: Role,
) -> Result<InviteResult, FlowError> {
    if !can_administer(actor.role) || !can_assign(actor.role, None, role) {
        return Ok(InviteResult::NotAllowed);
    }
    let email = match EmailAddress::parse(email_input) {
        Ok(e) => e,
        Err(e) => return Ok(InviteResult::InvalidEmail(e.to_string())),
    };
    let members = state.store.members(&actor.account_id).await?;
    if members.iter().any(|m| m.email == email.as_str()) {
        return Ok(InviteResult::AlreadyMember(email));
    }
    send_invitation(state, actor, email, role).await
}

/// One day: the window of the per-account invitation limit.
const INVITATION_DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Stores the invitation and emails its link, within the per-recipient mail interval and the
/// account's daily limit (both checked before anything is written).
async fn send_invitation(
    state: &AppState,
    actor: &Actor,
    email: EmailAddress,
    role: Role,
) -> Result<InviteResult, FlowError> {
    if !mail::take_slot(state, MailKind::Invitation, &email).await? {
        return Ok(InviteResult::RecipientThrottled(email));
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
        return Ok(InviteResult::DailyLimitReached);
    }
    let raw = generate_token();
    let hash = token_hash(raw.expose())
        .ok_or_else(|| StoreError("generated token failed its own format check".into()))?;
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
    Ok(InviteResult::Sent(email))
}

/// What became of a pending invitation someone acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingInvitation {
    Done,
    /// Not pending any more (accepted, revoked, expired) or not of this account.
    NotFound,
    NotAllowed,
    /// Resending was refused by the mail interval or the daily limit.
    Refused(InviteResult),
}

/// May `actor` manage an invitation with this role? The one rule for resend and revoke.
fn may_manage_invitation(actor: &Actor, role: Role) -> bool {
    can_administer(actor.role) && can_assign(actor.role, None, role)
}

/// Sends a pending invitation again with a new link (the old link stops working).
pub async fn resend(
    state: &AppState,
    actor: &Actor,
    invitation_id: &str,
) -> Result<PendingInvitation, FlowError> {
    let Some(inv) = state
        .store
        .invitation(&actor.account_id, invitation_id, state.clock.now())
        .await?
    else {
        return Ok(PendingInvitation::NotFound);
    };
    if !may_manage_invitation(actor, inv.role) {
        return Ok(PendingInvitation::NotAllowed);
    }
    Ok(
        match send_invitation(state, actor, inv.email, inv.role).await? {
            InviteResult::Sent(_) => PendingInvitation::Done,
            refused => PendingInvitation::Refused(refused),
        },
    )
}

/// Revokes a pending invitation: its link stops working at once.
pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    invitation_id: &str,
) -> Result<PendingInvitation, FlowError> {
    let now = state.clock.now();
    let Some(inv) = state
        .store
        .invitation(&actor.account_id, invitation_id, now)
        .await?
    else {
        return Ok(PendingInvitation::NotFound);
    };
    if !may_manage_invitation(actor, inv.role) {
        return Ok(PendingInvitation::NotAllowed);
    }
    let revoked = state
        .store
        .revoke_invitation(&actor.account_id, invitation_id, now)
        .await?;
    if !revoked {
        return Ok(PendingInvitation::NotFound);
    }
    audit(state, actor, "invitation.revoked", inv.email.to_string()).await?;
    Ok(PendingInvitation::Done)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeResult {
    Done,
    NotAllowed,
    LastOwner,
    NotAMember,
}

impl ChangeResult {
    pub fn message(self) -> &'static str {
        match self {
            ChangeResult::Done => "Done.",
            ChangeResult::NotAllowed => "Your role does not allow this change.",
            ChangeResult::LastOwner => {
                "An account always keeps at least one owner: make someone else an owner first."
            }
            ChangeResult::NotAMember => "That person is not a member of this account.",
        }
    }
}

fn from_store(change: MembershipChange) -> ChangeResult {
    match change {
        MembershipChange::Done => ChangeResult::Done,
        MembershipChange::NotAMember => ChangeResult::NotAMember,
        MembershipChange::LastOwner => ChangeResult::LastOwner,
    }
}

async fn current_role(state: &AppState, actor: &Actor, user_id: &str) -> StoreResult<Option<Role>> {
    state.store.role_in(user_id, &actor.account_id).await
}

pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    role: Role,
) -> Result<ChangeResult, FlowError> {
    let Some(current) = current_role(state, actor, user_id).await? else {
        return Ok(ChangeResult::NotAMember);
    };
    if !can_administer(actor.role) || !can_assign(actor.role, Some(current), role) {
        return Ok(ChangeResult::NotAllowed);
    }
    let result = from_store(
        state
            .store
            .change_role(&actor.account_id, user_id, role)
            .await?,
    );
    if result == ChangeResult::Done && current != role {
        audit(
            state,
            actor,
            "member.role_changed",
            format!("{user_id}: {} → {}", current.as_str(), role.as_str()),
        )
        .await?;
    }
    Ok(result)
}

/// Removes a member; anyone may remove themselves (leave), except the last owner.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> Result<ChangeResult, FlowError> {
    let Some(current) = current_role(state, actor, user_id).await? else {
        return Ok(ChangeResult::NotAMember);
    };
    let leaving = user_id == actor.user_id;
    if !leaving && !can_remove(actor.role, current) {
        return Ok(ChangeResult::NotAllowed);
    }
    let result = from_store(
        state
            .store
            .remove_member(&actor.account_id, user_id)
            .await?,
    );
    if result == ChangeResult::Done {
        let action = if leaving {
            "member.left"
        } else {
            "member.removed"
        };
        audit(state, actor, action, user_id.to_owned()).await?;
    }
    Ok(result)
}

/// Accepts an invitation as `acceptor`; `None` when the link is no longer live.
pub async fn accept(
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
