//! [`OperationsStore`] in memory (`src/store/body/operations.rs`).
use std::time::Duration;

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::clock::Timestamp;
use crate::ports::operations::Tally;
use crate::ports::{OperationsStore, StoreResult};

#[async_trait]
impl OperationsStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        self.lock()?.pings += 1;
        Ok(())
    }

    /// Old rate counters, expired tokens (spent or not) and expired pending sign-ups go.
    async fn prune(&self, now: Timestamp, counter_age: Duration) -> StoreResult<()> {
        let mut state = self.lock()?;
        let oldest = now.minus(counter_age);
        state.counters.retain(|_, c| c.window_start > oldest);
        state.tokens.retain(|t| t.expires_at > now);
        state.pending_sign_ups.retain(|p| p.expires_at > now);
        Ok(())
    }

    async fn tally(&self) -> StoreResult<Tally> {
        let state = self.lock()?;
        let n = |len: usize| u64::try_from(len).unwrap_or(u64::MAX);
        Ok(Tally {
            users: n(state.users.len()),
            pending_sign_ups: n(state.pending_sign_ups.len()),
            accounts: n(state.accounts.len()),
            memberships: n(state.members.len()),
            invitations: n(state.invitations.len()),
            workspaces: n(state.workspaces.len()),
            records: n(state.records.len()),
            api_keys: n(state.api_keys.len()),
            account_domains: n(state.domains.len()),
            sso_connections: n(state.connections.len()),
            sso_identities: n(state.identities.len()),
            one_time_tokens: n(state.tokens.len()),
        })
    }
}
