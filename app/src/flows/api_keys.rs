//! An account's API keys, for its owners and admins (the keys page and `/api/v1/api_keys`):
//! list, look at one, create (the secret is returned once and never stored), delete. Each
//! change and its audit event are one transaction.
use crate::auth::AdminOf;
use crate::domain::api_keys::{self, Scope, MAX_NAME_CHARS, MAX_ROLL_HOURS};
use crate::domain::api_keys::{ApiKeyRecord, NewApiKey};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ApiKeyId};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::roles::Role;
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
    // A cursor must name a key of the account (a paging loop fed another id stops).
    if let Some(cursor) = page.cursor() {
        state
            .store
            .api_key(admin.account_id(), &ApiKeyId::from_input(cursor))
            .await?
            .ok_or(Refusal::NotFound("api_key"))?;
    }
    let mut rows = state.store.list_api_keys(admin.account_id(), page).await?;
    let first_day = api_keys::first_usage_day(state.clock.now());
    for key in &mut rows {
        key.usage.retain(|u| u.day >= first_day);
    }
    Ok(Page::from_fetched(rows, page))
}

pub async fn get(state: &AppState, admin: &AdminOf, key_id: &ApiKeyId) -> Outcome<ApiKeyRecord> {
    let mut key = state
        .store
        .api_key(admin.account_id(), key_id)
        .await?
        .ok_or(Refusal::NotFound("api_key"))?;
    let first_day = api_keys::first_usage_day(state.clock.now());
    key.usage.retain(|u| u.day >= first_day);
    Ok(key)
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

/// A rolled key: the new key (shown once), and when the old one stops working.
#[derive(Debug)]
pub struct Rolled {
    pub new: ApiKeyRecord,
    pub key: Secret,
    pub old_ends_at: Timestamp,
}

/// The grace of a roll, as typed: whole hours, 0 to [`MAX_ROLL_HOURS`].
pub fn roll_hours(hours: i64) -> Result<u32, Refusal> {
    u32::try_from(hours)
        .ok()
        .filter(|h| *h <= MAX_ROLL_HOURS)
        .ok_or_else(|| {
            Refusal::invalid(
                "expires_in_hours",
                format!("Choose between 0 and {MAX_ROLL_HOURS} hours."),
            )
        })
}

/// Replaces a key without a window where integrations break: a new key with the same name,
/// scopes and expiry, and the old one keeps working for `hours` more (0: it stops now), then
/// is refused like any expired key. The old key's new end is in the database that every
/// instance reads on every request, so it holds everywhere at once. One transaction with the
/// audit event; the person is told of the new key like of any new key.
pub async fn roll(
    state: &AppState,
    admin: &AdminOf,
    key_id: &ApiKeyId,
    hours: u32,
) -> Outcome<Rolled> {
    admin.recently_authenticated(state)?;
    let hours = roll_hours(i64::from(hours))?;
    let now = state.clock.now();
    let old = get(state, admin, key_id).await?;
    if old.expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::conflict(
            "api_key_expired",
            "This key has already stopped working: create a new key instead.",
        )
        .into());
    }
    let old_ends_at = now.plus(std::time::Duration::from_secs(u64::from(hours) * 3600));
    let key = api_keys::generate();
    let id = ApiKeyId::new();
    let audit = admin.audit(
        "api_key.rolled",
        format!(
            "{key_id} ({}) rolled into {id}; the old key ends at {}",
            old.name,
            old_ends_at.to_rfc3339()
        ),
        now,
    );
    let new = NewApiKey {
        id,
        account_id: admin.account_id().to_owned(),
        name: old.name.clone(),
        key_hash: api_keys::hash(key.expose()),
        hint: api_keys::hint(key.expose()),
        scopes: old.scopes.clone(),
        expires_at: old.expires_at,
        created_by: Some(admin.user_id().to_owned()),
        now,
    };
    let Some(record) = state
        .store
        .roll_api_key(admin.account_id(), key_id, old_ends_at, new, audit)
        .await?
    else {
        return Err(Refusal::NotFound("api_key").into());
    };
    notify_created(state, admin, &record.name).await?;
    Ok(Rolled {
        new: record,
        key,
        old_ends_at: old.expires_at.map_or(old_ends_at, |at| at.min(old_ends_at)),
    })
}

/// The most credentials one report may carry.
pub const MAX_REPORTED: usize = 100;

/// A report of leaked keys (`POST /credentials/revoke`, from anyone: a secret-scanning
/// service, a stranger who found a key). Each candidate's checksum is checked before any
/// lookup; every live key among them is revoked (deleted, with an audit event in the same
/// transaction) and the owners and admins of its account are mailed which key it was (its
/// name and hint). Answers how many were revoked, which the surfaces never show: the answer
/// is the same whatever was found. Whoever holds a key can already learn that it works by
/// calling the API with it, so acting at once (rather than after the answer) tells a
/// reporter nothing new.
pub async fn report_leaked(state: &AppState, credentials: &[String]) -> Result<usize, FlowError> {
    let now = state.clock.now();
    let mut hashes: Vec<String> = credentials
        .iter()
        .map(|c| c.trim())
        .filter(|c| api_keys::is_well_formed(c))
        .map(api_keys::hash)
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut revoked: Vec<(AccountId, String, String)> = Vec::new();
    for hash in hashes {
        let Some(grant) = state.store.key_by_hash(&hash).await? else {
            continue;
        };
        if grant.expires_at.is_some_and(|at| at <= now) {
            continue;
        }
        let Some(key) = state
            .store
            .api_key(&grant.account_id, &grant.key_id)
            .await?
        else {
            continue;
        };
        let audit = AuditEvent {
            account_id: Some(key.account_id.clone()),
            actor_user_id: None,
            action: "api_key.reported".into(),
            detail: Some(format!(
                "{} ({}, {}…) reported as leaked and revoked",
                key.id, key.name, key.hint
            )),
            at: now,
        };
        if state
            .store
            .delete_api_key(&key.account_id, &key.id, audit)
            .await?
        {
            tracing::warn!(key = %key.id, account = %key.account_id, "API key reported as leaked: revoked");
            revoked.push((key.account_id, key.name, key.hint));
        }
    }
    let count = revoked.len();
    let mut accounts: Vec<AccountId> = revoked.iter().map(|(a, _, _)| a.clone()).collect();
    accounts.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    accounts.dedup();
    for account_id in accounts {
        let keys: Vec<(String, String)> = revoked
            .iter()
            .filter(|(a, _, _)| *a == account_id)
            .map(|(_, name, hint)| (name.clone(), hint.clone()))
            .collect();
        notify_reported(state, &account_id, &keys).await?;
    }
    Ok(count)
}

/// Mails the owners and admins of `account_id` which of its keys were reported and revoked,
/// throttled like every mail.
async fn notify_reported(
    state: &AppState,
    account_id: &AccountId,
    keys: &[(String, String)],
) -> Result<(), FlowError> {
    let account_name = state
        .store
        .account(account_id)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let link = state.config.link(paths::API_KEYS);
    for member in state.store.members(account_id).await? {
        if !matches!(member.role, Role::Owner | Role::Admin) {
            continue;
        }
        let Ok(to) = EmailAddress::parse(&member.email) else {
            continue;
        };
        let mail = mails::api_keys_reported(&to, &account_name, keys, &link);
        mail::send_throttled(state, MailKind::ApiKeyReported, mail).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
            ending_before: None,
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
        let back = list(
            &h.state,
            &admin,
            &PageRequest {
                limit: 1,
                starting_after: None,
                ending_before: Some(ids[0].to_string()),
            },
        )
        .await
        .unwrap();
        let names: Vec<&str> = back.items.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, vec!["two"]);
        assert!(back.has_more, "three is newer");
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
    #[tokio::test]
    async fn a_rolled_key_keeps_working_for_its_grace_then_stops() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let new = NewKey {
            scopes: Some(vec![Scope::RecordsRead]),
            ..new_key("deploy")
        };
        let (old, old_secret) = create(&h.state, &admin, new).await.unwrap();
        let rolled = roll(&h.state, &admin, &old.id, 2).await.unwrap();
        assert_ne!(rolled.new.id, old.id);
        assert_eq!(rolled.new.name, "deploy");
        assert_eq!(rolled.new.scopes, Some(vec![Scope::RecordsRead]));
        assert_eq!(rolled.new.hint, api_keys::hint(rolled.key.expose()));
        let two_hours = std::time::Duration::from_secs(2 * 3600);
        assert_eq!(rolled.old_ends_at, h.now().plus(two_hours));
        let listed = h.store.api_key(&acme, &old.id).await.unwrap().unwrap();
        assert_eq!(listed.expires_at, Some(rolled.old_ends_at));
        let holder = |secret: String| {
            let state = h.state.clone();
            async move {
                crate::auth::key_holder(&state, &secret)
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(holder(old_secret.expose().to_owned()).await);
        assert!(holder(rolled.key.expose().to_owned()).await);
        h.advance(two_hours - std::time::Duration::from_millis(1));
        assert!(
            holder(old_secret.expose().to_owned()).await,
            "still in its grace"
        );
        h.advance(std::time::Duration::from_millis(1));
        assert!(!holder(old_secret.expose().to_owned()).await, "ended");
        assert!(holder(rolled.key.expose().to_owned()).await);
        assert_eq!(
            h.store.audit_actions(),
            vec!["api_key.created", "api_key.rolled"]
        );
    }

    #[tokio::test]
    async fn rolling_never_lengthens_a_key_and_refuses_bad_graces() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let soon = h.now().plus(std::time::Duration::from_secs(3600));
        let new = NewKey {
            expires_at: Some(soon),
            ..new_key("short")
        };
        let (old, _) = create(&h.state, &admin, new).await.unwrap();
        let rolled = roll(&h.state, &admin, &old.id, 48).await.unwrap();
        assert_eq!(rolled.old_ends_at, soon, "the earlier end stays");
        assert_eq!(
            rolled.new.expires_at,
            Some(soon),
            "the new key keeps the expiry"
        );
        assert_eq!(
            refused(roll(&h.state, &admin, &rolled.new.id, MAX_ROLL_HOURS + 1).await).field(),
            Some("expires_in_hours")
        );
        assert!(roll_hours(-1).is_err());
        assert_eq!(roll_hours(168), Ok(168));
        h.advance(std::time::Duration::from_secs(3600));
        assert!(matches!(
            refused(roll(&h.state, &admin, &old.id, 1).await),
            Refusal::Conflict {
                code: "api_key_expired",
                ..
            }
        ));
        let other = h.account("Other");
        let (theirs, _) = create(&h.state, &h.admin(&other, "x@other.test"), new_key("k"))
            .await
            .unwrap();
        assert_eq!(
            refused(roll(&h.state, &admin, &theirs.id, 1).await),
            Refusal::NotFound("api_key")
        );
    }

    #[tokio::test]
    async fn rolling_needs_a_recent_sign_in() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let (key, _) = create(&h.state, &admin, new_key("deploy")).await.unwrap();
        let signed_in_at = h.now();
        h.advance(std::time::Duration::from_secs(10 * 60 + 1));
        let stale = h
            .member(&acme, "other@acme.test", Role::Admin)
            .authenticated_at_for_tests(signed_in_at)
            .as_admin()
            .unwrap();
        assert_eq!(
            refused(roll(&h.state, &stale, &key.id, 1).await),
            crate::domain::reauth::required()
        );
        let listed = h.store.api_key(&acme, &key.id).await.unwrap().unwrap();
        assert_eq!(listed.expires_at, None, "nothing changed");
    }

    #[tokio::test]
    async fn a_reported_key_is_revoked_and_its_admins_are_told_by_name() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        h.member(&acme, "owner@acme.test", Role::Owner);
        h.member(&acme, "dev@acme.test", Role::Member);
        let (leaked, secret) = create(&h.state, &admin, new_key("ci")).await.unwrap();
        let (_, kept) = create(&h.state, &admin, new_key("other")).await.unwrap();
        let mut typo = secret.expose().to_owned();
        typo.pop();
        typo.push('x');
        let report = vec![
            "not a key".to_owned(),
            typo,
            format!(" {} ", secret.expose()),
            secret.expose().to_owned(),
            api_keys::generate().expose().to_owned(),
        ];
        assert_eq!(report_leaked(&h.state, &report).await.unwrap(), 1);
        assert!(h.store.api_key(&acme, &leaked.id).await.unwrap().is_none());
        let kept_hash = api_keys::hash(kept.expose());
        assert!(h.store.key_by_hash(&kept_hash).await.unwrap().is_some());
        assert_eq!(
            h.store.audit_actions(),
            vec!["api_key.created", "api_key.created", "api_key.reported"]
        );
        h.settle().await;
        for to in ["admin@acme.test", "owner@acme.test"] {
            let mails = h.mails_to(to);
            let reported: Vec<_> = mails
                .iter()
                .filter(|m| m.subject == "An API key was reported as leaked and revoked")
                .collect();
            assert_eq!(reported.len(), 1, "{to}");
            assert!(reported[0].text.contains("\"ci\""), "{}", reported[0].text);
            assert!(reported[0].text.contains(&leaked.hint));
            assert!(!reported[0].text.contains(secret.expose()));
            assert!(!reported[0].html.contains(secret.expose()));
        }
        assert!(
            h.mails_to("dev@acme.test").is_empty(),
            "members are not told"
        );
        // Reported again: nothing left to revoke, nothing more written.
        assert_eq!(report_leaked(&h.state, &report).await.unwrap(), 0);
        assert_eq!(h.store.audit_actions().len(), 3);
    }

    #[tokio::test]
    async fn an_expired_key_reported_is_left_alone() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let (old, secret) = create(&h.state, &admin, new_key("ci")).await.unwrap();
        roll(&h.state, &admin, &old.id, 0).await.unwrap();
        assert_eq!(
            report_leaked(&h.state, &[secret.expose().to_owned()])
                .await
                .unwrap(),
            0
        );
        assert!(h.store.api_key(&acme, &old.id).await.unwrap().is_some());
    }
    #[tokio::test]
    async fn usage_is_listed_for_the_last_30_days_with_the_last_ip() {
        let h = Harness::new();
        let acme = h.account("Acme");
        let admin = h.admin(&acme, "admin@acme.test");
        let (key, _) = create(&h.state, &admin, new_key("ci")).await.unwrap();
        let today = api_keys::day_of(h.now());
        let used = |at, ip: &str, days: Vec<(i64, u64)>| api_keys::KeyUse {
            key_id: key.id.clone(),
            last_used_at: at,
            last_used_ip: Some(ip.to_owned()),
            days,
        };
        h.store
            .touch_api_keys(&[used(h.now(), "10.0.0.2", vec![(today - 30, 7), (today, 2)])])
            .await
            .unwrap();
        // An older batch (another instance, written late) adds its count, not its IP.
        let earlier = Timestamp(h.now().millis() - 1000);
        h.store
            .touch_api_keys(&[used(earlier, "10.0.0.1", vec![(today, 3)])])
            .await
            .unwrap();
        let listed = get(&h.state, &admin, &key.id).await.unwrap();
        assert_eq!(
            listed.usage,
            vec![api_keys::DailyUsage {
                day: today,
                requests: 5
            }],
            "the day 30 days ago is no longer shown"
        );
        assert_eq!(listed.last_used_ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(listed.last_used_at, Some(h.now()));
        let page = list(&h.state, &admin, &page(10, None)).await.unwrap();
        assert_eq!(page.items[0].usage, listed.usage);
    }
}
