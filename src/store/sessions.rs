//! The tower-sessions store: sessions in the database (every instance behind a load
//! balancer sees them), keyed by the SHA-256 of the session id so the table holds no usable
//! cookie value. Who is signed in, how, and in which account is kept beside the data so a
//! person's sessions can be ended (e.g. password sessions when single sign-on becomes
//! enforced, or their sessions in an account they were removed from).
//!
//! An ended session stays ended: only `create` (a new id, also when an id is cycled at sign-in
//! and sign-out) inserts a row; `save`, which tower-sessions calls at the end of every request
//! that loaded a session, updates the row and never re-creates it. A request that was in
//! flight while its session's row was deleted finishes, and the row stays deleted.
use std::collections::HashMap;

use async_trait::async_trait;
use sha2::{Digest as _, Sha256};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

const INSERT: &str = "
INSERT INTO sessions (id_hash, user_id, account_id, method, data, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id_hash) DO NOTHING";
/// Only a live row is written: a deleted one is not brought back, and an expired one (not
/// yet cleaned up) not renewed.
const SAVE: &str = "
UPDATE sessions SET user_id = $2, account_id = $3, method = $4, data = $5, expires_at = $6
WHERE id_hash = $1 AND expires_at > $7";
const LOAD: &str = "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";
const DELETE: &str = "DELETE FROM sessions WHERE id_hash = $1";
const DELETE_EXPIRED: &str = "DELETE FROM sessions WHERE expires_at <= $1";

/// The session store over whichever database is in use.
#[derive(Clone, Debug)]
pub enum SqlSessions {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs the same statement on whichever pool this is.
macro_rules! on_pool {
    ($self:expr, |$pool:ident| $body:expr) => {
        match $self {
            SqlSessions::Sqlite($pool) => $body,
            SqlSessions::Postgres($pool) => $body,
        }
    };
}

/// The stored key of a session id: its SHA-256, hex.
pub fn id_hash(id: &Id) -> String {
    Sha256::digest(id.0.to_le_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn now_millis() -> i64 {
    millis(OffsetDateTime::now_utc())
}

fn backend(e: sqlx::Error) -> session_store::Error {
    // A storage fault here retires the pool's connections like one in the store does.
    super::faults::note(&e);
    session_store::Error::Backend(e.to_string())
}

/// What is kept beside the data: the signed-in user, how the session started and the
/// account it is in (from the web app's `auth` entry).
fn owner_of(record: &Record) -> (Option<String>, Option<String>, Option<String>) {
    let auth = record.data.get("auth");
    let field = |name: &str| {
        auth.and_then(|a| a.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    (field("user_id"), field("method"), field("account_id"))
}

struct Row {
    hash: String,
    user_id: Option<String>,
    account_id: Option<String>,
    method: Option<String>,
    data: String,
    expires_at: i64,
}

impl Row {
    fn of(record: &Record) -> session_store::Result<Self> {
        let (user_id, method, account_id) = owner_of(record);
        Ok(Row {
            hash: id_hash(&record.id),
            user_id,
            account_id,
            method,
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires_at: millis(record.expiry_date),
        })
    }
}

impl SqlSessions {
    /// `INSERT` or `SAVE` with the row (and for `SAVE`, `now` as `$7`); the rows it wrote.
    async fn write(&self, sql: &str, row: &Row, now: Option<i64>) -> session_store::Result<u64> {
        // One statement in autocommit, run to its end: its commit error (if any) is its own.
        on_pool!(self, |pool| {
            let mut query = sqlx::query(sql)
                .bind(&row.hash)
                .bind(&row.user_id)
                .bind(&row.account_id)
                .bind(&row.method)
                .bind(&row.data)
                .bind(row.expires_at);
            if let Some(now) = now {
                query = query.bind(now);
            }
            let done = query.execute(pool).await.map_err(backend)?;
            Ok(done.rows_affected())
        })
    }
}

#[async_trait]
impl SessionStore for SqlSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id until one is free (a collision of 128 random bits will not happen, but
        // an existing session must never be overwritten by a new one).
        loop {
            if self.write(INSERT, &Row::of(record)?, None).await? == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if self
            .write(SAVE, &Row::of(record)?, Some(now_millis()))
            .await?
            == 0
        {
            // Ended (signed out, reset, removed…) while this request was in flight: it may
            // finish, but its session is not written back. The next request with this
            // cookie finds no session.
            tracing::debug!("a session ended during its request; not saved");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let hash = id_hash(id);
        let row: Option<(String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(LOAD)
                .bind(&hash)
                .bind(now_millis())
                .fetch_optional(pool)
                .await
                .map_err(backend)?
        });
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let hash = id_hash(id);
        on_pool!(self, |pool| {
            sqlx::query(DELETE)
                .bind(&hash)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(backend)
        })
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            sqlx::query(DELETE_EXPIRED)
                .bind(now_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_is_not_the_cookie() {
        let id = Id::default();
        let hash = id_hash(&id);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&id.to_string()));
        assert_eq!(hash, id_hash(&id), "stable");
        assert_ne!(hash, id_hash(&Id::default()));
    }
}
