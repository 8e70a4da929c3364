//! [`SqliteStore`](super::SqliteStore): the store's body compiled for SQLite.
use std::sync::Arc;

use super::{InlineReads, SqlStore};

/// The database `body/` is compiled for here.
type Db = sqlx::Sqlite;

// The same files as `postgres.rs` compiles: that is the point (one body for both databases).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;

impl SqlStore<Db> {
    /// Sends the API's per-request reads through `reads` instead of the pool.
    pub fn with_inline_reads(mut self, reads: InlineReads) -> Self {
        self.inline = Some(Arc::new(reads));
        self
    }
}
