//! [`ApiKeyStore`] in memory (`src/store/body/api_keys.rs`).
use async_trait::async_trait;

use super::{page_of, MemoryStore, StoredKey};
use crate::domain::api_keys::{ApiKeyRecord, DailyUsage, KeyGrant, KeyUse, NewApiKey};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ApiKeyId};
use crate::domain::paging::PageRequest;
use crate::ports::{ApiKeyStore, StoreError, StoreResult};

#[async_trait]
impl ApiKeyStore for MemoryStore {
    /// With the plan of the key's account.
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>> {
        let state = self.lock()?;
        Ok(state
            .api_keys
            .iter()
            .find(|k| k.key_hash == key_hash)
            .and_then(|k| {
                let account = state.accounts.get(&k.record.account_id)?;
                Some(KeyGrant {
                    key_id: k.record.id.clone(),
                    account_id: k.record.account_id.clone(),
                    scopes: k.record.scopes.clone(),
                    expires_at: k.record.expires_at,
                    plan: account.plan.clone(),
                })
            }))
    }

    async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord> {
        let mut state = self.lock()?;
        if !state.accounts.contains_key(&key.account_id) {
            return Err(StoreError(format!("no account {}", key.account_id)));
        }
        if state
            .api_keys
            .iter()
            .any(|k| k.key_hash == key.key_hash || k.record.id == key.id)
        {
            return Err(StoreError("API key exists".into()));
        }
        let record = ApiKeyRecord {
            id: key.id,
            account_id: key.account_id,
            name: key.name,
            hint: key.hint,
            scopes: key.scopes,
            expires_at: key.expires_at,
            last_used_at: None,
            last_used_ip: None,
            usage: Vec::new(),
            created_by: key.created_by,
            created_at: key.now,
        };
        state.api_keys.push(StoredKey {
            record: record.clone(),
            key_hash: key.key_hash,
        });
        state.audit.push(audit);
        Ok(record)
    }

    async fn list_api_keys(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        let mine = self
            .lock()?
            .api_keys
            .iter()
            .filter(|k| k.record.account_id == account_id)
            .map(|k| k.record.clone())
            .collect();
        Ok(page_of(mine, page, |k| k.id.as_str()))
    }

    async fn api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        Ok(self
            .lock()?
            .api_keys
            .iter()
            .find(|k| k.record.account_id == account_id && k.record.id == key_id)
            .map(|k| k.record.clone()))
    }

    async fn api_key_by_id(&self, key_id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        Ok(self
            .lock()?
            .api_keys
            .iter()
            .find(|k| k.record.id == key_id)
            .map(|k| k.record.clone()))
    }

    async fn delete_api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let before = state.api_keys.len();
        state
            .api_keys
            .retain(|k| !(k.record.account_id == account_id && k.record.id == key_id));
        if state.api_keys.len() == before {
            return Ok(false);
        }
        state.audit.push(audit);
        Ok(true)
    }

    async fn roll_api_key(
        &self,
        account_id: &AccountId,
        old_id: &ApiKeyId,
        old_ends_at: Timestamp,
        new: NewApiKey,
        audit: AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        {
            let mut state = self.lock()?;
            let Some(old) = state
                .api_keys
                .iter_mut()
                .find(|k| k.record.account_id == account_id && k.record.id == old_id)
            else {
                return Ok(None);
            };
            if old.record.expires_at.is_none_or(|at| at > old_ends_at) {
                old.record.expires_at = Some(old_ends_at);
            }
        }
        self.create_api_key(new, audit).await.map(Some)
    }

    /// Each "last used" only moves forward; requests add up per day.
    async fn touch_api_keys(&self, used: &[KeyUse]) -> StoreResult<()> {
        let mut state = self.lock()?;
        for seen in used {
            let Some(key) = state
                .api_keys
                .iter_mut()
                .find(|k| k.record.id == seen.key_id)
            else {
                continue;
            };
            if key
                .record
                .last_used_at
                .is_none_or(|last| last < seen.last_used_at)
            {
                key.record.last_used_at = Some(seen.last_used_at);
                key.record.last_used_ip = seen.last_used_ip.clone();
            }
            for &(day, requests) in &seen.days {
                match key.record.usage.iter_mut().find(|u| u.day == day) {
                    Some(u) => u.requests += requests,
                    None => key.record.usage.push(DailyUsage { day, requests }),
                }
            }
            key.record.usage.sort_by_key(|u| u.day);
        }
        Ok(())
    }

    async fn prune_key_usage(&self, first_day: i64) -> StoreResult<()> {
        for key in self.lock()?.api_keys.iter_mut() {
            key.record.usage.retain(|u| u.day >= first_day);
        }
        Ok(())
    }
}
