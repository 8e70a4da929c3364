//! The [`app::ports::Store`] adapters: one implementation per database, generated from one
//! body over query text that SQLite and PostgreSQL both accept (`$N` placeholders, integer
//! millisecond timestamps, `RETURNING`, `ON CONFLICT`).
pub(crate) mod faults;
mod queries;
mod sessions;
mod sql_store;
mod sqlite_reads;

pub use sessions::{id_hash as session_id_hash, SqlSessions};
pub use sql_store::{PostgresStore, SqliteStore};
pub use sqlite_reads::InlineReads;
