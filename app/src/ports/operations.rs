//! What keeps the store itself running: the readiness probe and pruning.
use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Timestamp;

/// Health and upkeep.
#[async_trait]
pub trait OperationsStore: Send + Sync + 'static {
    /// Cheap round trip that commits a one-row write, for `/readyz`: ready means writes
    /// commit, not only that reads answer.
    async fn ping(&self) -> StoreResult<()>;
    /// Deletes what can no longer matter: old rate counters, spent or expired tokens, expired
    /// pending sign-ups.
    async fn prune(&self, now: Timestamp, counter_age: Duration) -> StoreResult<()>;
    /// How many of each kind of thing the store holds (the integration tests' inspector reads
    /// it instead of counting rows with SQL of its own).
    async fn tally(&self) -> StoreResult<Tally>;
}

/// How many of each kind of thing the store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub users: u64,
    pub pending_sign_ups: u64,
    pub accounts: u64,
    pub memberships: u64,
    /// Every invitation ever sent (pending, accepted or revoked).
    pub invitations: u64,
    pub workspaces: u64,
    pub records: u64,
    pub api_keys: u64,
    pub account_domains: u64,
    pub sso_connections: u64,
    pub sso_identities: u64,
    /// Reset and unlock links, used or not, until pruned.
    pub one_time_tokens: u64,
}
