//! [`SqliteStore`]: the store on SQLite. What differs from PostgreSQL is here: opening the file,
//! the migrations, and the API's hot reads through the inline readers (`sqlite_reads`); `body/`,
//! compiled for SQLite, does the rest.
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use app::domain::ids::AccountId;
use app::domain::paging::PageRequest;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::error::DbResult;
use super::faults;
use super::rows::{decode, decode_opt};
use super::sqlite_reads::{InlineReads, InlineRow};

/// The database `body/` is compiled for here.
type Db = sqlx::Sqlite;
/// The store `body/` implements the ports for here.
type SqlStore = SqliteStore;
/// The database's name in messages.
const NAME: &str = "SQLite";
/// SQLite's migrations (the same versions as PostgreSQL's).
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

// The same files as `postgres.rs` compiles: that is the point (one body for both databases).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;

/// The store on SQLite.
#[derive(Debug)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// The API's per-request reads, run inline (see `sqlite_reads`); none for an in-memory
    /// database, which other connections cannot see.
    inline: Option<InlineReads>,
}

impl SqliteStore {
    /// Opens the database file `url` names (creating it if missing) with a pool of at most
    /// `max_connections`, and its inline readers.
    pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL={url} is not a SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        crate::files::prepare_database_file(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            // A local file's connections cannot drop like a server's: skip the health check
            // round trip that would otherwise precede every query.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .before_acquire(|_, meta| Box::pin(async move { Ok(faults::usable(&meta)) }))
            .after_release(|_, meta| Box::pin(async move { Ok(faults::usable(&meta)) }))
            .connect_with(options)
            .await
            .with_context(|| format!("opening {url}"))?;
        let inline = InlineReads::for_file(pool.connect_options().get_filename());
        Ok(Self { pool, inline })
    }

    /// One of the API's per-request reads, of at most one row (`params` bound in order):
    /// inline when there are inline readers, else through the pool.
    async fn hot_optional<R, T>(&self, sql: &str, params: &[&str]) -> DbResult<Option<T>>
    where
        R: body::TypedRow + InlineRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        match &self.inline {
            Some(inline) => decode_opt(inline.optional::<R>(sql, params)?),
            None => self.optional::<R, T>(sql, params).await,
        }
    }

    /// One of the API's per-request page reads (see `body::page_query`): inline when there are
    /// inline readers, else through the pool.
    async fn hot_page<R, T>(
        &self,
        sql: &body::PageQuery,
        account_id: &AccountId,
        page: &PageRequest,
        filter: Option<Option<&str>>,
    ) -> DbResult<Vec<T>>
    where
        R: body::TypedRow + InlineRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        match &self.inline {
            Some(inline) => decode(inline.page::<R>(sql.of(page), account_id, page, filter)?),
            None => self.page::<R, T>(sql, account_id, page, filter).await,
        }
    }
}
