//! The unit tests' application (test builds only): an [`AppState`] over the in-memory store
//! (`ports::fake`) and a fake of every other port, with handles to look inside them.
//!
//! - [`Harness::store`]: the [`MemoryStore`] the state holds (set up with its `add_…`
//!   methods or through the store's traits, and inspected after a flow ran);
//! - [`Harness::mailer`]: every mail "sent", in order;
//! - [`Harness::clock`]: a [`ManualClock`], moved with [`Harness::advance`];
//! - a fast argon2 hasher ([`Passwords::for_tests`]) and a fixed sealing key;
//! - [`Harness::oidc`] and [`Harness::dns`]: identity provider and DNS answers a test sets.
//!
//! Flows that work after their answer (`AppState::after_answer`, `send_mail_later`) run on
//! the state's task tracker: [`Harness::settle`] waits until all of it is done.
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::task::TaskTracker;

use crate::auth::{AdminOf, MemberOf, OwnerOf, Signed};
use crate::domain::audit::AuditEvent;
use crate::domain::clock::{Clock, ManualClock, Timestamp};
use crate::domain::domains::{AccountDomain, AddDomainOutcome};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{AccountId, ConnectionId, DomainId, UserId, WorkspaceId};
use crate::domain::roles::Role;
use crate::domain::secret::Secret;
use crate::domain::sso::{ServedDomain, SsoConnection, SsoCreated};
use crate::domain::users::NewSignUp;
use crate::flows::{Outcome, Refusal, Stopped};
use crate::hashing::Passwords;
use crate::ports::fake::MemoryStore;
use crate::ports::prelude::*;
use crate::ports::{
    DnsError, DnsTxt, MailError, Mailer, OidcClient, OutgoingEmail, SsoError, SsoIdentity, SsoStart,
};
use crate::sealing::SealingKey;
use crate::{AppParts, AppState, WebConfig};

/// The public URL of the unit tests' server (links in mails start with it).
pub const PUBLIC_URL: &str = "http://hub.test";

/// A password the policy accepts.
pub const PASSWORD: &str = "plum tree violin sunset";

/// 32 zero bytes: the unit tests' sealing key.
const SEALING_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A mailer that keeps every mail.
#[derive(Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<OutgoingEmail>>,
}

impl RecordingMailer {
    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        lock(&self.sent).clone()
    }

    /// The mails sent to `to` (as written), oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<OutgoingEmail> {
        self.sent()
            .into_iter()
            .filter(|m| m.to.as_str() == to)
            .collect()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        lock(&self.sent).push(email.clone());
        Ok(())
    }
}

/// How the fake identity provider answers a code exchange.
#[derive(Debug, Clone)]
pub enum OidcAnswer {
    Identity(SsoIdentity),
    /// The token checks fail ([`SsoError::Rejected`]).
    Rejected,
    /// The token endpoint does not answer ([`SsoError::Unreachable`]).
    Unreachable,
}

/// An identity provider whose answers a test sets: discovery works unless
/// [`FakeOidc::set_unreachable`]; a code exchange answers [`FakeOidc::answer`] (rejected
/// until one is set) and keeps the client secret it was given.
pub struct FakeOidc {
    unreachable: AtomicBool,
    answer: Mutex<OidcAnswer>,
    secrets: Mutex<Vec<String>>,
}

impl Default for FakeOidc {
    fn default() -> Self {
        Self {
            unreachable: AtomicBool::new(false),
            answer: Mutex::new(OidcAnswer::Rejected),
            secrets: Mutex::new(Vec::new()),
        }
    }
}

impl FakeOidc {
    /// Discovery (and sign-in) fail as if the provider were down.
    pub fn set_unreachable(&self, down: bool) {
        self.unreachable.store(down, Ordering::SeqCst);
    }

    pub fn answer(&self, answer: OidcAnswer) {
        *lock(&self.answer) = answer;
    }

    /// Answers a verified identity: `subject`, with `email` verified or not.
    pub fn sign_in_as(&self, subject: &str, email: &str, verified: bool) {
        self.answer(OidcAnswer::Identity(SsoIdentity {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: verified,
        }));
    }

    /// The client secrets code exchanges were made with (opened from their seal).
    pub fn secrets_seen(&self) -> Vec<String> {
        lock(&self.secrets).clone()
    }
}

#[async_trait]
impl OidcClient for FakeOidc {
    async fn check(&self, issuer: &str) -> Result<String, SsoError> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(SsoError::Unreachable("no answer (test)".into()));
        }
        Ok(format!("{issuer}/authorize"))
    }

    async fn start(
        &self,
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<SsoStart, SsoError> {
        self.check(issuer).await?;
        Ok(SsoStart {
            authorize_url: format!(
                "{issuer}/authorize?client_id={client_id}&redirect_uri={redirect_uri}&login_hint={login_hint}"
            ),
            state: "state".into(),
            nonce: "nonce".into(),
            pkce_verifier: "verifier".into(),
        })
    }

    async fn finish(
        &self,
        _issuer: &str,
        _client_id: &str,
        client_secret: &Secret,
        _redirect_uri: &str,
        _code: &str,
        _pkce_verifier: &str,
        _nonce: &str,
    ) -> Result<SsoIdentity, SsoError> {
        lock(&self.secrets).push(client_secret.expose().to_owned());
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(SsoError::Unreachable("no answer (test)".into()));
        }
        match lock(&self.answer).clone() {
            OidcAnswer::Identity(identity) => Ok(identity),
            OidcAnswer::Rejected => Err(SsoError::Rejected("bad signature (test)".into())),
            OidcAnswer::Unreachable => Err(SsoError::Unreachable("timed out (test)".into())),
        }
    }
}

/// DNS whose TXT records a test publishes, and which can go down.
#[derive(Default)]
pub struct FakeDns {
    records: Mutex<BTreeMap<String, Vec<String>>>,
    down: AtomicBool,
    lookups: Mutex<Vec<String>>,
}

impl FakeDns {
    pub fn publish(&self, name: &str, value: &str) {
        lock(&self.records)
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
    }

    /// Lookups fail (as opposed to answering "no record").
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The names looked up so far.
    pub fn lookups(&self) -> Vec<String> {
        lock(&self.lookups).clone()
    }
}

#[async_trait]
impl DnsTxt for FakeDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        lock(&self.lookups).push(name.to_owned());
        if self.down.load(Ordering::SeqCst) {
            return Err(DnsError("SERVFAIL (test)".into()));
        }
        Ok(lock(&self.records).get(name).cloned().unwrap_or_default())
    }
}

/// An [`AppState`] over fakes, and the fakes.
pub struct Harness {
    pub state: AppState,
    pub store: Arc<MemoryStore>,
    pub mailer: Arc<RecordingMailer>,
    pub clock: Arc<ManualClock>,
    pub oidc: Arc<FakeOidc>,
    pub dns: Arc<FakeDns>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// With the default settings (`WebConfig::new(PUBLIC_URL)`).
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// With the default settings as `change` changes them.
    pub fn with_config(change: impl FnOnce(&mut WebConfig)) -> Self {
        let mut config = WebConfig::new(PUBLIC_URL);
        change(&mut config);
        let store = Arc::new(MemoryStore::new());
        let mailer = Arc::new(RecordingMailer::default());
        let clock = Arc::new(ManualClock::starting_now());
        let oidc = Arc::new(FakeOidc::default());
        let dns = Arc::new(FakeDns::default());
        let state = AppState::new(AppParts {
            store: store.clone(),
            mailer: mailer.clone(),
            clock: clock.clone(),
            passwords: Passwords::for_tests().expect("a test hasher"),
            sealing: Arc::new(SealingKey::from_base64(SEALING_KEY).expect("a sealing key")),
            config: Arc::new(config),
            oidc: oidc.clone(),
            dns: dns.clone(),
            background: TaskTracker::new(),
        });
        Self {
            state,
            store,
            mailer,
            clock,
            oidc,
            dns,
        }
    }

    /// Waits until the work flows left for after their answer (and the mails it sends) is
    /// done.
    pub async fn settle(&self) {
        let background = &self.state.background;
        background.close();
        background.wait().await;
        background.reopen();
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The mails sent to `to` so far (after [`Harness::settle`] for background ones).
    pub fn mails_to(&self, to: &str) -> Vec<OutgoingEmail> {
        self.mailer.sent_to(to)
    }

    pub async fn hash(&self, password: &str) -> String {
        self.state
            .passwords
            .hash(&Secret::new(password))
            .await
            .expect("a hash")
    }

    /// A confirmed user with `password` (if any) and their own account with its "Main"
    /// workspace, as a confirmed sign-up leaves them: (user id, account id).
    pub async fn signed_up(&self, email: &str, password: Option<&str>) -> (UserId, AccountId) {
        let email = EmailAddress::parse(email).expect("an email");
        let password_hash = match password {
            Some(p) => Some(self.hash(p).await),
            None => None,
        };
        let user_id = UserId::new();
        let account_id = AccountId::new();
        let now = self.now();
        let created = self
            .store
            .create_user_with_account(
                NewSignUp {
                    user_id: user_id.clone(),
                    email: email.clone(),
                    password_hash,
                    account_id: account_id.clone(),
                    account_name: format!("{}'s account", email.local_part()),
                    plan: "free".into(),
                    workspace_id: WorkspaceId::new(),
                    workspace_name: "Main".into(),
                    now,
                },
                audit(&account_id, "user.created", now),
            )
            .await
            .expect("the store");
        assert_eq!(created, crate::domain::users::SignUpOutcome::Created);
        (user_id, account_id)
    }

    /// A new account with nobody in it: its id.
    pub fn account(&self, name: &str) -> AccountId {
        let id = AccountId::new();
        self.store.add_account(&id, name);
        id
    }

    /// A new user (no password) who is `role` in `account_id`, acting there.
    pub fn member(&self, account_id: &AccountId, email: &str, role: Role) -> MemberOf {
        let user_id = UserId::new();
        self.store.add_member(account_id, &user_id, email, role);
        MemberOf::for_tests(&user_id, email, account_id, role)
    }

    /// A user with [`PASSWORD`] who is `role` in `account_id`: their id.
    pub async fn user_in(&self, account_id: &AccountId, email: &str, role: Role) -> UserId {
        let user_id = UserId::new();
        let hash = self.hash(PASSWORD).await;
        self.store.add_user(&user_id, email, Some(hash));
        self.store.add_member(account_id, &user_id, email, role);
        user_id
    }

    pub fn admin(&self, account_id: &AccountId, email: &str) -> AdminOf {
        self.member(account_id, email, Role::Admin)
            .as_admin()
            .expect("an admin")
    }

    pub fn owner(&self, account_id: &AccountId, email: &str) -> OwnerOf {
        self.member(account_id, email, Role::Owner)
            .as_owner()
            .expect("an owner")
    }

    /// `member` as the signed-in person, in their account.
    pub fn signed(member: &MemberOf) -> Signed {
        Signed::for_tests(member.user_id(), member.email(), Some(member.account_id()))
    }

    /// `domain`, added (not verified) to `account_id` through the store: its id.
    pub async fn account_domain(&self, account_id: &AccountId, domain: &str) -> DomainId {
        let now = self.now();
        let added = self
            .store
            .add_domain(
                AccountDomain {
                    id: DomainId::new(),
                    account_id: account_id.clone(),
                    domain: domain.into(),
                    token: "token".into(),
                    verified_at: None,
                    created_at: now,
                },
                audit(account_id, "domain.added", now),
            )
            .await
            .expect("the store");
        match added {
            AddDomainOutcome::Added(d) | AddDomainOutcome::AlreadyAdded(d) => d.id,
        }
    }

    /// `domain`, added and verified for `account_id` through the store: its id.
    pub async fn verified_domain(&self, account_id: &AccountId, domain: &str) -> DomainId {
        let id = self.account_domain(account_id, domain).await;
        let now = self.now();
        self.store
            .verify_domain(
                account_id,
                &id,
                now,
                audit(account_id, "domain.verified", now),
            )
            .await
            .expect("the store");
        id
    }

    /// A connection of `account_id` serving `domains` (verified here first), through the
    /// store; tested and enforced when `enforced`. Its client secret is "secret".
    pub async fn sso(
        &self,
        account_id: &AccountId,
        domains: &[&str],
        enforced: bool,
    ) -> SsoConnection {
        let now = self.now();
        let mut domain_ids = Vec::new();
        for domain in domains {
            domain_ids.push(self.verified_domain(account_id, domain).await);
        }
        let connection = SsoConnection {
            id: ConnectionId::new(),
            account_id: account_id.clone(),
            issuer: "https://login.example.com".into(),
            client_id: "client".into(),
            client_secret_sealed: self
                .state
                .sealing
                .seal(&Secret::new("secret"))
                .expect("sealed"),
            enforced: false,
            create_users: false,
            domains: domains
                .iter()
                .map(|d| ServedDomain {
                    domain: (*d).to_owned(),
                    verified: true,
                })
                .collect(),
            tested_at: None,
            created_at: now,
        };
        let created = self
            .store
            .create_sso_connection(&connection, &domain_ids, audit(account_id, "sso", now))
            .await
            .expect("the store");
        assert_eq!(created, SsoCreated::Created);
        if enforced {
            let store = &self.store;
            let id = &connection.id;
            store
                .mark_sso_tested(account_id, id, now, audit(account_id, "sso", now))
                .await
                .expect("the store");
            store
                .enforce_sso(account_id, id, now, audit(account_id, "sso", now))
                .await
                .expect("the store");
        }
        self.store
            .sso_connections(account_id)
            .await
            .expect("the store")
            .into_iter()
            .find(|c| c.id == connection.id)
            .expect("the connection")
    }
}

/// An audit event of test setup.
fn audit(account_id: &AccountId, action: &str, at: Timestamp) -> AuditEvent {
    AuditEvent {
        account_id: Some(account_id.clone()),
        actor_user_id: None,
        action: action.into(),
        detail: None,
        at,
    }
}

/// The refusal a flow answered (the test fails on anything else).
pub fn refused<T: Debug>(outcome: Outcome<T>) -> Refusal {
    match outcome {
        Err(Stopped::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The stable code of a refusal (`NotFound` and `MissingScope` have none of their own).
pub fn code(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::NotAllowed { code, .. }
        | Refusal::Conflict { code, .. }
        | Refusal::TooSoon { code, .. }
        | Refusal::Invalid { code, .. }
        | Refusal::Unmet { code, .. }
        | Refusal::Unavailable { code, .. } => code,
        Refusal::NotFound(_) => "not_found",
        Refusal::MissingScope(_) => "missing_scope",
    }
}

/// The code of the refusal a flow answered.
pub fn refused_code<T: Debug>(outcome: Outcome<T>) -> &'static str {
    code(&refused(outcome))
}

/// The hash of the token in a mail's link (what the link's page looks up).
pub fn link_token(mail: &OutgoingEmail) -> String {
    token_of(&mail.text)
}

/// The hash of the token in the first link with a `token=` in `text`.
pub fn token_of(text: &str) -> String {
    let (_, after) = text.split_once("token=").expect("a link with a token");
    let raw: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    crate::domain::tokens::token_hash(&raw).expect("a well-formed token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settle_waits_for_work_after_the_answer_and_the_mail_it_sends() {
        let h = Harness::new();
        let state = h.state.clone();
        h.state.after_answer("a test", async move {
            tokio::task::yield_now().await;
            let to = EmailAddress::parse("a@example.com").unwrap();
            state.send_mail_later(crate::mails::reset_password(&to, "http://hub.test/x"));
            Ok::<(), std::convert::Infallible>(())
        });
        assert!(h.mailer.sent().is_empty());
        h.settle().await;
        assert_eq!(h.mails_to("a@example.com").len(), 1);
        // The tracker works again afterwards.
        h.state.send_mail_later(h.mailer.sent().pop().unwrap());
        h.settle().await;
        assert_eq!(h.mailer.sent().len(), 2);
    }

    #[tokio::test]
    async fn the_test_hasher_verifies_what_it_hashed() {
        let h = Harness::new();
        let hash = h.hash(PASSWORD).await;
        let verdict = h
            .state
            .passwords
            .verify(&Secret::new(PASSWORD), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            verdict,
            crate::hashing::Verification::Match { rehash: None }
        );
    }
}
