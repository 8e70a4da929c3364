//! API keys: the bearer keys scripts call the REST API with.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::api_keys::{ApiKeyRecord, KeyGrant, KeyUse, NewApiKey};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ApiKeyId};
use crate::domain::paging::PageRequest;

/// API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    /// The one indexed read behind every bearer-key request.
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>>;
    /// Stores a new key and its audit event in one transaction.
    async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord>;
    /// Up to `page.limit + 1` keys, so the caller can tell whether there are more, fetched
    /// from the cursor by the rule of `domain::paging`.
    async fn list_api_keys(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ApiKeyRecord>>;
    async fn api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
    ) -> StoreResult<Option<ApiKeyRecord>>;
    /// A key by its id, in whichever account it is (the operator's command line).
    async fn api_key_by_id(&self, key_id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>>;
    /// Deletes a key and writes its audit event in one transaction; `false` (nothing written)
    /// when the account has no such key.
    async fn delete_api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Rolls a key in one transaction: the old key `old_id` of the account now ends at
    /// `old_ends_at` (or earlier, if it already did), `new` is stored, and the audit event is
    /// written. `None` (nothing written) when the account has no such key.
    async fn roll_api_key(
        &self,
        account_id: &AccountId,
        old_id: &ApiKeyId,
        old_ends_at: Timestamp,
        new: NewApiKey,
        audit: AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>>;
    /// Writes a batch of what keys were used for: "last used" times and IPs (each only moves
    /// forward) and requests per day (added). Keys deleted meanwhile are skipped.
    async fn touch_api_keys(&self, used: &[KeyUse]) -> StoreResult<()>;
    /// Forgets the requests of days before `first_day` (days since 1970-01-01).
    async fn prune_key_usage(&self, first_day: i64) -> StoreResult<()>;
}
