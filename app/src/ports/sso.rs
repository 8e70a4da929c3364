//! Single sign-on: an account's connections to identity providers (serving its verified
//! domains), and the identities they sign in.
use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::AuditEvent;
use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ConnectionId, DomainId, UserId};
use crate::domain::sso::{EnforceOutcome, SsoConnection, SsoCreated, SsoSignIn, SsoSignInOutcome};

/// SSO connections and SSO identities.
#[async_trait]
pub trait SsoStore: Send + Sync + 'static {
    /// Stores the connection serving the given account domains (by id), with its audit event.
    async fn create_sso_connection(
        &self,
        connection: &SsoConnection,
        domain_ids: &[DomainId],
        audit: AuditEvent,
    ) -> StoreResult<SsoCreated>;
    async fn sso_connections(&self, account_id: &AccountId) -> StoreResult<Vec<SsoConnection>>;
    /// Switches enforcement off (on goes through [`SsoStore::enforce_sso`]).
    async fn stop_enforcing_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Turns "create users on first sign-in" on or off, with its audit event; false when
    /// there is no such connection (nothing written).
    async fn set_sso_create_users(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        create_users: bool,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// Records a completed test sign-in through the connection.
    async fn mark_sso_tested(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// People whose password sign-in enforcing this connection would refuse: users with an
    /// email on a verified domain it serves who are not owners or admins of its account.
    async fn sso_enforcement_affects(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> StoreResult<u64>;
    /// Enforces the connection (only after a test sign-in) and, in the same transaction, ends
    /// the password sessions of the people it affects.
    async fn enforce_sso(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<EnforceOutcome>;
    async fn delete_sso_connection(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
        audit: AuditEvent,
    ) -> StoreResult<bool>;
    /// The connection serving an email domain through a verified account domain, if any.
    async fn sso_for_domain(&self, domain: &str) -> StoreResult<Option<SsoConnection>>;
    /// The user an identity (connection, subject) is linked to, if any (reads only).
    async fn user_of_identity(
        &self,
        connection_id: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<UserId>>;
    /// After a verified ID token, in one transaction: find the user by (connection, subject);
    /// or, the first time, link the user with that email or provision one (confirmed, no
    /// password, a member of the connection's account) and record the identity; then the
    /// audit event. Refuses (writing nothing) when the connection no longer serves the user's
    /// email domain, and when a user would be created that the sign-up policy does not allow
    /// (`may_create_user` false and no live invitation for them). Accepts the invitation it
    /// is given when it names the user (membership with its role, and its audit event).
    async fn sso_sign_in(
        &self,
        sign_in: SsoSignIn,
        audit: AuditEvent,
    ) -> StoreResult<SsoSignInOutcome>;
}
