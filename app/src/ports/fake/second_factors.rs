//! [`SecondFactorStore`] in memory (`src/store/body/second_factors.rs`).
use async_trait::async_trait;

use super::{MemoryStore, RecoveryRow};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::passkeys::{Ceremony, StoredPasskey};
use crate::domain::second_factors::{NewTotpFactor, TotpFactor};
use crate::ports::{SecondFactorStore, StoreResult};

#[async_trait]
impl SecondFactorStore for MemoryStore {
    async fn totp_factor(&self, user_id: &UserId) -> StoreResult<Option<TotpFactor>> {
        Ok(self.lock()?.totp.get(user_id).cloned())
    }

    async fn add_totp_factor(&self, new: NewTotpFactor, audit: AuditEvent) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if state.totp.contains_key(&new.user_id) {
            return Ok(false);
        }
        if !state.users.contains_key(&new.user_id) {
            return Err(crate::ports::StoreError(format!("no user {}", new.user_id)));
        }
        state.totp.insert(
            new.user_id.clone(),
            TotpFactor {
                user_id: new.user_id.clone(),
                secret_sealed: new.secret_sealed,
                last_step: new.step,
                confirmed_at: new.now,
            },
        );
        if !new.recovery_hashes.is_empty() {
            state.replace_recovery(&new.user_id, &new.recovery_hashes, new.now);
        }
        state.audit.push(audit);
        Ok(true)
    }

    /// `ACCEPT_TOTP_STEP`: only a later step.
    async fn accept_totp_step(&self, user_id: &UserId, step: i64) -> StoreResult<bool> {
        let mut state = self.lock()?;
        Ok(match state.totp.get_mut(user_id) {
            Some(factor) if factor.last_step < step => {
                factor.last_step = step;
                true
            }
            _ => false,
        })
    }

    async fn remove_totp_factor(&self, user_id: &UserId, audit: AuditEvent) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if state.totp.remove(user_id).is_none() {
            return Ok(false);
        }
        state.drop_recovery_without_factors(user_id);
        state.audit.push(audit);
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if !state.totp.contains_key(user_id)
            && !state.passkeys.iter().any(|p| p.user_id == *user_id)
        {
            return Ok(false);
        }
        state.replace_recovery(user_id, hashes, now);
        state.audit.push(audit);
        Ok(true)
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<Option<u32>> {
        let mut state = self.lock()?;
        let Some(row) = state
            .recovery
            .iter_mut()
            .find(|r| r.user_id == *user_id && r.code_hash == code_hash && r.used_at.is_none())
        else {
            return Ok(None);
        };
        row.used_at = Some(now);
        state.audit.push(audit);
        Ok(Some(state.recovery_left(user_id)))
    }

    async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<u32> {
        Ok(self.lock()?.recovery_left(user_id))
    }

    async fn passkeys(&self, user_id: &UserId) -> StoreResult<Vec<StoredPasskey>> {
        let state = self.lock()?;
        let mut list: Vec<StoredPasskey> = state
            .passkeys
            .iter()
            .filter(|p| p.user_id == *user_id)
            .cloned()
            .collect();
        list.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(list)
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>> {
        let state = self.lock()?;
        Ok(state
            .passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
            .cloned())
    }

    async fn add_passkey(
        &self,
        passkey: StoredPasskey,
        recovery_hashes: &[String],
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        if state
            .passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Ok(false);
        }
        if !state.users.contains_key(&passkey.user_id) {
            return Err(crate::ports::StoreError(format!(
                "no user {}",
                passkey.user_id
            )));
        }
        if !recovery_hashes.is_empty() {
            state.replace_recovery(&passkey.user_id, recovery_hashes, passkey.created_at);
        }
        state.passkeys.push(passkey);
        state.audit.push(audit);
        Ok(true)
    }

    async fn passkey_used(
        &self,
        id: &PasskeyId,
        credential: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        Ok(match state.passkeys.iter_mut().find(|p| p.id == *id) {
            Some(p) => {
                p.credential = credential.to_owned();
                p.last_used_at = Some(now);
                true
            }
            None => false,
        })
    }

    async fn delete_passkey(
        &self,
        user_id: &UserId,
        id: &PasskeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let before = state.passkeys.len();
        state
            .passkeys
            .retain(|p| !(p.id == *id && p.user_id == *user_id));
        if state.passkeys.len() == before {
            return Ok(false);
        }
        state.drop_recovery_without_factors(user_id);
        state.audit.push(audit);
        Ok(true)
    }

    async fn remove_second_factors(
        &self,
        user_id: &UserId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let had_app = state.totp.remove(user_id).is_some();
        let before = state.passkeys.len() + state.recovery.len();
        state.passkeys.retain(|p| p.user_id != *user_id);
        state.recovery.retain(|r| r.user_id != *user_id);
        if !had_app && state.passkeys.len() + state.recovery.len() == before {
            return Ok(false);
        }
        state.audit.push(audit);
        Ok(true)
    }

    async fn save_ceremony(
        &self,
        handle_hash: &str,
        ceremony: Ceremony,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut state = self.lock()?;
        state
            .ceremonies
            .retain(|_, (c, _)| c.expires_at.millis() > now.millis());
        state
            .ceremonies
            .insert(handle_hash.to_owned(), (ceremony, false));
        Ok(())
    }

    /// `TAKE_CEREMONY`: unused and unexpired, once.
    async fn take_ceremony(
        &self,
        handle_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>> {
        let mut state = self.lock()?;
        Ok(match state.ceremonies.get_mut(handle_hash) {
            Some((c, used)) if !*used && c.expires_at.millis() > now.millis() => {
                *used = true;
                Some(c.clone())
            }
            _ => None,
        })
    }
}

impl super::State {
    fn replace_recovery(&mut self, user_id: &UserId, hashes: &[String], _now: Timestamp) {
        self.recovery.retain(|r| r.user_id != *user_id);
        self.recovery.extend(hashes.iter().map(|h| RecoveryRow {
            user_id: user_id.clone(),
            code_hash: h.clone(),
            used_at: None,
        }));
    }

    /// `DELETE_RECOVERY_CODES_WITHOUT_FACTORS`: the codes go with the last factor.
    fn drop_recovery_without_factors(&mut self, user_id: &UserId) {
        let has_factor =
            self.totp.contains_key(user_id) || self.passkeys.iter().any(|p| p.user_id == *user_id);
        if !has_factor {
            self.recovery.retain(|r| r.user_id != *user_id);
        }
    }

    fn recovery_left(&self, user_id: &UserId) -> u32 {
        let left = self
            .recovery
            .iter()
            .filter(|r| r.user_id == *user_id && r.used_at.is_none())
            .count();
        u32::try_from(left).unwrap_or(u32::MAX)
    }
}
