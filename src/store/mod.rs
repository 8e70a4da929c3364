//! The [`app::ports::Store`] adapters, one per database over one body of query text that
//! SQLite and PostgreSQL both accept (`$N` placeholders, integer millisecond timestamps,
//! `RETURNING`, `ON CONFLICT`).
//!
//! - `body/`: the store itself, one file per aggregate (its queries and its trait impl), plus
//!   `body/mod.rs` with what they share (how a write runs, pages, audit rows).
//! - `sqlite.rs`, `postgres.rs`: each names its database (`type Db`) and compiles `body/` for
//!   it, so the two stores are the same source and cannot drift apart.
//! - `rows.rs`: the typed rows queries decode into, and their conversion to domain types.
//! - `sqlite_reads.rs`: SQLite's inline read path for the API's hot reads (same query text,
//!   same rows).
//! - `faults.rs`: storage faults and the one mapping of database errors; `sessions.rs`: the
//!   session store.
use std::sync::Arc;

mod error;
pub(crate) mod faults;
mod postgres;
mod rows;
mod sessions;
mod sqlite;
mod sqlite_reads;

pub use sessions::{id_hash as session_id_hash, SqlSessions};
pub use sqlite_reads::InlineReads;

/// The store over one database's connection pool (see [`SqliteStore`], [`PostgresStore`]).
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    /// SQLite only (see `sqlite_reads`): the API's per-request reads, run inline.
    inline: Option<Arc<InlineReads>>,
}

/// The store on SQLite.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// The store on PostgreSQL.
pub type PostgresStore = SqlStore<sqlx::Postgres>;

impl<DB: sqlx::Database> SqlStore<DB> {
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self { pool, inline: None }
    }
}

impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            inline: self.inline.clone(),
        }
    }
}
