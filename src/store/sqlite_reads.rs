//! SQLite reads on the request's own thread: the API's per-request queries (the key lookup,
//! workspace, record and account reads) run through `rusqlite` instead of sqlx.
//!
//! Why: sqlx gives every SQLite connection its own worker thread and passes each statement
//! and each row over channels, so one indexed read costs two thread wake-ups. On two cores
//! that hop cost about as much as the whole rest of an API request (profiled with `perf`:
//! half the CPU in futex wait/wake, under 1 % in SQLite itself). A point read on a local WAL
//! database takes microseconds, less than the hop, so it runs inline, with no cache: a key
//! deleted by any process is refused on the very next request.
//!
//! Only reads come here (the connections are `query_only`); every write, and every read
//! inside a transaction, stays on sqlx. Same query text as the PostgreSQL adapter, and the same
//! typed rows (`rows`): only filling them from a `rusqlite::Row` is written here.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use app::domain::ids::AccountId;
use app::domain::paging::PageRequest;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, Row};

use super::error::{DbError, DbResult};
use super::rows::{AccountRow, DataRecordRow, KeyGrantRow, WorkspaceRow};

/// Idle connections kept for reuse. Reads never await while they hold a connection, so at
/// most one per runtime thread is in use at a time.
const KEEP_IDLE: usize = 8;

/// A WAL reader waits for a writer only in rare moments (a checkpoint restarting the log);
/// keep that wait short, since it holds a runtime thread.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// Read-only connections to one SQLite file, handed out one at a time.
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn read_err(e: rusqlite::Error) -> DbError {
    DbError::Other(format!("inline SQLite read: {e}"))
}

impl InlineReads {
    /// Readers for the database file at `path`; `None` for an in-memory database, which
    /// other connections cannot see.
    pub fn for_file(path: &Path) -> Option<Self> {
        let name = path.to_string_lossy();
        if name.is_empty() || name.starts_with(":memory:") || name.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        })
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Read-write open (a read-only one cannot create the WAL index if it is missing),
        // but refused any write.
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (opening one if none is idle) and puts it back.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> DbResult<T> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().map_err(read_err)?,
        };
        let result = read(&conn).map_err(read_err);
        // A connection whose read failed is not reused: after a storage fault a fresh one is
        // the only one known to be in a good state (the same rule as the sqlx pools).
        if result.is_ok() {
            if let Ok(mut idle) = self.idle.lock() {
                if idle.len() < KEEP_IDLE {
                    idle.push(conn);
                }
            }
        }
        result
    }

    /// Runs a query that finds at most one row, decoded into `R`.
    pub fn optional<R: InlineRow>(&self, sql: &str, params: &[&str]) -> DbResult<Option<R>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            columns_are::<R>(&stmt)?;
            stmt.query_row(rusqlite::params_from_iter(params), R::from_row)
                .optional()
        })
    }

    /// Runs a page query (see `body::page_query`: `sql` is the text for `page`'s direction),
    /// its rows decoded into `R`.
    pub fn page<R: InlineRow>(
        &self,
        sql: &str,
        account_id: &AccountId,
        page: &PageRequest,
        filter: Option<Option<&str>>,
    ) -> DbResult<Vec<R>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            columns_are::<R>(&stmt)?;
            let limit = i64::from(page.limit) + 1;
            let cursor = page.cursor();
            // By name: SQLite numbers `$N` parameters in order of first appearance, and the
            // filter's `$4` comes before `LIMIT $3` in the text.
            let rows = match filter {
                Some(value) => stmt.query_map(
                    rusqlite::named_params! {"$1": account_id.as_str(), "$2": cursor, "$3": limit, "$4": value},
                    R::from_row,
                )?,
                None => stmt.query_map(
                    rusqlite::named_params! {"$1": account_id.as_str(), "$2": cursor, "$3": limit},
                    R::from_row,
                )?,
            };
            rows.collect()
        })
    }
}

/// A typed row (see `rows`) that the inline readers can fill; it then converts to its domain
/// type exactly as a row read through sqlx does. sqlx fills rows by column name; here the
/// columns are read by position, each query's columns checked against [`InlineRow::COLUMNS`]
/// once per run (looking each value up by name cost more than the rest of the decoding).
pub trait InlineRow: Sized {
    /// The query's columns, in the order `from_row` reads them.
    const COLUMNS: &'static [&'static str];
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

/// Fails unless the statement's columns are `R`'s, by name and in order (a query and its row
/// type that drifted apart are an error, never a row filled from the wrong columns).
fn columns_are<R: InlineRow>(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<()> {
    let same = stmt.column_count() == R::COLUMNS.len()
        && R::COLUMNS
            .iter()
            .enumerate()
            .all(|(i, name)| stmt.column_name(i).is_ok_and(|n| n == *name));
    if same {
        Ok(())
    } else {
        Err(rusqlite::Error::InvalidColumnName(format!(
            "the query's columns are {:?}, its row reads {:?}",
            stmt.column_names(),
            R::COLUMNS
        )))
    }
}

impl InlineRow for KeyGrantRow {
    const COLUMNS: &'static [&'static str] = &["id", "account_id", "scopes", "expires_at", "plan"];

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account_id: row.get(1)?,
            scopes: row.get(2)?,
            expires_at: row.get(3)?,
            plan: row.get(4)?,
        })
    }
}

impl InlineRow for AccountRow {
    const COLUMNS: &'static [&'static str] =
        &["id", "name", "plan", "created_at", "require_second_factor"];

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            plan: row.get(2)?,
            created_at: row.get(3)?,
            require_second_factor: row.get(4)?,
        })
    }
}

impl InlineRow for WorkspaceRow {
    const COLUMNS: &'static [&'static str] = &["id", "account_id", "name", "created_at"];

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account_id: row.get(1)?,
            name: row.get(2)?,
            created_at: row.get(3)?,
        })
    }
}

impl InlineRow for DataRecordRow {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "account_id",
        "workspace_id",
        "data",
        "created_at",
        "updated_at",
    ];

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            account_id: row.get(1)?,
            workspace_id: row.get(2)?,
            data: row.get(3)?,
            created_at: row.get(4)?,
            updated_at: row.get(5)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_have_no_inline_readers() {
        assert!(InlineReads::for_file(Path::new(":memory:")).is_none());
        assert!(InlineReads::for_file(Path::new("")).is_none());
        assert!(InlineReads::for_file(Path::new("data/terminus.db")).is_some());
    }

    #[test]
    fn inline_connections_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        let reads = InlineReads::for_file(&path).unwrap();
        let write = reads.with(|conn| conn.execute("INSERT INTO t (x) VALUES (1)", []));
        assert!(write.is_err(), "a query_only connection must refuse writes");
        let count =
            reads.with(|conn| conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)));
        assert_eq!(count.unwrap(), 0);
    }

    #[test]
    fn rows_are_read_by_position_only_from_the_columns_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE w (id TEXT, account_id TEXT, name TEXT, created_at INTEGER);
                 INSERT INTO w VALUES ('ws_1', 'acct_1', 'Main', 5);",
            )
            .unwrap();
        let reads = InlineReads::for_file(&path).unwrap();
        let row = reads
            .optional::<WorkspaceRow>(
                "SELECT id, account_id, name, created_at FROM w WHERE id = $1",
                &["ws_1"],
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.id.as_str(), row.account_id.as_str(), row.name.as_str()),
            ("ws_1", "acct_1", "Main")
        );
        let swapped = reads.optional::<WorkspaceRow>(
            "SELECT id, name, account_id, created_at FROM w WHERE id = $1",
            &["ws_1"],
        );
        let Err(err) = swapped else {
            panic!("a row read from columns in another order");
        };
        assert!(err.to_string().contains("its row reads"), "{err}");
    }
}
