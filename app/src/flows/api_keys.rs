//! Creating and deleting API keys, shared by the keys page and `/api/v1/api_keys`.
//! Both are audit events naming who did it.
use crate::domain::api_keys::{self, Scope};
use crate::domain::api_keys::{ApiKeyRecord, NewApiKey};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::new_id;
use crate::domain::secret::Secret;
use crate::ports::StoreResult;
use crate::AppState;

/// Creates a key and returns it with the secret, which is never stored or shown again. The
/// key and its audit event are one transaction.
pub async fn create(
    state: &AppState,
    account_id: &str,
    actor: Option<&str>,
    name: String,
    expires_at: Option<Timestamp>,
    scopes: Option<Vec<Scope>>,
) -> StoreResult<(ApiKeyRecord, Secret)> {
    let key = api_keys::generate();
    let now = state.clock.now();
    let id = new_id("key");
    let audit = AuditEvent {
        account_id: Some(account_id.to_owned()),
        actor_user_id: actor.map(str::to_owned),
        action: "api_key.created".into(),
        detail: Some(format!("{id} ({name})")),
        at: now,
    };
    let record = state
        .store
        .create_api_key(
            NewApiKey {
                id,
                account_id: account_id.to_owned(),
                name,
                key_hash: api_keys::hash(key.expose()),
                hint: api_keys::hint(key.expose()),
                scopes,
                expires_at,
                created_by: actor.map(str::to_owned),
                now,
            },
            audit,
        )
        .await?;
    Ok((record, key))
}

/// Deletes a key of this account, with its audit event in the same transaction; it fails on
/// the very next request (no cache to expire).
pub async fn delete(
    state: &AppState,
    account_id: &str,
    actor: Option<&str>,
    key_id: &str,
) -> StoreResult<bool> {
    let Some(existing) = state.store.api_key(account_id, key_id).await? else {
        return Ok(false);
    };
    let audit = AuditEvent {
        account_id: Some(account_id.to_owned()),
        actor_user_id: actor.map(str::to_owned),
        action: "api_key.deleted".into(),
        detail: Some(format!("{key_id} ({})", existing.name)),
        at: state.clock.now(),
    };
    state.store.delete_api_key(account_id, key_id, audit).await
}
