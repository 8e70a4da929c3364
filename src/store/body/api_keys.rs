//! [`ApiKeyStore`]: API keys. The key lookup behind every bearer request is a hot read (each
//! database's `hot_optional`).
use std::sync::LazyLock;

use app::domain::api_keys::{scopes_to_db, ApiKeyRecord, DailyUsage, KeyGrant, KeyUse, NewApiKey};
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{AccountId, ApiKeyId, UserId};
use app::domain::paging::PageRequest;
use app::ports::{ApiKeyStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, by_id_query, page_query, PageQuery, SqlStore, Tx};
use crate::store::error::port;
use crate::store::rows::{decode_opt, ApiKeyRow, KeyGrantRow};

/// The one indexed read behind every bearer-key request.
const KEY_BY_HASH: &str = "
SELECT k.id, k.account_id, k.scopes, k.expires_at, a.plan
FROM api_keys k JOIN accounts a ON a.id = k.account_id
WHERE k.key_hash = $1";
const API_KEY_COLUMNS: &str =
    "id, account_id, name, hint, scopes, expires_at, last_used_at, last_used_ip, created_by, created_at";
static LIST_API_KEYS: LazyLock<PageQuery> =
    LazyLock::new(|| page_query(API_KEY_COLUMNS, "api_keys", None));
static API_KEY_BY_ID: LazyLock<String> = LazyLock::new(|| by_id_query(API_KEY_COLUMNS, "api_keys"));
/// A key by id in any account (the operator's `admin key revoke`).
const ANY_API_KEY_BY_ID: &str = "
SELECT id, account_id, name, hint, scopes, expires_at, last_used_at, last_used_ip, created_by, created_at
FROM api_keys WHERE id = $1";
const INSERT_API_KEY: &str = "
INSERT INTO api_keys (id, account_id, name, key_hash, hint, scopes, expires_at, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const DELETE_API_KEY: &str = "DELETE FROM api_keys WHERE account_id = $1 AND id = $2";
const TOUCH_API_KEY: &str = "
UPDATE api_keys SET last_used_at = $2, last_used_ip = $3
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)";
/// Adds a day's requests to a key that still exists (a key deleted since is skipped).
const ADD_KEY_USAGE: &str = "
INSERT INTO api_key_usage (key_id, day, requests)
SELECT id, $2, $3 FROM api_keys WHERE id = $1
ON CONFLICT (key_id, day) DO UPDATE SET requests = api_key_usage.requests + excluded.requests";
const PRUNE_KEY_USAGE: &str = "DELETE FROM api_key_usage WHERE day < $1";
/// The requests per day of an account's keys.
const ACCOUNT_KEY_USAGE: &str = "
SELECT u.key_id, u.day, u.requests FROM api_key_usage u JOIN api_keys k ON k.id = u.key_id
WHERE k.account_id = $1 ORDER BY u.day";
/// The requests per day of one key.
const KEY_USAGE: &str =
    "SELECT key_id, day, requests FROM api_key_usage WHERE key_id = $1 ORDER BY day";
/// A rolled key ends at `$3`, or earlier if it already did.
const END_API_KEY: &str = "
UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $3 THEN $3 ELSE expires_at END
WHERE account_id = $1 AND id = $2";

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>> {
        port(self.hot_optional::<KeyGrantRow, _>(KEY_BY_HASH, &[key_hash])).await
    }

    async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord> {
        port(async {
            let mut tx = self.begin().await?;
            insert_key(&mut tx, &key).await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(new_record(key))
        })
        .await
    }

    async fn roll_api_key(
        &self,
        account_id: &AccountId,
        old_id: &ApiKeyId,
        old_ends_at: Timestamp,
        new: NewApiKey,
        audit: AuditEvent,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        port(async {
            let mut tx = self.begin().await?;
            let ended = sqlx::query(END_API_KEY)
                .bind(account_id.as_str())
                .bind(old_id.as_str())
                .bind(old_ends_at.millis())
                .execute(&mut *tx)
                .await?;
            if ended.rows_affected() == 0 {
                return Ok(None);
            }
            insert_key(&mut tx, &new).await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(Some(new_record(new)))
        })
        .await
    }

    async fn list_api_keys(
        &self,
        account_id: &AccountId,
        page: &PageRequest,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        port(async {
            let mut keys: Vec<ApiKeyRecord> = self
                .page::<ApiKeyRow, _>(&LIST_API_KEYS, account_id, page, None)
                .await?;
            if keys.is_empty() {
                return Ok(keys);
            }
            let usage = sqlx::query_as::<_, UsageRow>(ACCOUNT_KEY_USAGE)
                .bind(account_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            attach_usage(&mut keys, usage);
            Ok(keys)
        })
        .await
    }

    async fn api_key(
        &self,
        account_id: &AccountId,
        key_id: &ApiKeyId,
    ) -> StoreResult<Option<ApiKeyRecord>> {
        port(async {
            let key: Option<ApiKeyRecord> = self
                .by_id::<ApiKeyRow, _>(&API_KEY_BY_ID, account_id, key_id.as_str())
                .await?;
            let Some(key) = key else { return Ok(None) };
            let usage = sqlx::query_as::<_, UsageRow>(KEY_USAGE)
                .bind(key_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            let mut keys = vec![key];
            attach_usage(&mut keys, usage);
            Ok(keys.pop())
        })
        .await
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

    async fn touch_api_keys(&self, used: &[KeyUse]) -> StoreResult<()> {
        port(async {
            if used.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin().await?;
            for seen in used {
                sqlx::query(TOUCH_API_KEY)
                    .bind(seen.key_id.as_str())
                    .bind(seen.last_used_at.millis())
                    .bind(seen.last_used_ip.as_deref())
                    .execute(&mut *tx)
                    .await?;
                for &(day, requests) in &seen.days {
                    sqlx::query(ADD_KEY_USAGE)
                        .bind(seen.key_id.as_str())
                        .bind(day)
                        .bind(i64::try_from(requests).unwrap_or(i64::MAX))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn prune_key_usage(&self, first_day: i64) -> StoreResult<()> {
        port(async {
            self.write(sqlx::query(PRUNE_KEY_USAGE).bind(first_day))
                .await?;
            Ok(())
        })
        .await
    }
}

/// One day of one key's requests.
type UsageRow = (String, i64, i64);

/// Puts each key's days (oldest first) on it.
fn attach_usage(keys: &mut [ApiKeyRecord], usage: Vec<UsageRow>) {
    for (key_id, day, requests) in usage {
        if let Some(key) = keys.iter_mut().find(|k| k.id.as_str() == key_id) {
            key.usage.push(DailyUsage {
                day,
                requests: u64::try_from(requests).unwrap_or(0),
            });
        }
    }
}

async fn insert_key(tx: &mut Tx, key: &NewApiKey) -> Result<(), sqlx::Error> {
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
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The record of a key just stored.
fn new_record(key: NewApiKey) -> ApiKeyRecord {
    ApiKeyRecord {
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
    }
}
