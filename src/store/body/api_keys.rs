//! [`ApiKeyStore`]: API keys. The key lookup behind every bearer request is a hot read (each
//! database's `hot_optional`).
use std::sync::LazyLock;

use app::domain::api_keys::{scopes_to_db, ApiKeyRecord, KeyGrant, NewApiKey};
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{AccountId, ApiKeyId, UserId};
use app::domain::paging::PageRequest;
use app::ports::{ApiKeyStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, by_id_query, page_query, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode_opt, ApiKeyRow, KeyGrantRow};

/// The one indexed read behind every bearer-key request.
const KEY_BY_HASH: &str = "
SELECT k.id, k.account_id, k.scopes, k.expires_at, a.plan
FROM api_keys k JOIN accounts a ON a.id = k.account_id
WHERE k.key_hash = $1";
const API_KEY_COLUMNS: &str =
    "id, account_id, name, hint, scopes, expires_at, last_used_at, created_by, created_at";
static LIST_API_KEYS: LazyLock<String> =
    LazyLock::new(|| page_query(API_KEY_COLUMNS, "api_keys", None));
static API_KEY_BY_ID: LazyLock<String> = LazyLock::new(|| by_id_query(API_KEY_COLUMNS, "api_keys"));
/// A key by id in any account (the operator's `admin key revoke`).
const ANY_API_KEY_BY_ID: &str = "
SELECT id, account_id, name, hint, scopes, expires_at, last_used_at, created_by, created_at
FROM api_keys WHERE id = $1";
const INSERT_API_KEY: &str = "
INSERT INTO api_keys (id, account_id, name, key_hash, hint, scopes, expires_at, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const DELETE_API_KEY: &str = "DELETE FROM api_keys WHERE account_id = $1 AND id = $2";
const TOUCH_API_KEY: &str = "
UPDATE api_keys SET last_used_at = $2
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>> {
        port(self.hot_optional::<KeyGrantRow, _>(KEY_BY_HASH, &[key_hash])).await
    }

    async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord> {
        port(async {
            let mut tx = self.begin().await?;
            sqlx::query(INSERT_API_KEY)
                .bind(key.id.as_str())
                .bind(key.account_id.as_str())
                .bind(&key.name)
                .bind(&key.key_hash)
                .bind(&key.hint)
                .bind(scopes_to_db(key.scopes.as_deref()))
                .bind(key.expires_at.map(Timestamp::millis))
                .bind(key.created_by.as_ref().map(UserId::as_str))
                .bind(key.now.millis())
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(ApiKeyRecord {
                id: key.id,
                account_id: key.account_id,
                name: key.name,
                hint: key.hint,
                scopes: key.scopes,
                expires_at: key.expires_at,
                last_used_at: None,
                created_by: key.created_by,
                created_at: key.now,
            })
        })
        .await
    }

    async fn list_api_keys(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        port(self.page::<ApiKeyRow, _>(&LIST_API_KEYS, account_id, page, None)).await
    }

    async fn api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        port(self.by_id::<ApiKeyRow, _>(&API_KEY_BY_ID, account_id, key_id.as_str())).await
    }

    async fn api_key_by_id(&self, key_id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        port(async {
            let row = sqlx::query_as::<_, ApiKeyRow>(ANY_API_KEY_BY_ID)
                .bind(key_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            decode_opt(row)
        })
        .await
    }

    async fn delete_api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(self.delete_with_audit(DELETE_API_KEY, account_id, key_id.as_str(), audit)).await
    }

    async fn touch_api_keys(&self, used: &[(ApiKeyId, Timestamp)]) -> StoreResult<()> {
        port(async {
            if used.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin().await?;
            for (key_id, at) in used {
                sqlx::query(TOUCH_API_KEY)
                    .bind(key_id.as_str())
                    .bind(at.millis())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
