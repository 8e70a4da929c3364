//! [`PostgresStore`](super::PostgresStore): the store's body compiled for PostgreSQL.

/// The database `body/` is compiled for here.
type Db = sqlx::Postgres;

// The same files as `sqlite.rs` compiles: that is the point (one body for both databases).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;
