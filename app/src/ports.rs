//! The ports the core needs from the outside world: a [`Store`] for durable state and a
//! [`Mailer`] for email. The `terminus-hub` crate implements them (sqlx, lettre). The records
//! the store reads and writes are domain types (`crate::domain::…`).
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::clock::Timestamp;
use crate::domain::email::EmailAddress;
use crate::domain::lockout::{GuessReservation, LockoutPolicy};
use crate::domain::tokens::TokenPurpose;

// Re-exported while callers move to domain::
pub use crate::domain::accounts::{Account, NewAccount};
pub use crate::domain::api_keys::{ApiKeyRecord, KeyGrant, NewApiKey};
pub use crate::domain::audit::AuditEvent;
pub use crate::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
pub use crate::domain::lockout::Hit;
pub use crate::domain::members::{
    Acceptor, Invitation, MemberRecord, Membership, MembershipChange, NewInvitation,
};
pub use crate::domain::paging::PageRequest;
pub use crate::domain::roles::Role;
pub use crate::domain::sso::{
    EnforceOutcome, ServedDomain, SsoConnection, SsoCreated, SsoSignIn, SsoSignInOutcome,
};
pub use crate::domain::users::{
    ConfirmOutcome, NewPendingSignUp, NewSignUp, PendingSignUp, SignUpOutcome, UserRecord,
};
pub use crate::domain::workspaces::{DataRecord, Workspace};

/// A failure of the storage backend. The message is for logs only, never for pages.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

pub type StoreResult<T> = Result<T, StoreError>;

/// The start of an OpenID Connect sign-in: where to send the browser, and what to keep in
/// the session to check the answer (never shown to anyone).
pub struct SsoStart {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// A DNS lookup that could not be answered (as opposed to an answer without records).
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(pub String);

/// TXT lookups, for proving control of a domain.
#[async_trait]
pub trait DnsTxt: Send + Sync + 'static {
    /// The TXT strings at `name` (each record's character-strings joined); empty when the
    /// name does not exist or has no TXT record.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// Discovery or the token endpoint could not be reached or made no sense. The message is
    /// written by the adapter and safe to show an owner: it never carries fetched content.
    #[error("identity provider unreachable: {0}")]
    Unreachable(String),
    /// The issuer's host resolves to an address single sign-on may not use.
    #[error("the issuer resolves to a loopback, private or reserved address")]
    ForbiddenAddress,
    /// The code exchange or the ID token checks (signature, issuer, audience, expiry, nonce) failed.
    #[error("sign-in could not be verified: {0}")]
    Rejected(String),
}

/// An OpenID Connect relying party (authorization code flow with PKCE, state and nonce).
#[async_trait]
pub trait OidcClient: Send + Sync + 'static {
    /// Fetches the discovery document (and keys); `Ok` names the authorization endpoint.
    async fn check(&self, issuer: &str) -> Result<String, SsoError>;
    async fn start(
        &self,
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<SsoStart, SsoError>;
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        issuer: &str,
        client_id: &str,
        client_secret: &crate::domain::secret::Secret,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SsoIdentity, SsoError>;
}

/// Durable state. Every method is one statement or one transaction, so several server
/// instances sharing one database see the same truth (lockouts, tokens, sessions).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip that commits a one-row write, for `/readyz`: ready means writes
    /// commit, not only that reads answer.
    async fn ping(&self) -> StoreResult<()>;

    /// Creates a confirmed user with their own account and workspace, and writes `audit` in
    /// the same transaction (the admin CLI and the benchmark; browser sign-ups go through
    /// [`Store::confirm_sign_up`]).
    async fn create_user_with_account(
        &self,
        new: NewSignUp,
        audit: AuditEvent,
    ) -> StoreResult<SignUpOutcome>;
    /// Stores (or replaces, for the same email) a pending sign-up.
    async fn put_pending_sign_up(&self, pending: NewPendingSignUp) -> StoreResult<()>;
    /// The live pending sign-up a confirmation link points to.
    async fn pending_sign_up(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<PendingSignUp>>;
    /// Gives a live pending sign-up of `email` a new link (the old one dies); false if none.
    async fn renew_pending_sign_up(
        &self,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Uses the link: in one transaction, deletes the pending sign-up (which must still be the
    /// one behind `token_hash` and live) and writes `new` with its audit event.
    async fn confirm_sign_up(
        &self,
        token_hash: &str,
        new: NewSignUp,
    ) -> StoreResult<ConfirmOutcome>;
    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, user_id: &str) -> StoreResult<Option<UserRecord>>;

    /// Atomically counts a guess before the password is verified (see [`GuessReservation`]).
    async fn reserve_guess(
        &self,
        user_id: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> StoreResult<GuessReservation>;
    /// A correct password: reset the failure count and lock, store an upgraded hash, and give
    /// back the attempt's hit on its client's counter (`refund`: key and window start), all in
    /// one transaction (a sign-in is the hottest write path).
    async fn sign_in_succeeded(
        &self,
        user_id: &str,
        rehash: Option<String>,
        refund: Option<(&str, Timestamp)>,
    ) -> StoreResult<()>;

    /// Counts one hit on the fixed-window counter `key` unless the current window already has
    /// `limit` hits; a window older than `window` starts afresh. Atomic under concurrency.
    async fn count_hit(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
        limit: u32,
    ) -> StoreResult<Hit>;
    /// Gives back a hit counted in the window that started at `window_start`.
    async fn refund_hit(&self, key: &str, window_start: Timestamp) -> StoreResult<()>;

    async fn insert_token(
        &self,
        user_id: &str,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Whether a token could be redeemed now, without using it (to show the right page).
    async fn token_is_live(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Uses an unlock token and clears the lockout.
    async fn redeem_unlock(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<String>>;
    /// Uses a reset token and, in the same transaction: sets the password, confirms the email,
    /// clears the lockout, ends the user's sessions (new epoch) and voids other reset links.
    async fn redeem_reset(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<String>>;

    /// Takes the right to send a mail under `key` if none was sent in the last `interval`.
    async fn take_mail_slot(
        &self,
        key: &str,
        now: Timestamp,
        interval: Duration,
    ) -> StoreResult<bool>;

    async fn memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>>;
    async fn workspaces(&self, account_id: &str) -> StoreResult<Vec<Workspace>>;

    async fn account(&self, account_id: &str) -> StoreResult<Option<Account>>;
    async fn role_in(&self, user_id: &str, account_id: &str) -> StoreResult<Option<Role>>;
    async fn record_audit(&self, event: AuditEvent) -> StoreResult<()>;

    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyGrant>>;
    /// Stores a new key and its audit event in one transaction.
    async fn create_api_key(&self, key: NewApiKey, audit: AuditEvent) -> StoreResult<ApiKeyRecord>;
    /// Up to `page.limit + 1` keys, so the caller can tell whether there are more.
    async fn list_api_keys(
        &self,
        account_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Vec<ApiKeyRecord>>;
    async fn api_key(&self, account_id: &str, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// Deletes a key and writes its audit event in one transaction; `false` (nothing written)
    /// when the account has no such key.
    async fn delete_api_key(
        &self,
        account_id: &str,
        key_id: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Writes batched "last used" times (each only moves forward).
    async fn touch_api_keys(&self, used: &[(String, Timestamp)]) -> StoreResult<()>;

    async fn list_workspaces(
        &self,
        account_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Vec<Workspace>>;
    async fn workspace(
        &self,
        account_id: &str,
        workspace_id: &str,
    ) -> StoreResult<Option<Workspace>>;
    async fn create_workspace(&self, workspace: &Workspace) -> StoreResult<()>;
    async fn rename_workspace(
        &self,
        account_id: &str,
        workspace_id: &str,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Workspace>>;
    /// Deletes the workspace and its records.
    async fn delete_workspace(&self, account_id: &str, workspace_id: &str) -> StoreResult<bool>;

    async fn list_records(
        &self,
        account_id: &str,
        workspace_id: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Vec<DataRecord>>;
    async fn record(&self, account_id: &str, record_id: &str) -> StoreResult<Option<DataRecord>>;
    /// `false` when the workspace is not in this account (nothing written).
    async fn create_record(&self, record: &DataRecord) -> StoreResult<bool>;
    async fn update_record(
        &self,
        account_id: &str,
        record_id: &str,
        data: &str,
        now: Timestamp,
    ) -> StoreResult<Option<DataRecord>>;
    async fn delete_record(&self, account_id: &str, record_id: &str) -> StoreResult<bool>;

    async fn create_account(&self, new: NewAccount) -> StoreResult<()>;
    async fn members(&self, account_id: &str) -> StoreResult<Vec<MemberRecord>>;
    /// Changes a role, refusing to leave the account without an owner (serialised per account).
    async fn change_role(
        &self,
        account_id: &str,
        user_id: &str,
        role: Role,
    ) -> StoreResult<MembershipChange>;
    async fn remove_member(&self, account_id: &str, user_id: &str)
        -> StoreResult<MembershipChange>;
    /// Stores an invitation, revoking any pending one for the same email in that account.
    async fn create_invitation(&self, new: NewInvitation) -> StoreResult<()>;
    /// Pending invitations (not accepted, revoked or expired).
    async fn invitations(&self, account_id: &str, now: Timestamp) -> StoreResult<Vec<Invitation>>;
    async fn invitation(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    async fn invitation_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    async fn revoke_invitation(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Uses the invitation and adds the membership (creating the user if new), in one
    /// transaction. `None`: the invitation is no longer live.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: Acceptor,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
    async fn audit_events(&self, account_id: &str, limit: u32) -> StoreResult<Vec<AuditEvent>>;

    async fn add_domain(
        &self,
        domain: AccountDomain,
        audit: AuditEvent,
    ) -> StoreResult<AddDomainOutcome>;
    async fn domains(&self, account_id: &str) -> StoreResult<Vec<AccountDomain>>;
    async fn domain(&self, account_id: &str, id: &str) -> StoreResult<Option<AccountDomain>>;
    /// Marks the domain verified unless another account holds it verified.
    async fn verify_domain(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<VerifyDomainOutcome>;
    /// Deletes the domain (connections stop serving it). False when there was none.
    async fn delete_domain(
        &self,
        account_id: &str,
        id: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool>;

    /// Stores the connection serving the given account domains (by id), with its audit event.
    async fn create_sso_connection(
        &self,
        connection: &SsoConnection,
        domain_ids: &[String],
        audit: AuditEvent,
    ) -> StoreResult<SsoCreated>;
    async fn sso_connections(&self, account_id: &str) -> StoreResult<Vec<SsoConnection>>;
    /// Switches enforcement off (on goes through [`Store::enforce_sso`]).
    async fn stop_enforcing_sso(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Records a completed test sign-in through the connection.
    async fn mark_sso_tested(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// People whose password sign-in enforcing this connection would refuse: users with an
    /// email on a verified domain it serves who are not owners or admins of its account.
    async fn sso_enforcement_affects(&self, account_id: &str, id: &str) -> StoreResult<u64>;
    /// Enforces the connection (only after a test sign-in) and, in the same transaction, ends
    /// the password sessions of the people it affects.
    async fn enforce_sso(
        &self,
        account_id: &str,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EnforceOutcome>;
    async fn delete_sso_connection(
        &self,
        account_id: &str,
        id: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// The connection serving an email domain through a verified account domain, if any.
    async fn sso_for_domain(&self, domain: &str) -> StoreResult<Option<SsoConnection>>;
    /// After a verified ID token, in one transaction: find the user by (connection, subject);
    /// or, the first time, link the user with that email or provision one (confirmed, no
    /// password, a member of the connection's account) and record the identity; then the
    /// audit event.
    async fn sso_sign_in(
        &self,
        sign_in: SsoSignIn,
        audit: AuditEvent,
    ) -> StoreResult<SsoSignInOutcome>;

    /// Clears a user's failure count and lock, with its audit event; false when no such user.
    async fn unlock_user(&self, user_id: &str, audit: AuditEvent) -> StoreResult<bool>;
    /// Stores a one-time token like [`Store::insert_token`], with its audit event.
    async fn insert_token_audited(
        &self,
        user_id: &str,
        purpose: TokenPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()>;
    /// Puts an account on `plan`, with its audit event; the plan it was on, or `None` when
    /// there is no such account (nothing written).
    async fn set_account_plan(
        &self,
        account_id: &str,
        plan: &str,
        audit: AuditEvent,
    ) -> StoreResult<Option<String>>;
    /// A key by its id, in whichever account it is (the operator's command line).
    async fn api_key_by_id(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;

    /// Deletes what can no longer matter: old rate counters, spent or expired tokens, expired
    /// pending sign-ups.
    async fn prune(&self, now: Timestamp, counter_age: Duration) -> StoreResult<()>;
}

/// One email, with a plain-text and an HTML part. `Debug` omits the bodies: they hold links.
#[derive(Clone)]
pub struct OutgoingEmail {
    pub to: EmailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

/// Sends email: over SMTP, or into an outbox folder when no SMTP server is configured.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}
