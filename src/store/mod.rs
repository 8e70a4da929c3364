//! The database adapter: the [`app::ports::Store`] and the session store, for SQLite and for
//! PostgreSQL, over one body of query text that both accept (`$N` placeholders, integer
//! millisecond timestamps, `RETURNING`, `ON CONFLICT`).
//!
//! One mechanism chooses the database: `body/` is compiled once per database. `sqlite.rs` and
//! `postgres.rs` each name their database (`type Db`), their store type, their migrations and
//! how they open a pool, then compile `body/` for it, so the two stores are the same source and
//! cannot drift apart. At run time the process holds whichever one `DATABASE_URL` names as a
//! [`Backend`] (see `crate::db`).
//!
//! - `body/`: the store itself, one file per aggregate (its queries and its trait impl:
//!   users, throttles, tokens, accounts, memberships, domains, sso, api_keys, workspaces,
//!   audit, operations, sessions), plus `body/mod.rs` with what they share (how a write runs,
//!   pages, audit rows) and the [`Backend`] impl (migrations, the pool).
//! - `sqlite.rs`, `postgres.rs`: what differs. SQLite alone sends the API's hot reads through
//!   `sqlite_reads.rs`, its inline read path (same query text, same rows); PostgreSQL reads
//!   everything through its pool.
//! - `rows.rs`: the typed rows queries decode into, and their conversion to domain types.
//! - `error.rs`: the store's one error type (`?` on every statement); `faults.rs`: which errors
//!   are storage faults, and retiring the connections that saw one.
use std::sync::Arc;

use app::ports::Store;
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

mod error;
pub(crate) mod faults;
mod postgres;
mod rows;
mod sqlite;
mod sqlite_reads;

pub use postgres::PostgresStore;
pub use rows::session_id_hash;
pub use sqlite::SqliteStore;

/// An open database as the process uses it: the app's [`Store`], the session store, and the
/// upkeep of both. `body/` implements it once for each database.
#[async_trait]
pub trait Backend: Store + SessionStore {
    /// Applies this database's migrations (the session table is one of them).
    async fn migrate(&self) -> anyhow::Result<()>;
    /// Deletes the sessions that have expired (tower-sessions' `ExpiredDeletion`, which a trait
    /// object cannot carry).
    async fn delete_expired_sessions(&self) -> session_store::Result<()>;
    /// Connections open, of them idle, and the most the pool opens (for metrics).
    fn pool_use(&self) -> (u32, usize, u32);
    async fn close(&self);
}

/// The session store of the open database, as the session layer takes it (a sized type).
#[derive(Clone, Debug)]
pub struct SqlSessions(Arc<dyn Backend>);

impl SqlSessions {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self(backend)
    }
}

#[async_trait]
impl SessionStore for SqlSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.0.delete_expired_sessions().await
    }
}
