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
}
