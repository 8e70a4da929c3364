//! An account's API keys, for its owners and admins (the keys page and `/api/v1/api_keys`):
//! list, look at one, create (the secret is returned once and never stored), delete. Each
//! change and its audit event are one transaction.
use crate::auth::AdminOf;
use crate::domain::api_keys::{self, Scope, MAX_NAME_CHARS};
use crate::domain::api_keys::{ApiKeyRecord, NewApiKey};
use crate::domain::clock::Timestamp;
use crate::domain::ids::new_id;
use crate::domain::paging::{Page, PageRequest};
use crate::domain::secret::Secret;
use crate::domain::text::{clean_name, NameError};
use crate::flows::{Outcome, Refusal};
use crate::AppState;

/// What a new key is to be: its name as typed, when it expires, what it may do (`None`: the
/// whole account).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub expires_at: Option<Timestamp>,
    pub scopes: Option<Vec<Scope>>,
}

/// The name rules for a key, with the words for each refusal.
pub fn key_name(input: &str) -> Result<String, Refusal> {
    clean_name(input, MAX_NAME_CHARS).map_err(|e| Refusal::Invalid {
        field: "name",
        code: e.code(),
        message: match e {
            NameError::Empty => "Give the key a name.".to_owned(),
            other => other.to_string(),
        },
    })
}

/// Everything wrong with a new key, field by field (a form shows them all at once).
pub fn problems(new: &NewKey, now: Timestamp) -> Vec<Refusal> {
    let mut found = Vec::new();
    if let Err(refusal) = key_name(&new.name) {
        found.push(refusal);
    }
    if new.expires_at.is_some_and(|at| at <= now) {
        found.push(Refusal::invalid(
            "expires_at",
            "Choose a date in the future.",
        ));
    }
    found
}

pub async fn list(
    state: &AppState,
    admin: &AdminOf,
    page: &PageRequest,
) -> Outcome<Page<ApiKeyRecord>> {
    let rows = state.store.list_api_keys(admin.account_id(), page).await?;
    Ok(Page::from_fetched(rows, page))
}

pub async fn get(state: &AppState, admin: &AdminOf, key_id: &str) -> Outcome<ApiKeyRecord> {
    state
        .store
        .api_key(admin.account_id(), key_id)
        .await?
        .ok_or(Refusal::NotFound("api_key").into())
}

/// Creates a key and returns it with the secret, which is never stored or shown again.
pub async fn create(
    state: &AppState,
    admin: &AdminOf,
    new: NewKey,
) -> Outcome<(ApiKeyRecord, Secret)> {
    let now = state.clock.now();
    if let Some(first) = problems(&new, now).into_iter().next() {
        return Err(first.into());
    }
    let name = key_name(&new.name)?;
    let key = api_keys::generate();
    let id = new_id("key");
    let audit = admin.audit("api_key.created", format!("{id} ({name})"), now);
    let record = state
        .store
        .create_api_key(
            NewApiKey {
                id,
                account_id: admin.account_id().to_owned(),
                name,
                key_hash: api_keys::hash(key.expose()),
                hint: api_keys::hint(key.expose()),
                scopes: new.scopes,
                expires_at: new.expires_at,
                created_by: Some(admin.user_id().to_owned()),
                now,
            },
            audit,
        )
        .await?;
    Ok((record, key))
}

/// Deletes a key of this account; it fails on the very next request (no cache to expire).
pub async fn delete(state: &AppState, admin: &AdminOf, key_id: &str) -> Outcome<()> {
    let existing = get(state, admin, key_id).await?;
    let audit = admin.audit(
        "api_key.deleted",
        format!("{key_id} ({})", existing.name),
        state.clock.now(),
    );
    if state
        .store
        .delete_api_key(admin.account_id(), key_id, audit)
        .await?
    {
        Ok(())
    } else {
        Err(Refusal::NotFound("api_key").into())
    }
}
