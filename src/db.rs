//! Opening the database named by `DATABASE_URL` (SQLite or PostgreSQL), migrating it, and
//! handing out the matching [`app::ports::Store`] and session store.
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use app::ports::Store;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::{redact_url, Config};
use crate::store::{faults, InlineReads, PostgresStore, SqlSessions, SqliteStore};

/// Whether a pooled connection may be used again: not if it was open when a storage fault
/// happened (a full disk, an I/O error, a lost server). SQLite can leave such a connection
/// read-only or inside a transaction it no longer knows about, so it is closed and the pool
/// opens a fresh one: writes work again as soon as the fault clears, without a restart.
fn usable(meta: &sqlx::pool::PoolConnectionMetadata) -> bool {
    !faults::predates_last_fault(meta.age)
}

/// An open, migrated database.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Database {
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let url = config.database_url.as_str();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("DATABASE_URL={url} is not a SQLite URL"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            crate::files::prepare_database_file(options.get_filename())?;
            let pool = SqlitePoolOptions::new()
                .max_connections(config.db_max_connections.max(1))
                // A local file's connections cannot drop like a server's: skip the health
                // check round trip that would otherwise precede every query.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .before_acquire(|_, meta| Box::pin(async move { Ok(usable(&meta)) }))
                .after_release(|_, meta| Box::pin(async move { Ok(usable(&meta)) }))
                .connect_with(options)
                .await
                .with_context(|| format!("opening {url}"))?;
            Ok(Database::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(config.db_max_connections.max(1))
                .acquire_timeout(Duration::from_secs(5))
                .before_acquire(|_, meta| Box::pin(async move { Ok(usable(&meta)) }))
                .after_release(|_, meta| Box::pin(async move { Ok(usable(&meta)) }))
                .connect(url)
                .await
                .with_context(|| format!("connecting to {}", redact_url(url)))?;
            Ok(Database::Postgres(pool))
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite: or postgres:, got {}",
                redact_url(url)
            )
        }
    }

    /// Applies this database's migrations (the session table is one of them).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Database::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite")
                .run(pool)
                .await
                .context("migrating SQLite")?,
            Database::Postgres(pool) => sqlx::migrate!("./migrations/postgres")
                .run(pool)
                .await
                .context("migrating PostgreSQL")?,
        }
        Ok(())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                match InlineReads::for_file(pool.connect_options().get_filename()) {
                    Some(reads) => Arc::new(store.with_inline_reads(reads)),
                    None => Arc::new(store),
                }
            }
            Database::Postgres(pool) => Arc::new(PostgresStore::new(pool.clone())),
        }
    }

    pub fn sessions(&self) -> SqlSessions {
        match self {
            Database::Sqlite(pool) => SqlSessions::Sqlite(pool.clone()),
            Database::Postgres(pool) => SqlSessions::Postgres(pool.clone()),
        }
    }

    /// Connections open, of them idle, and the most the pool opens (for metrics).
    pub fn pool_use(&self) -> (u32, usize, u32) {
        match self {
            Database::Sqlite(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
            Database::Postgres(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }
}
