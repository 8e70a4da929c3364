//! [`SsoStore`] in memory (`src/store/body/sso.rs`): the same reads of the facts and the same
//! writes of what `domain::sso_sign_in` decides.
use async_trait::async_trait;

use super::{Identity, MemoryStore, State};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ConnectionId, DomainId, UserId};
use crate::domain::roles::Role;
use crate::domain::sso::{EnforceOutcome, SsoConnection, SsoCreated, SsoSignIn, SsoSignInOutcome};
use crate::domain::sso_sign_in::{self as rules, SignInFacts, SignInRefused, SignInUser};
use crate::ports::{SsoStore, StoreError, StoreResult};

impl State {
    fn connection_mut(
        &mut self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> Option<&mut SsoConnection> {
        self.connections
            .iter_mut()
            .find(|c| c.account_id == account_id && c.id == id)
    }

    /// `SSO_SERVES_DOMAIN`: the connection serves `domain` through a verified account domain.
    fn serves(&self, connection_id: &ConnectionId, domain: &str) -> bool {
        self.verified_domains_of(connection_id)
            .iter()
            .any(|d| d.domain == domain)
    }

    /// An account-scoped change of a connection and its audit event; false (nothing written)
    /// when there is no such connection.
    fn change_connection(
        &mut self,
        account_id: &AccountId,
        id: &ConnectionId,
        audit: AuditEvent,
        change: impl FnOnce(&mut SsoConnection),
    ) -> bool {
        let Some(connection) = self.connection_mut(account_id, id) else {
            return false;
        };
        change(connection);
        self.audit.push(audit);
        true
    }
}

fn refused(refusal: SignInRefused) -> SsoSignInOutcome {
    match refusal {
        SignInRefused::NotInvited => SsoSignInOutcome::NotInvited,
        SignInRefused::DomainNotServed => SsoSignInOutcome::DomainNotServed,
        SignInRefused::UserLinkedElsewhere => SsoSignInOutcome::UserLinkedElsewhere,
    }
}

#[async_trait]
impl SsoStore for MemoryStore {
    /// Never enforced nor tested at first; a domain another connection serves refuses the
    /// whole connection.
    async fn create_sso_connection(
        &self,
        connection: &SsoConnection,
        domain_ids: &[DomainId],
        audit: AuditEvent,
    ) -> StoreResult<SsoCreated> {
        let mut state = self.lock()?;
        if state.connections.iter().any(|c| c.id == connection.id) {
            return Err(StoreError(format!("connection {} exists", connection.id)));
        }
        for (domain_id, served) in domain_ids.iter().zip(&connection.domains) {
            if state.connection_domains.iter().any(|(_, d)| d == domain_id) {
                return Ok(SsoCreated::DomainTaken(served.domain.clone()));
            }
        }
        state.connections.push(SsoConnection {
            enforced: false,
            tested_at: None,
            domains: Vec::new(),
            ..connection.clone()
        });
        for domain_id in domain_ids.iter().take(connection.domains.len()) {
            state
                .connection_domains
                .push((connection.id.clone(), domain_id.clone()));
        }
        state.audit.push(audit);
        Ok(SsoCreated::Created)
    }

    /// By id.
    async fn sso_connections(&self, account_id: &AccountId) -> StoreResult<Vec<SsoConnection>> {
        let state = self.lock()?;
        let mut found: Vec<SsoConnection> = state
            .connections
            .iter()
            .filter(|c| c.account_id == account_id)
            .map(|c| state.with_domains(c))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    async fn stop_enforcing_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        _now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        Ok(self
            .lock()?
            .change_connection(account_id, id, audit, |c| c.enforced = false))
    }

    async fn set_sso_create_users(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        create_users: bool,
        _now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        Ok(self
            .lock()?
            .change_connection(account_id, id, audit, |c| c.create_users = create_users))
    }

    async fn mark_sso_tested(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        Ok(self
            .lock()?
            .change_connection(account_id, id, audit, |c| c.tested_at = Some(now)))
    }

    async fn sso_enforcement_affects(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> StoreResult<u64> {
        Ok(self.lock()?.affected_by(account_id, id).len() as u64)
    }

    /// Only after a test sign-in; ends the affected people's password sessions and says how
    /// many in the audit event's detail.
    async fn enforce_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        _now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EnforceOutcome> {
        let mut state = self.lock()?;
        let Some(connection) = state.connection_mut(account_id, id) else {
            return Ok(EnforceOutcome::NotFound);
        };
        if connection.tested_at.is_none() {
            return Ok(EnforceOutcome::NotTested);
        }
        connection.enforced = true;
        let affected = state.affected_by(account_id, id);
        let ended = state.end_sessions(|s| s.method == "password" && affected.contains(&s.user_id));
        let detail = audit.detail.clone().unwrap_or_default();
        state.audit.push(AuditEvent {
            detail: Some(format!("{detail} (password sessions ended: {ended})")),
            ..audit
        });
        Ok(EnforceOutcome::Enforced {
            sessions_ended: ended,
        })
    }

    /// Its domains and identities go with it (the cascade).
    async fn delete_sso_connection(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let before = state.connections.len();
        state
            .connections
            .retain(|c| !(c.account_id == account_id && c.id == id));
        if state.connections.len() == before {
            return Ok(false);
        }
        state.connection_domains.retain(|(c, _)| c != id);
        state.identities.retain(|i| i.connection_id != id);
        state.audit.push(audit);
        Ok(true)
    }

    async fn sso_for_domain(&self, domain: &str) -> StoreResult<Option<SsoConnection>> {
        let state = self.lock()?;
        Ok(state
            .connections
            .iter()
            .find(|c| state.serves(&c.id, domain))
            .map(|c| state.with_domains(c)))
    }

    async fn user_of_identity(
        &self,
        connection_id: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<UserId>> {
        let state = self.lock()?;
        Ok(state
            .identities
            .iter()
            .find(|i| i.connection_id == *connection_id && i.subject == subject)
            .map(|i| i.user_id.clone()))
    }

    async fn sso_sign_in(&self, s: SsoSignIn, audit: AuditEvent) -> StoreResult<SsoSignInOutcome> {
        let mut state = self.lock()?;
        // The facts.
        let identity_user = state
            .identities
            .iter()
            .find(|i| i.connection_id == s.connection_id && i.subject == s.subject)
            .map(|i| i.user_id.clone());
        let user = match &identity_user {
            Some(user_id) => state.users.get(user_id).cloned(),
            None => state.user_by_email(s.email.as_str()).cloned(),
        };
        let user_linked_elsewhere = match (&identity_user, &user) {
            (None, Some(user)) => state
                .identities
                .iter()
                .any(|i| i.connection_id == s.connection_id && i.user_id == user.id),
            _ => false,
        };
        let facts = SignInFacts {
            identity_user,
            user,
            user_linked_elsewhere,
        };
        // The decisions.
        let begun = match rules::start(&s, &facts) {
            Ok(begun) => begun,
            Err(refusal) => return Ok(refused(refusal)),
        };
        let served = state.serves(&s.connection_id, begun.email.domain());
        let accepted = match &begun.invitation {
            Some(inv) if served => state
                .invitations
                .iter()
                .any(|i| i.invitation.id == inv.id && i.live(s.now))
                .then(|| inv.clone()),
            _ => None,
        };
        let steps = match rules::steps(&s, &facts, &begun, served, accepted.as_ref()) {
            Ok(steps) => steps,
            Err(refusal) => return Ok(refused(refusal)),
        };
        let user_id = steps.user.id().to_owned();
        if matches!(steps.user, SignInUser::New(_))
            && state.user_by_email(begun.email.as_str()).is_some()
        {
            return Err(StoreError(format!("a user with {} exists", begun.email)));
        }
        // The writes.
        if let Some(inv) = &accepted {
            if let Some(stored) = state
                .invitations
                .iter_mut()
                .find(|i| i.invitation.id == inv.id)
            {
                stored.accepted_at = Some(s.now);
            }
        }
        match &steps.user {
            SignInUser::New(_) => {
                state.insert_user(&user_id, &begun.email, None, s.now);
                state.delete_pending_for(&begun.email);
            }
            SignInUser::Existing(_) if !steps.link_identity => {
                if let Some(identity) = state
                    .identities
                    .iter_mut()
                    .find(|i| i.connection_id == s.connection_id && i.subject == s.subject)
                {
                    identity.last_sign_in_at = s.now;
                }
            }
            SignInUser::Existing(_) => {}
        }
        if let Some(inv) = &accepted {
            state.add_membership_if_new(&inv.account_id, &user_id, inv.role, s.now);
        }
        if steps.link_identity {
            state.identities.push(Identity {
                connection_id: s.connection_id.clone(),
                subject: s.subject.clone(),
                user_id: user_id.clone(),
                last_sign_in_at: s.now,
            });
        }
        if let Some(account_id) = &steps.join_connection_account {
            state.add_membership_if_new(account_id, &user_id, Role::Member, s.now);
        }
        let Some(user) = state.users.get(&user_id).cloned() else {
            return Err(StoreError(format!("no user {user_id}")));
        };
        let joined = accepted.map(|inv| {
            state.audit.push(AuditEvent {
                actor_user_id: Some(user.id.clone()),
                ..inv.audit
            });
            inv.account_id
        });
        state.audit.push(AuditEvent {
            actor_user_id: Some(user.id.clone()),
            ..audit
        });
        Ok(SsoSignInOutcome::SignedIn {
            user,
            new_identity: steps.link_identity,
            joined,
        })
    }
}
