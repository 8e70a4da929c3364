//! The tests' typed look into the state the public surface cannot show (a password hash at
//! rest, the failure counter, how many pending sign-ups there are), and the few changes no
//! user or operator can make (a hash of older parameters, a plan no longer offered). It goes
//! through the server's own store (`app::ports`), on whichever database the suite runs on,
//! never through SQL text of its own.
use std::sync::Arc;

use app::domain::audit::AuditEvent;
use app::domain::clock::Clock as _;
use app::domain::clock::ManualClock;
use app::domain::domains::AccountDomain;
use app::domain::email::EmailAddress;
use app::domain::ids::{AccountId, ApiKeyId, UserId};
use app::domain::members::{MemberRecord, Membership};
use app::domain::roles::Role;
use app::domain::sso::SsoConnection;
use app::domain::users::UserRecord;
use app::ports::operations::Tally;
use app::ports::Store;
use terminus_hub::db::Database;
use terminus_hub::Config;

pub struct World {
    store: Arc<dyn Store>,
    /// Set when this world opened the database itself (see [`World::open`]).
    database: Option<Database>,
    clock: Arc<ManualClock>,
}

impl World {
    /// The store of a server running in this process (`Application::store`): a second open
    /// of a SQLite file in the process that serves it would drop the server's locks.
    pub fn of(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> World {
        World {
            store,
            database: None,
            clock,
        }
    }

    /// Opens the database at `database_url` for a server running in another process.
    pub async fn open(database_url: &str, clock: Arc<ManualClock>) -> World {
        let config = Config {
            database_url: database_url.to_owned(),
            db_max_connections: 2,
            ..Config::default()
        };
        let database = Database::connect(&config)
            .await
            .expect("open the test database's store");
        World {
            store: database.store(),
            database: Some(database),
            clock,
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Closes the database if this world opened it (a server's own pool closes with it).
    pub async fn close(&self) {
        if let Some(database) = &self.database {
            database.close().await;
        }
    }

    /// How many users, pending sign-ups, accounts, … the store holds.
    pub async fn tally(&self) -> Tally {
        self.store().tally().await.expect("tally the store")
    }

    /// The user with this address, if there is one.
    pub async fn user(&self, email: &str) -> Option<UserRecord> {
        let email = EmailAddress::parse(email).expect("a valid address");
        self.store()
            .user_by_email(&email)
            .await
            .expect("read a user")
    }

    /// The user with this address; the test fails when there is none.
    pub async fn existing_user(&self, email: &str) -> UserRecord {
        self.user(email)
            .await
            .unwrap_or_else(|| panic!("no user {email}"))
    }

    pub async fn user_by_id(&self, user_id: &str) -> UserRecord {
        self.store()
            .user_by_id(&UserId::from_stored(user_id))
            .await
            .expect("read a user")
            .unwrap_or_else(|| panic!("no user {user_id}"))
    }

    /// The lockout's count of wrong passwords since the last right one.
    pub async fn failed_attempts(&self, email: &str) -> u32 {
        self.existing_user(email).await.failed_attempts
    }

    /// The password hash stored for `email` (`None`: the user has no password).
    /// Whether password sign-in is blocked for `email` ("This wasn't me", until a reset).
    pub async fn password_blocked(&self, email: &str) -> bool {
        let user = self.existing_user(email).await;
        self.store()
            .password_blocked(&user.id)
            .await
            .expect("read the block")
    }

    pub async fn password_hash(&self, email: &str) -> Option<String> {
        self.existing_user(email).await.password_hash
    }

    /// Stores `hash` as the user's password hash, as a sign-in that upgrades an old hash does
    /// (how a hash of older parameters gets there).
    pub async fn store_password_hash(&self, email: &str, hash: &str) {
        let user = self.existing_user(email).await;
        self.store()
            .sign_in_succeeded(&user.id, Some(hash.to_owned()), None)
            .await
            .expect("store a password hash");
    }

    /// The accounts `email` belongs to, with their role there.
    pub async fn memberships(&self, email: &str) -> Vec<Membership> {
        let user = self.existing_user(email).await;
        self.store()
            .memberships(&user.id)
            .await
            .expect("read memberships")
    }

    /// The roles `email` holds, one per account.
    pub async fn roles(&self, email: &str) -> Vec<Role> {
        self.memberships(email)
            .await
            .into_iter()
            .map(|m| m.role)
            .collect()
    }

    /// The one account `email` belongs to; the test fails when they belong to none or several.
    pub async fn only_account_of(&self, email: &str) -> String {
        let memberships = self.memberships(email).await;
        assert_eq!(memberships.len(), 1, "{email} belongs to one account");
        memberships[0].account_id.as_str().to_owned()
    }

    /// The members of an account.
    pub async fn members(&self, account_id: &str) -> Vec<MemberRecord> {
        self.store()
            .members(&AccountId::from_stored(account_id))
            .await
            .expect("read members")
    }

    /// The account an API key opens.
    /// Claims an idempotency key of `account_id` for a request that never answers (as when
    /// its instance stopped mid-way).
    pub async fn claim_idempotency_key(&self, account_id: &str, key: &str, request_hash: &str) {
        let now = self.clock.now();
        self.store()
            .claim_idempotency_key(
                &app::domain::ids::AccountId::from_stored(account_id),
                key,
                request_hash,
                now,
                now.plus(app::domain::idempotency::KEPT_FOR),
            )
            .await
            .expect("claim a key");
    }

    pub async fn key_account(&self, key_id: &str) -> String {
        self.store()
            .api_key_by_id(&ApiKeyId::from_stored(key_id))
            .await
            .expect("read a key")
            .unwrap_or_else(|| panic!("no key {key_id}"))
            .account_id
            .into_string()
    }

    /// The single sign-on connections of an account.
    pub async fn sso_connections(&self, account_id: &str) -> Vec<SsoConnection> {
        self.store()
            .sso_connections(&AccountId::from_stored(account_id))
            .await
            .expect("read connections")
    }

    /// The connection serving `domain`, if any.
    pub async fn sso_connection_for(&self, domain: &str) -> Option<SsoConnection> {
        self.store()
            .sso_for_domain(domain)
            .await
            .expect("read a connection")
    }

    /// An account's domains, verified or not.
    pub async fn domains(&self, account_id: &str) -> Vec<AccountDomain> {
        self.store()
            .domains(&AccountId::from_stored(account_id))
            .await
            .expect("read domains")
    }

    /// The names of an account's workspaces.
    pub async fn workspace_names(&self, account_id: &str) -> Vec<String> {
        self.store()
            .workspaces(&AccountId::from_stored(account_id))
            .await
            .expect("read workspaces")
            .into_iter()
            .map(|w| w.name)
            .collect()
    }

    /// The account's audit events, newest first.
    pub async fn audit_events(&self, account_id: &str) -> Vec<AuditEvent> {
        self.store()
            .audit_events(&AccountId::from_stored(account_id), 1000)
            .await
            .expect("read audit events")
    }

    /// The actions of the account's audit events, oldest first.
    pub async fn audit_actions(&self, account_id: &str) -> Vec<String> {
        let mut events = self.audit_events(account_id).await;
        events.reverse();
        events.into_iter().map(|e| e.action).collect()
    }

    /// Puts an account on `plan` without checking that the plan is offered (as when an
    /// operator removes a plan from the configuration while accounts are on it).
    pub async fn put_on_plan(&self, account_id: &str, plan: &str) {
        let audit = AuditEvent {
            account_id: Some(AccountId::from_stored(account_id)),
            actor_user_id: None,
            action: "account.plan_changed".into(),
            detail: Some(plan.to_owned()),
            at: self.clock.now(),
        };
        self.store()
            .set_account_plan(&AccountId::from_stored(account_id), plan, audit)
            .await
            .expect("set a plan")
            .expect("the account exists");
    }
}

impl World {
    /// Forgets API key usage of days before `first_day` (what the server's housekeeping does
    /// every few minutes).
    pub async fn prune_key_usage(&self, first_day: i64) {
        self.store
            .prune_key_usage(first_day)
            .await
            .expect("prune key usage");
    }
}
