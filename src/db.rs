//! Opening the database named by `DATABASE_URL`: the one place that chooses between SQLite and
//! PostgreSQL. Past it, the process holds the open database as a [`Backend`] (the app's
//! [`Store`], the session store, migrations and the pool), which `store` implements once for
//! each database.
use std::sync::Arc;

use app::ports::Store;

use crate::config::{redact_url, Config};
use crate::store::{Backend, PostgresStore, SqlSessions, SqliteStore};

/// An open database.
#[derive(Clone, Debug)]
pub struct Database(Arc<dyn Backend>);

impl Database {
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let url = config.database_url.as_str();
        let max_connections = config.db_max_connections.max(1);
        let backend: Arc<dyn Backend> = if url.starts_with("sqlite:") {
            Arc::new(SqliteStore::open(url, max_connections).await?)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Arc::new(PostgresStore::open(url, max_connections).await?)
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite: or postgres:, got {}",
                redact_url(url)
            )
        };
        Ok(Self(backend))
    }

    /// Applies this database's migrations (the session table is one of them).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.0.migrate().await
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }

    pub fn sessions(&self) -> SqlSessions {
        SqlSessions::new(self.0.clone())
    }

    /// Connections open, of them idle, and the most the pool opens (for metrics).
    pub fn pool_use(&self) -> (u32, usize, u32) {
        self.0.pool_use()
    }

    pub async fn close(&self) {
        self.0.close().await;
    }
}
