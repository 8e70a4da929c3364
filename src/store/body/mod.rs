//! The store's one body. `sqlite.rs` and `postgres.rs` each declare `type Db` (the database)
//! and `type SqlStore` (their store type) and compile this folder for it (`#[path =
//! "body/mod.rs"] mod body;`), so every method is written once, in plain Rust that rustfmt
//! formats, and type-checked against both drivers. One file per aggregate holds its query text
//! (one text for both databases) and its trait's impl; this file holds what they share and the
//! [`Backend`] impl (migrations, expired sessions, the pool). The API's hot reads call
//! `hot_optional` and `hot_page`, which each database defines for itself: no SQLite-only path
//! is compiled here.
//!
//! Every write either runs alone, in autocommit, to its end (`write`, `write_returning`), or
//! in a transaction whose `COMMIT` is awaited and checked (`begin` … `tx.commit()`): no
//! method reports a change the database did not commit. A bare `fetch_optional` on an
//! `UPDATE … RETURNING` in autocommit is the trap this avoids: sqlx's SQLite driver stops
//! stepping after the first row and resets the statement, which is when SQLite commits, and
//! the error of that reset (a full disk, a read-only file) is dropped.
use anyhow::Context as _;
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::{new_id, AccountId, AUDIT};
use app::domain::paging::PageRequest;
use async_trait::async_trait;
use tower_sessions::session_store;

use super::{Db, SqlStore};
use crate::store::error::DbResult;
use crate::store::rows::{decode, decode_opt};
use crate::store::Backend;

mod accounts;
mod api_keys;
mod audit;
mod devices;
mod domains;
mod idempotency;
mod memberships;
mod operations;
mod operator;
mod second_factors;
mod sessions;
mod sso;
mod throttles;
mod tokens;
mod users;
mod workspaces;

/// A transaction on this database.
type Tx = sqlx::Transaction<'static, Db>;
/// A statement with its arguments bound.
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;
/// A statement whose rows decode into `R`.
type QueryAs<'q, R> = sqlx::query::QueryAs<'q, Db, R, <Db as sqlx::Database>::Arguments<'q>>;
/// A row of this database, before it is decoded.
type DbRow = <Db as sqlx::Database>::Row;

/// A typed row a query can decode into (see `rows`).
pub(super) trait TypedRow: for<'r> sqlx::FromRow<'r, DbRow> + Send + Unpin {}
impl<R: for<'r> sqlx::FromRow<'r, DbRow> + Send + Unpin> TypedRow for R {}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

const INSERT_AUDIT: &str = "
INSERT INTO audit_events (id, account_id, actor_user_id, action, detail, at, ip, device)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The two texts of a list's page query: `$1` account, `$2` cursor, `$3` limit, and
/// `extra` for one more filter on `$4`. `after` reads newest first below `starting_after`
/// (`$2` NULL: from the newest); `before` reads oldest first above `ending_before`, and
/// `Page::from_fetched` puts those rows back in the list's order.
pub(super) struct PageQuery {
    after: String,
    before: String,
}

impl PageQuery {
    /// The text that fetches `page` (see `domain::paging`).
    pub(super) fn of(&self, page: &PageRequest) -> &str {
        if page.backwards() {
            &self.before
        } else {
            &self.after
        }
    }
}

/// A page of `table` (see [`PageQuery`]).
fn page_query(columns: &str, table: &str, extra: Option<&str>) -> PageQuery {
    let extra = extra
        .map(|column| format!(" AND ($4 IS NULL OR {column} = $4)"))
        .unwrap_or_default();
    let select = format!("SELECT {columns} FROM {table} WHERE account_id = $1");
    PageQuery {
        after: format!("{select} AND ($2 IS NULL OR id < $2){extra} ORDER BY id DESC LIMIT $3"),
        before: format!("{select} AND id > $2{extra} ORDER BY id ASC LIMIT $3"),
    }
}

/// One row of `table` by account (`$1`) and id (`$2`).
fn by_id_query(columns: &str, table: &str) -> String {
    format!("SELECT {columns} FROM {table} WHERE account_id = $1 AND id = $2")
}

impl SqlStore {
    /// Starts a write of several statements. Nothing it did counts until
    /// `tx.commit().await` returned `Ok`; dropping it rolls back.
    async fn begin(&self) -> DbResult<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// One write statement in autocommit, run to its end before it returns: the number of
    /// rows it changed. Both databases commit a lone statement as its last step, and report a
    /// failed commit (a full disk, a deferred constraint) as that statement's error, which
    /// `execute` waits for. (One round trip instead of BEGIN, statement, COMMIT: on
    /// PostgreSQL that is most of a write's cost.)
    async fn write(&self, query: Query<'_>) -> DbResult<u64> {
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// One `… RETURNING` write in autocommit. Every row is read, so the statement runs to its
    /// end (its commit) before its row is handed back: stopping after the first row is what
    /// lost writes before, since the commit error then went unread.
    async fn write_returning<R: TypedRow>(&self, query: QueryAs<'_, R>) -> DbResult<Option<R>> {
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().next())
    }

    /// Runs a query for at most one row, with `params` bound in order.
    pub(super) async fn optional<R, T>(&self, sql: &str, params: &[&str]) -> DbResult<Option<T>>
    where
        R: TypedRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        let mut query = sqlx::query_as::<_, R>(sql);
        for param in params {
            query = query.bind(*param);
        }
        decode_opt(query.fetch_optional(&self.pool).await?)
    }

    /// Runs a page query (see `page_query`): up to `page.limit + 1` rows, so the caller can
    /// tell whether there are more.
    pub(super) async fn page<R, T>(
        &self,
        sql: &PageQuery,
        account_id: &AccountId,
        page: &PageRequest,
        filter: Option<Option<&str>>,
    ) -> DbResult<Vec<T>>
    where
        R: TypedRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        let mut query = sqlx::query_as::<_, R>(sql.of(page))
            .bind(account_id.as_str())
            .bind(page.cursor())
            .bind(i64::from(page.limit) + 1);
        if let Some(value) = filter {
            query = query.bind(value);
        }
        decode(query.fetch_all(&self.pool).await?)
    }

    /// Runs a by-id query (see `by_id_query`).
    async fn by_id<R, T>(&self, sql: &str, account_id: &AccountId, id: &str) -> DbResult<Option<T>>
    where
        R: TypedRow,
        T: TryFrom<R, Error = sqlx::Error>,
    {
        self.optional::<R, T>(sql, &[account_id.as_str(), id]).await
    }

    /// One account-scoped UPDATE (`$1` account, `$2` id, `$3` now) and its audit event, in one
    /// transaction; `false` (nothing written) when it changed no row.
    async fn update_with_audit(
        &self,
        sql: &str,
        account_id: &AccountId,
        id: &str,
        now: Timestamp,
        audit: AuditEvent,
    ) -> DbResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(sql)
            .bind(account_id.as_str())
            .bind(id)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One account-scoped DELETE (`$1` account, `$2` id) and its audit event, in one
    /// transaction; `false` (nothing written) when there was no such row.
    async fn delete_with_audit(
        &self,
        sql: &str,
        account_id: &AccountId,
        id: &str,
        audit: AuditEvent,
    ) -> DbResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(sql)
            .bind(account_id.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl Backend for SqlStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        super::MIGRATIONS
            .run(&self.pool)
            .await
            .with_context(|| format!("migrating {}", super::NAME))
    }

    async fn delete_expired_sessions(&self) -> session_store::Result<()> {
        Ok(self.prune_sessions().await?)
    }

    fn pool_use(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Writes an audit event inside the transaction of the change it records.
async fn audit_in(tx: &mut Tx, event: AuditEvent) -> DbResult<()> {
    sqlx::query(INSERT_AUDIT)
        .bind(new_id(AUDIT))
        .bind(event.account_id.map(String::from))
        .bind(event.actor_user_id.map(String::from))
        .bind(event.action)
        .bind(event.detail)
        .bind(event.at.millis())
        // Where the change came from: the request being served, as its log lines say it
        // (nothing for the operator's commands and background work).
        .bind(app::web::request::client_ip())
        .bind(app::web::request::device())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
