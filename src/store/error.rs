//! The store's one error type, [`DbError`]: every database error becomes one through `?`
//! (`From<sqlx::Error>`, which is also where a storage fault is noted: see `faults`), and it
//! becomes the error of the port a method implements ([`StoreError`], or the session store's)
//! through `From` as well.
//!
//! Why not `From<sqlx::Error> for StoreError` directly: [`StoreError`] belongs to the `app`
//! crate, which knows no database, and `sqlx::Error` to sqlx, so the orphan rule allows that
//! conversion only for a type of this crate. Adapter code therefore runs in [`DbResult`], with
//! a plain `?` after every statement. Since one `?` converts one step, a store method whose
//! body runs statements itself wraps them in `port(async { … })`, the hand-over from the
//! adapter's error to the port's; one that calls a helper returning [`DbResult`] needs no more
//! than its `?`.
use std::future::Future;

use app::ports::StoreError;
use tower_sessions::session_store;

use super::faults;

/// What stopped a store method.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database refused a statement, or the storage under it failed.
    #[error(transparent)]
    Sql(sqlx::Error),
    /// Anything else: a read through SQLite's inline readers, a row the schema promises that
    /// is missing.
    #[error("{0}")]
    Other(String),
}

/// What adapter code returns.
pub type DbResult<T> = Result<T, DbError>;

impl From<sqlx::Error> for DbError {
    /// Every database error passes here, so a storage fault is noted as it is seen: the pools
    /// then retire every connection that was open at the time (see `faults`).
    fn from(err: sqlx::Error) -> Self {
        faults::note(&err);
        DbError::Sql(err)
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        StoreError(err.to_string())
    }
}

impl From<DbError> for session_store::Error {
    fn from(err: DbError) -> Self {
        session_store::Error::Backend(err.to_string())
    }
}

/// Runs a store method's statements and hands their outcome to the port the method implements.
pub async fn port<T, E: From<DbError>>(work: impl Future<Output = DbResult<T>>) -> Result<T, E> {
    Ok(work.await?)
}
