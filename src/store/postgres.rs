//! [`PostgresStore`]: the store on PostgreSQL. What differs from SQLite is here: connecting
//! and the migrations; `body/`, compiled for PostgreSQL, does the rest, and every read goes
//! through the pool.
use std::time::Duration;

use anyhow::Context as _;
use app::domain::ids::AccountId;
use app::domain::paging::PageRequest;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use super::error::DbResult;
use super::faults;
use crate::config::redact_url;

/// The database `body/` is compiled for here.
type Db = sqlx::Postgres;
/// The store `body/` implements the ports for here.
type SqlStore = PostgresStore;
/// The database's name in messages.
const NAME: &str = "PostgreSQL";
/// PostgreSQL's migrations (the same versions as SQLite's).
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

// The same files as `sqlite.rs` compiles: that is the point (one body for both databases).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;

/// The store on PostgreSQL.
#[derive(Debug)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    /// Connects to the server `url` names with a pool of at most `max_connections`.
    pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .before_acquire(|_, meta| Box::pin(async move { Ok(faults::usable(&meta)) }))
            .after_release(|_, meta| Box::pin(async move { Ok(faults::usable(&meta)) }))
            .connect(url)
            .await
            .with_context(|| format!("connecting to {}", redact_url(url)))?;
        Ok(Self { pool })
    }

    /// The API's per-request reads are ordinary pool reads here (see `SqliteStore` for why
    /// SQLite's differ).
    async fn hot_optional<R, T>(&self, sql: &str, params: &[&str]) -> DbResult<Option<T>>
    where
        R: body::TypedRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        self.optional::<R, T>(sql, params).await
    }

    async fn hot_page<R, T>(
        &self,
        sql: &body::PageQuery,
        account_id: &AccountId,
        page: &PageRequest,
        filter: Option<Option<&str>>,
    ) -> DbResult<Vec<T>>
    where
        R: body::TypedRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        self.page::<R, T>(sql, account_id, page, filter).await
    }
}
