//! Members and invitations: inviting by email with a role, accepting, changing roles and
//! removing people, always keeping at least one owner. Every change is an audit event.
use crate::domain::email::EmailAddress;
use crate::domain::ids::new_id;
use crate::domain::roles::{can_administer, can_assign, can_remove};
use crate::domain::tokens::{generate_token, token_hash, INVITATION_LIFETIME};
use crate::flows::FlowError;
use crate::mails;
use crate::ports::{
    Acceptor, AuditEvent, Invitation, MembershipChange, NewInvitation, Role, StoreError,
    StoreResult,
};
use crate::AppState;

/// Who is acting, in which account, with which role (read from the store this request).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub email: String,
    pub account_id: String,
    pub role: Role,
}

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
    send_invitation(state, actor, email.clone(), role).await?;
    Ok(InviteResult::Sent(email))
}

async fn send_invitation(
    state: &AppState,
    actor: &Actor,
    email: EmailAddress,
    role: Role,
) -> Result<(), FlowError> {
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
    Ok(())
}

/// Sends a pending invitation again with a new link (the old link stops working).
pub async fn resend(
    state: &AppState,
    actor: &Actor,
    invitation_id: &str,
) -> Result<bool, FlowError> {
    let Some(inv) = state
        .store
        .invitation(&actor.account_id, invitation_id, state.clock.now())
        .await?
    else {
        return Ok(false);
    };
    if !can_administer(actor.role) || !can_assign(actor.role, None, inv.role) {
        return Ok(false);
    }
    send_invitation(state, actor, inv.email, inv.role).await?;
    Ok(true)
}

pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    invitation_id: &str,
) -> Result<bool, FlowError> {
    if !can_administer(actor.role) {
        return Ok(false);
    }
    let now = state.clock.now();
    let Some(inv) = state
        .store
        .invitation(&actor.account_id, invitation_id, now)
        .await?
    else {
        return Ok(false);
    };
    let revoked = state
        .store
        .revoke_invitation(&actor.account_id, invitation_id, now)
        .await?;
    if revoked {
        audit(state, actor, "invitation.revoked", inv.email.to_string()).await?;
    }
    Ok(revoked)
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
