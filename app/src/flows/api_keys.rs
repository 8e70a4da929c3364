//! An account's API keys, for its owners and admins (the keys page and `/api/v1/api_keys`):
//! list, look at one, create (the secret is returned once and never stored), delete. Each
//! change and its audit event are one transaction.
use crate::auth::AdminOf;
use crate::domain::api_keys::{self, Scope, MAX_NAME_CHARS};
use crate::domain::api_keys::{ApiKeyRecord, NewApiKey};
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::ApiKeyId;
use crate::domain::paging::{Page, PageRequest};
use crate::domain::secret::Secret;
use crate::domain::text::{clean_name, NameError};
use crate::flows::mail::{self, MailKind};
use crate::flows::{FlowError, Outcome, Refusal};
use crate::{mails, paths, AppState};

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

pub async fn get(state: &AppState, admin: &AdminOf, key_id: &ApiKeyId) -> Outcome<ApiKeyRecord> {
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
    admin.recently_authenticated(state)?;
    let now = state.clock.now();
    if let Some(first) = problems(&new, now).into_iter().next() {
        return Err(first.into());
    }
    let name = key_name(&new.name)?;
    let key = api_keys::generate();
    let id = ApiKeyId::new();
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
    notify_created(state, admin, &record.name).await?;
    Ok((record, key))
}

/// Mails the person who created a key that they did (the account's and the key's names,
/// never the key), throttled like every mail.
async fn notify_created(
    state: &AppState,
    admin: &AdminOf,
    key_name: &str,
) -> Result<(), FlowError> {
    let Ok(to) = EmailAddress::parse(admin.email()) else {
        return Ok(());
    };
    let account_name = state
        .store
        .account(admin.account_id())
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let link = state.config.link(paths::API_KEYS);
    let mail = mails::api_key_created(&to, &account_name, key_name, &link);
    mail::send_throttled(state, MailKind::ApiKeyCreated, mail).await?;
    Ok(())
}

/// Deletes a key of this account; it fails on the very next request (no cache to expire).
pub async fn delete(state: &AppState, admin: &AdminOf, key_id: &ApiKeyId) -> Outcome<()> {
    admin.recently_authenticated(state)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::ports::prelude::*;
    use crate::testing::{refused, Harness};

    fn new_key(name: &str) -> NewKey {
        NewKey {
            name: name.into(),
            expires_at: None,
            scopes: None,
        }
    }

    fn page(limit: u32, after: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn a_member_is_refused_before_any_key_flow() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let member = h.member(&acme, "dev@acme.test", Role::Member);
        assert_eq!(member.admin().unwrap_err(), Refusal::admins_only());
    }

    #[tokio::test]
    async fn creating_or_deleting_a_key_needs_a_recent_sign_in() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let fresh = h.admin(&acme, "admin@acme.test");
        let (key, _) = create(&h.state, &fresh, new_key("deploy")).await.unwrap();
        let signed_in_at = h.now();
        let admin_then = |at| {
            h.member(&acme, "other@acme.test", Role::Admin)
                .authenticated_at_for_tests(at)
                .as_admin()
                .unwrap()
        };
        h.advance(std::time::Duration::from_secs(10 * 60));
        let recent = admin_then(signed_in_at);
        create(&h.state, &recent, new_key("still fine"))
            .await
            .unwrap();
        h.advance(std::time::Duration::from_secs(1));
        let stale = admin_then(signed_in_at);
        assert_eq!(
            refused(create(&h.state, &stale, new_key("too late")).await),
            crate::domain::reauth::required()
        );
        assert_eq!(
            refused(delete(&h.state, &stale, &key.id).await),
            crate::domain::reauth::required()
        );
        assert!(
            h.store.api_key(&acme, &key.id).await.unwrap().is_some(),
            "nothing deleted"
        );
    }

    #[tokio::test]
    async fn a_new_key_is_shown_once_and_only_its_hash_is_kept() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let new = NewKey {
            scopes: Some(vec![Scope::RecordsRead]),
            ..new_key(" deploy ")
        };
        let (record, secret) = create(&h.state, &admin, new).await.unwrap();
        assert_eq!(record.name, "deploy");
        assert!(api_keys::is_well_formed(secret.expose()));
        assert_eq!(record.hint, api_keys::hint(secret.expose()));
        assert_eq!(record.created_by.as_ref(), Some(admin.user_id()));
        let grant = h
            .store
            .key_by_hash(&api_keys::hash(secret.expose()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((grant.key_id, grant.account_id), (record.id.clone(), acme));
        assert_eq!(grant.scopes, Some(vec![Scope::RecordsRead]));
        assert_eq!(h.store.audit_actions(), vec!["api_key.created"]);
    }

    #[tokio::test]
    async fn the_creator_is_told_of_a_new_key_by_name_never_by_secret() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let (_, secret) = create(&h.state, &admin, new_key("deploy")).await.unwrap();
        // A second key within the minute: the mail slot is taken, nothing more is sent.
        create(&h.state, &admin, new_key("other")).await.unwrap();
        h.settle().await;
        let mails = h.mails_to("admin@acme.test");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].subject, "An API key was created");
        assert!(mails[0].text.contains("\"Acme\""), "{}", mails[0].text);
        assert!(mails[0].text.contains("\"deploy\""));
        assert!(!mails[0].text.contains(secret.expose()));
        assert!(!mails[0].html.contains(secret.expose()));
    }

    #[tokio::test]
    async fn a_bad_name_or_a_past_expiry_is_refused_field_by_field() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let past = NewKey {
            expires_at: Some(h.now()),
            ..new_key("")
        };
        let fields: Vec<_> = problems(&past, h.now())
            .iter()
            .filter_map(Refusal::field)
            .collect();
        assert_eq!(fields, vec!["name", "expires_at"]);
        let refusal = refused(create(&h.state, &admin, past).await);
        assert_eq!(refusal.field(), Some("name"));
        let expired = NewKey {
            expires_at: Some(h.now()),
            ..new_key("ok")
        };
        assert_eq!(
            refused(create(&h.state, &admin, expired).await).field(),
            Some("expires_at")
        );
        assert!(h.store.audit_actions().is_empty());
    }

    #[tokio::test]
    async fn keys_come_a_page_at_a_time_newest_first() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let mut ids = Vec::new();
        for name in ["one", "two", "three"] {
            ids.push(create(&h.state, &admin, new_key(name)).await.unwrap().0.id);
        }
        let other = h.account("Other");
        create(
            &h.state,
            &h.admin(&other, "x@other.test"),
            new_key("theirs"),
        )
        .await
        .unwrap();
        let first = list(&h.state, &admin, &page(2, None)).await.unwrap();
        let names: Vec<&str> = first.items.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["three", "two"]);
        assert!(first.has_more);
        let rest = list(&h.state, &admin, &page(2, Some(ids[1].as_str())))
            .await
            .unwrap();
        let names: Vec<&str> = rest.items.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["one"]);
        assert!(!rest.has_more);
    }

    #[tokio::test]
    async fn another_account_s_key_is_not_found_and_stays() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let other = h.account("Other");
        let (theirs, secret) = create(&h.state, &h.admin(&other, "x@other.test"), new_key("k"))
            .await
            .unwrap();
        let admin = h.admin(&acme, "admin@acme.test");
        assert_eq!(
            refused(get(&h.state, &admin, &theirs.id).await),
            Refusal::NotFound("api_key")
        );
        assert_eq!(
            refused(delete(&h.state, &admin, &theirs.id).await),
            Refusal::NotFound("api_key")
        );
        let hash = api_keys::hash(secret.expose());
        assert!(h.store.key_by_hash(&hash).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_deleted_key_opens_nothing_at_once() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let (key, secret) = create(&h.state, &admin, new_key("k")).await.unwrap();
        delete(&h.state, &admin, &key.id).await.unwrap();
        let hash = api_keys::hash(secret.expose());
        assert!(h.store.key_by_hash(&hash).await.unwrap().is_none());
        assert!(crate::auth::key_holder(&h.state, secret.expose())
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            h.store.audit_actions(),
            vec!["api_key.created", "api_key.deleted"]
        );
        assert_eq!(
            refused(delete(&h.state, &admin, &key.id).await),
            Refusal::NotFound("api_key")
        );
    }
}
