//! Storage faults: which database errors mean the storage itself failed (a full disk, an I/O
//! error, a read-only file, a lost server), and the rule that retires every pooled connection
//! that was open when one happened, so the next writes after the fault clears run on fresh
//! connections instead of ones left in an unknown state.
//!
//! The mark is process-wide on purpose: errors reach it through the store's one error
//! conversion (`From<sqlx::Error>` for `DbError`, see `error`), shared by every query, and a
//! storage fault is rare enough that retiring a healthy connection of another pool (only tests
//! run several in one process) costs no more than a reconnect.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// SQLite primary result codes that say the storage failed (the low byte of an extended code).
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;
const SQLITE_NOTADB: i64 = 26;

/// Whether a SQLite (extended) result code is a storage fault. Busy and locked answers are not:
/// they are ordinary contention, and the connection that caused a lock after a fault is the
/// faulted one, which is retired.
pub fn sqlite_code_is_fault(extended: i64) -> bool {
    matches!(
        extended & 0xff,
        SQLITE_READONLY
            | SQLITE_IOERR
            | SQLITE_CORRUPT
            | SQLITE_FULL
            | SQLITE_CANTOPEN
            | SQLITE_PROTOCOL
            | SQLITE_NOTADB
    )
}

/// Whether a PostgreSQL SQLSTATE is a storage or connection fault: connection exceptions
/// (class 08), the server shutting down or starting (57P01–57P03), out of disk (53100), an
/// I/O error (58030) or corrupted data (XX001, XX002).
pub fn postgres_state_is_fault(state: &str) -> bool {
    state.starts_with("08")
        || matches!(
            state,
            "57P01" | "57P02" | "57P03" | "53100" | "58030" | "XX001" | "XX002"
        )
}

/// Whether `err` means the storage or the connection to it failed, as opposed to a query that
/// was refused (a constraint, a syntax error) on a healthy connection.
pub fn is_fault(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // sqlx reports SQLite's extended result code, in decimal.
                return db
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(sqlite_code_is_fault);
            }
            if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                return postgres_state_is_fault(e.code());
            }
            false
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Process start, the origin of `LAST_FAULT`.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// When the last fault was seen, in nanoseconds after `epoch()` plus one (0: never).
static LAST_FAULT: AtomicU64 = AtomicU64::new(0);

/// Notes `err` if it is a fault. Returns whether it was.
pub fn note(err: &sqlx::Error) -> bool {
    let fault = is_fault(err);
    if fault {
        mark();
    }
    fault
}

/// Records that a fault happened now.
pub fn mark() {
    let since = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
    LAST_FAULT.fetch_max(since + 1, Ordering::AcqRel);
    tracing::warn!("storage fault: every database connection open now will be replaced");
}

/// Whether a pooled connection may be used again (the pools ask before and after each use):
/// not if it was open when a storage fault happened (a full disk, an I/O error, a lost server).
/// SQLite can leave such a connection read-only or inside a transaction it no longer knows
/// about, so it is closed and the pool opens a fresh one: writes work again as soon as the
/// fault clears, without a restart.
pub fn usable(meta: &sqlx::pool::PoolConnectionMetadata) -> bool {
    !predates_last_fault(meta.age)
}

/// Whether a connection opened `age` ago was already open at the last fault, and so must
/// not be used again.
pub fn predates_last_fault(age: Duration) -> bool {
    let last = LAST_FAULT.load(Ordering::Acquire);
    if last == 0 {
        return false;
    }
    let fault_at = Duration::from_nanos(last - 1);
    let opened_at = epoch().elapsed().saturating_sub(age);
    opened_at <= fault_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes() {
        assert!(sqlite_code_is_fault(13), "SQLITE_FULL");
        assert!(
            sqlite_code_is_fault(10 | (4 << 8)),
            "SQLITE_IOERR_SHORT_READ"
        );
        assert!(
            sqlite_code_is_fault(8 | (1 << 8)),
            "SQLITE_READONLY_RECOVERY"
        );
        assert!(sqlite_code_is_fault(14), "SQLITE_CANTOPEN");
        assert!(!sqlite_code_is_fault(5), "SQLITE_BUSY is contention");
        assert!(
            !sqlite_code_is_fault(19 | (3 << 8)),
            "a foreign key violation"
        );
        assert!(!sqlite_code_is_fault(2067), "a unique violation");
    }

    #[test]
    fn postgres_states() {
        assert!(postgres_state_is_fault("08006"));
        assert!(postgres_state_is_fault("57P01"));
        assert!(postgres_state_is_fault("53100"));
        assert!(!postgres_state_is_fault("23505"), "unique violation");
        assert!(!postgres_state_is_fault("40001"), "serialization failure");
    }

    #[test]
    fn connections_open_at_a_fault_are_retired_and_later_ones_kept() {
        let before = epoch().elapsed();
        mark();
        // A connection opened before the mark (its age reaches back past it) is retired …
        assert!(predates_last_fault(
            epoch().elapsed() - before + Duration::from_millis(1)
        ));
        // … one opened after it (age zero: just now) is kept.
        assert!(!predates_last_fault(Duration::ZERO));
    }
}
