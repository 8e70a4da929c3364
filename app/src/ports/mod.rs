//! The ports the core needs from the outside world: a [`Store`] for durable state, a
//! [`Mailer`] for email, [`DnsTxt`] lookups and an [`OidcClient`]. The `terminus-hub` crate
//! implements them (sqlx, lettre, hickory, openidconnect).
//!
//! The store is one trait per aggregate, each named for what it holds: [`UserStore`] (users,
//! pending sign-ups, the lockout counter), [`ThrottleStore`] (rate counters, mail slots),
//! [`TokenStore`] (one-time tokens), [`AccountStore`], [`MembershipStore`] (memberships and
//! invitations), [`DomainStore`] (account domains), [`SsoStore`] (connections and identities),
//! [`ApiKeyStore`], [`WorkspaceStore`] (workspaces and records), [`AuditStore`] and
//! [`OperationsStore`] (the readiness probe, pruning), [`OperatorStore`] (the hub seen
//! whole, for the operator's command line), [`SessionsStore`] (a person's
//! signed-in sessions, as they list and end them) and [`SecondFactorStore`] (authenticator
//! apps, recovery codes) and [`DeviceStore`] (known devices, "This wasn't me" links, password
//! blocks); [`Store`] is all of them:
//! `Arc<dyn Store>` is what the app holds. The records they read and write are domain types
//! (`crate::domain::…`).
//!
//! On a `dyn Store` (or an `S: Store`) every aggregate's methods can be called as they are; on
//! a concrete store type, bring the traits into scope with `use crate::ports::prelude::*;`. A
//! function that needs one aggregate can take just it, e.g. `&dyn MembershipStore`: the
//! `&dyn Store` a flow holds coerces to it, and a unit test can pass an in-memory fake of
//! that aggregate alone (`ports::fake`, test builds only).
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod devices;
pub mod dns;
pub mod domains;
#[cfg(test)]
pub mod fake;
pub mod idempotency;
pub mod mailer;
pub mod memberships;
pub mod oidc;
pub mod operations;
pub mod operator;
pub mod second_factors;
pub mod sessions;
pub mod sso;
pub mod throttles;
pub mod tokens;
pub mod users;
pub mod workspaces;

pub use accounts::AccountStore;
pub use api_keys::ApiKeyStore;
pub use audit::AuditStore;
pub use devices::DeviceStore;
pub use dns::{DnsError, DnsTxt};
pub use domains::DomainStore;
pub use idempotency::IdempotencyStore;
pub use mailer::{MailError, Mailer, OutgoingEmail};
pub use memberships::MembershipStore;
pub use oidc::{OidcClient, SsoError, SsoIdentity, SsoStart};
pub use operations::OperationsStore;
pub use operator::OperatorStore;
pub use second_factors::SecondFactorStore;
pub use sessions::SessionsStore;
pub use sso::SsoStore;
pub use throttles::ThrottleStore;
pub use tokens::TokenStore;
pub use users::UserStore;
pub use workspaces::WorkspaceStore;

/// A failure of the storage backend. The message is for logs only, never for pages.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

pub type StoreResult<T> = Result<T, StoreError>;

/// Durable state: every aggregate's store. Every method is one statement or one transaction,
/// so several server instances sharing one database see the same truth (lockouts, tokens,
/// sessions). Implemented by anything that implements every aggregate's trait.
pub trait Store:
    UserStore
    + ThrottleStore
    + TokenStore
    + AccountStore
    + MembershipStore
    + DomainStore
    + SsoStore
    + ApiKeyStore
    + WorkspaceStore
    + AuditStore
    + OperationsStore
    + OperatorStore
    + SessionsStore
    + SecondFactorStore
    + DeviceStore
    + IdempotencyStore
{
}

impl<T> Store for T where
    T: UserStore
        + ThrottleStore
        + TokenStore
        + AccountStore
        + MembershipStore
        + DomainStore
        + SsoStore
        + ApiKeyStore
        + WorkspaceStore
        + AuditStore
        + OperationsStore
        + OperatorStore
        + SessionsStore
        + SecondFactorStore
        + DeviceStore
        + IdempotencyStore
{
}

/// The store's traits, for `use crate::ports::prelude::*;` wherever store methods are called.
pub mod prelude {
    pub use super::{
        AccountStore, ApiKeyStore, AuditStore, DeviceStore, DomainStore, IdempotencyStore,
        MembershipStore, OperationsStore, OperatorStore, SecondFactorStore, SessionsStore,
        SsoStore, Store, ThrottleStore, TokenStore, UserStore, WorkspaceStore,
    };
}
