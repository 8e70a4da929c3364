//! [`UserStore`] in memory (`src/store/body/users.rs`).
use async_trait::async_trait;

use super::{MemoryStore, PendingRow, State};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::UserId;
use crate::domain::lockout::{GuessReservation, LockoutPolicy};
use crate::domain::users::{
    ConfirmOutcome, EmailChange, EmailChangeOutcome, NewPendingSignUp, NewSignUp, PendingSignUp,
    SignUpOutcome, UserRecord,
};
use crate::ports::{StoreResult, UserStore};

impl State {
    /// A confirmed user with their own account, owner membership, first workspace and the
    /// account's `account.created` event; `Ok(false)` (nothing written) when the email has a
    /// user.
    fn insert_user_with_account(&mut self, new: &NewSignUp) -> StoreResult<bool> {
        if self.user_by_email(new.email.as_str()).is_some() {
            return Ok(false);
        }
        if self.accounts.contains_key(&new.account_id)
            || self.workspaces.iter().any(|w| w.id == new.workspace_id)
        {
            return Err(crate::ports::StoreError(format!(
                "account {} or workspace {} exists",
                new.account_id, new.workspace_id
            )));
        }
        if !self.insert_user(&new.user_id, &new.email, new.password_hash.clone(), new.now) {
            return Err(crate::ports::StoreError(format!(
                "user {} exists",
                new.user_id
            )));
        }
        self.insert_account_with_owner(
            &new.account_id,
            &new.account_name,
            &new.plan,
            &new.user_id,
            &new.workspace_id,
            &new.workspace_name,
            new.now,
        )?;
        self.audit.push(AuditEvent {
            account_id: Some(new.account_id.clone()),
            actor_user_id: Some(new.user_id.clone()),
            action: "account.created".into(),
            detail: None,
            at: new.now,
        });
        Ok(true)
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user_with_account(
        &self,
        new: NewSignUp,
        audit: AuditEvent,
    ) -> StoreResult<SignUpOutcome> {
        let mut state = self.lock()?;
        if !state.insert_user_with_account(&new)? {
            return Ok(SignUpOutcome::EmailTaken);
        }
        state.audit.push(audit);
        state.delete_pending_for(&new.email);
        Ok(SignUpOutcome::Created)
    }

    async fn put_pending_sign_up(&self, pending: NewPendingSignUp) -> StoreResult<()> {
        let mut state = self.lock()?;
        state.delete_pending_for(&pending.email);
        state.pending_sign_ups.push(PendingRow {
            email: pending.email,
            token_hash: pending.token_hash,
            expires_at: pending.expires_at,
        });
        Ok(())
    }

    async fn pending_sign_up(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<PendingSignUp>> {
        Ok(self
            .lock()?
            .pending_sign_ups
            .iter()
            .find(|p| p.token_hash == token_hash && p.expires_at > now)
            .map(|p| PendingSignUp {
                email: p.email.clone(),
            }))
    }

    async fn renew_pending_sign_up(
        &self,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(pending) = state
            .pending_sign_ups
            .iter_mut()
            .find(|p| &p.email == email && p.expires_at > now)
        else {
            return Ok(false);
        };
        pending.token_hash = token_hash.to_owned();
        pending.expires_at = expires_at;
        Ok(true)
    }

    async fn confirm_sign_up(
        &self,
        token_hash: &str,
        new: NewSignUp,
    ) -> StoreResult<ConfirmOutcome> {
        let mut state = self.lock()?;
        let Some(at) = state
            .pending_sign_ups
            .iter()
            .position(|p| p.token_hash == token_hash && p.expires_at > new.now)
        else {
            return Ok(ConfirmOutcome::Dead);
        };
        // The link decides whose user this is: the pending sign-up's email.
        let email = state.pending_sign_ups.remove(at).email;
        let new = NewSignUp { email, ..new };
        Ok(if state.insert_user_with_account(&new)? {
            ConfirmOutcome::Created {
                user_id: new.user_id,
                session_epoch: 0,
            }
        } else {
            ConfirmOutcome::AlreadyUser
        })
    }

    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>> {
        Ok(self.lock()?.user_by_email(email.as_str()).cloned())
    }

    async fn user_by_id(&self, user_id: &UserId) -> StoreResult<Option<UserRecord>> {
        Ok(self.lock()?.users.get(user_id).cloned())
    }

    /// `RESERVE_GUESS`: an expired lock starts a new series at 1; the guess that reaches the
    /// maximum sets the lock at once; no guess while locked or while the last is in flight.
    async fn reserve_guess(
        &self,
        user_id: &UserId,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> StoreResult<GuessReservation> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else {
            return Ok(GuessReservation::Refused);
        };
        let expired = user.locked_until.is_some_and(|until| until <= now);
        if user.failed_attempts >= policy.max_failures && !expired {
            return Ok(GuessReservation::Refused);
        }
        let attempt = if expired {
            1
        } else {
            user.failed_attempts.saturating_add(1)
        };
        user.locked_until = if attempt >= policy.max_failures {
            Some(policy.lock_until(now))
        } else if expired {
            None
        } else {
            user.locked_until
        };
        user.failed_attempts = attempt;
        Ok(GuessReservation::Granted { attempt })
    }

    async fn sign_in_succeeded(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        if let Some(user) = state.users.get_mut(user_id) {
            user.failed_attempts = 0;
            user.locked_until = None;
            if rehash.is_some() {
                user.password_hash = rehash;
            }
        }
        if let Some((key, window_start)) = refund {
            state.refund(key, window_start);
        }
        Ok(())
    }

    async fn password_checked(
        &self,
        user_id: &UserId,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        if let (Some(user), Some(_)) = (state.users.get_mut(user_id), rehash.as_ref()) {
            user.password_hash = rehash;
        }
        if let Some((key, window_start)) = refund {
            state.refund(key, window_start);
        }
        Ok(())
    }

    async fn unlock_user(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else {
            return Ok(false);
        };
        user.failed_attempts = 0;
        user.locked_until = None;
        state.audit.push(audit);
        Ok(true)
    }

    async fn change_password(
        &self,
        user_id: &UserId,
        new_password_hash: &str,
        keep_session: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<i64>> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else {
            return Ok(None);
        };
        user.password_hash = Some(new_password_hash.to_owned());
        user.failed_attempts = 0;
        user.locked_until = None;
        user.session_epoch += 1;
        let epoch = user.session_epoch;
        state.end_sessions(|s| s.user_id == *user_id && s.id != keep_session);
        state.audit.push(audit);
        Ok(Some(epoch))
    }

    async fn put_email_change(
        &self,
        user_id: &UserId,
        new_email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        state.email_changes.retain(|(_, u, _, _)| u != user_id);
        state.email_changes.push((
            token_hash.to_owned(),
            user_id.clone(),
            new_email.clone(),
            expires_at,
        ));
        Ok(())
    }

    async fn email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<EmailChange>> {
        let state = self.lock()?;
        Ok(state
            .email_changes
            .iter()
            .find(|(hash, _, _, expires_at)| hash == token_hash && *expires_at > now)
            .and_then(|(_, user_id, new_email, _)| {
                state.users.get(user_id).map(|user| EmailChange {
                    user_id: user_id.clone(),
                    old_email: user.email.clone(),
                    new_email: new_email.clone(),
                })
            }))
    }

    async fn redeem_email_change(
        &self,
        token_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EmailChangeOutcome> {
        let Some(change) = self.email_change(token_hash, now).await? else {
            return Ok(EmailChangeOutcome::Dead);
        };
        let mut state = self.lock()?;
        state
            .email_changes
            .retain(|(hash, _, _, _)| hash != token_hash);
        if state.users.values().any(|u| u.email == change.new_email) {
            return Ok(EmailChangeOutcome::Taken);
        }
        let Some(user) = state.users.get_mut(&change.user_id) else {
            return Ok(EmailChangeOutcome::Dead);
        };
        user.email = change.new_email.clone();
        user.email_confirmed_at = user.email_confirmed_at.or(Some(now));
        state.audit.push(audit);
        Ok(EmailChangeOutcome::Changed(change))
    }
}
