//! The tower-sessions store: sessions in the database (every instance behind a load balancer
//! sees them), one row per session as `rows::SessionRow` describes it, so a person's sessions
//! can be ended (e.g. password sessions when single sign-on becomes enforced, or their
//! sessions in an account they were removed from; those statements are in the aggregates that
//! end them).
//!
//! An ended session stays ended: only `create` (a new id, also when an id is cycled at sign-in
//! and sign-out) inserts a row; `save`, which tower-sessions calls at the end of every request
//! that loaded a session, updates the row and never re-creates it. A request that was in
//! flight while its session's row was deleted finishes, and the row stays deleted.
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::SqlStore;
use crate::store::error::DbResult;
use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::ids::UserId;
use app::domain::sessions::SessionInfo;
use app::ports::{SessionsStore, StoreResult};

use super::audit_in;
use super::users::END_OTHER_SESSIONS;
use crate::store::error::port;
use crate::store::rows::{
    session_id_hash, session_now, LoadedSessionRow, SessionListRow, SessionRow,
};

const INSERT: &str = "
INSERT INTO sessions (id_hash, user_id, account_id, method, data, expires_at, user_agent, ip, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id_hash) DO NOTHING";
/// Only a live row is written: a deleted one is not brought back, and an expired one (not
/// yet cleaned up) not renewed.
const SAVE: &str = "
UPDATE sessions SET user_id = $2, account_id = $3, method = $4, data = $5, expires_at = $6,
                    user_agent = $7, ip = $8, started_at = $9
WHERE id_hash = $1 AND expires_at > $10";
const LOAD: &str = "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";
const DELETE: &str = "DELETE FROM sessions WHERE id_hash = $1";
const DELETE_EXPIRED: &str = "DELETE FROM sessions WHERE expires_at <= $1";
const SESSIONS_OF: &str = "
SELECT id_hash, method, user_agent, ip, started_at, expires_at FROM sessions
WHERE user_id = $1 AND expires_at > $2
ORDER BY COALESCE(started_at, 0) DESC, id_hash";
const END_SESSION_OF: &str = "DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2";

impl SqlStore {
    /// `INSERT` or `SAVE` with the row (and for `SAVE`, `now` as `$10`), in autocommit: the
    /// rows it wrote.
    async fn write_session(&self, sql: &str, row: &SessionRow, now: Option<i64>) -> DbResult<u64> {
        let mut query = sqlx::query(sql)
            .bind(&row.hash)
            .bind(&row.user_id)
            .bind(&row.account_id)
            .bind(&row.method)
            .bind(&row.data)
            .bind(row.expires_at)
            .bind(&row.user_agent)
            .bind(&row.ip)
            .bind(row.started_at);
        if let Some(now) = now {
            query = query.bind(now);
        }
        self.write(query).await
    }

    /// Deletes the sessions that have expired (`Backend::delete_expired_sessions`).
    pub(super) async fn prune_sessions(&self) -> DbResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(DELETE_EXPIRED)
            .bind(session_now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_session(&self, id_hash: &str) -> DbResult<Option<LoadedSessionRow>> {
        Ok(sqlx::query_as::<_, LoadedSessionRow>(LOAD)
            .bind(id_hash)
            .bind(session_now())
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id until one is free (a collision of 128 random bits will not happen, but
        // an existing session must never be overwritten by a new one).
        loop {
            if self
                .write_session(INSERT, &SessionRow::of(record)?, None)
                .await?
                == 1
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = SessionRow::of(record)?;
        if self.write_session(SAVE, &row, Some(session_now())).await? == 0 {
            // Ended (signed out, reset, removed…) while this request was in flight: it may
            // finish, but its session is not written back. The next request with this
            // cookie finds no session.
            tracing::debug!("a session ended during its request; not saved");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = self.load_session(&session_id_hash(id)).await?;
        row.map(|row| row.into_record(*id)).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.write(sqlx::query(DELETE).bind(session_id_hash(id)))
            .await?;
        Ok(())
    }
}

/// A person's view of their sessions (the Security page).
#[async_trait]
impl SessionsStore for SqlStore {
    async fn sessions_of(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>> {
        port(async {
            let rows = sqlx::query_as::<_, SessionListRow>(SESSIONS_OF)
                .bind(user_id.as_str())
                .bind(now.millis())
                .fetch_all(&self.pool)
                .await?;
            Ok(rows.into_iter().map(SessionInfo::from).collect())
        })
        .await
    }

    async fn end_session_of(
        &self,
        user_id: &UserId,
        handle: &str,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(END_SESSION_OF)
                .bind(user_id.as_str())
                .bind(handle)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn end_other_sessions_of(
        &self,
        user_id: &UserId,
        keep: &str,
        audit: AuditEvent,
    ) -> StoreResult<u64> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(END_OTHER_SESSIONS)
                .bind(user_id.as_str())
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
