//! [`AuditStore`]: the activity log. Changes write their own event inside their transaction
//! (`super::audit_in`); these are the events of their own and the log's reader.
use app::domain::audit::{AuditEntry, AuditEvent, AuditFilter, SIGN_IN_ACTIONS};
use app::domain::ids::AccountId;
use app::domain::paging::PageRequest;
use app::ports::{AuditStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode, AuditEntryRow, AuditEventRow};

const AUDIT_EVENTS: &str = "
SELECT account_id, actor_user_id, action, detail, at FROM audit_events
WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2";

/// One page of an account's log: its own events, and its current members' sign-in events
/// (which belong to no account); narrowed to a kind (`$2`, the action's part before the dot;
/// empty: all) and an actor (`$3`; empty: all), from the cursor (`$4`). Ids are time-ordered,
/// so `id` orders the log. The sign-in actions are bound as parameters `$6`…`$11`.
macro_rules! account_log {
    ($cursor:literal) => {
        concat!(
            "
SELECT id, account_id, actor_user_id, action, detail, at, ip, device FROM audit_events
WHERE (account_id = $1
       OR (account_id IS NULL
           AND action IN ($6, $7, $8, $9, $10, $11)
           AND actor_user_id IN (SELECT user_id FROM memberships WHERE account_id = $1)))
  AND ($2 = '' OR substr(action, 1, length($2) + 1) = $2 || '.')
  AND ($3 = '' OR actor_user_id = $3)
  ",
            $cursor
        )
    };
}
/// Newest first below `starting_after` (`$4`; empty: from the newest).
const ACCOUNT_LOG: &str = account_log!("AND ($4 = '' OR id < $4)\nORDER BY id DESC LIMIT $5");
/// Oldest first above `ending_before` (`$4`), for `Page::from_fetched` to put in order.
const ACCOUNT_LOG_BEFORE: &str = account_log!("AND id > $4\nORDER BY id ASC LIMIT $5");

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, event: AuditEvent) -> StoreResult<()> {
        port(async {
            let mut tx = self.begin().await?;
            audit_in(&mut tx, event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn audit_events(
        &self,
        account_id: &AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        port(async {
            let rows = sqlx::query_as::<_, AuditEventRow>(AUDIT_EVENTS)
                .bind(account_id.as_str())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn account_log(
        &self,
        account_id: &AccountId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Vec<AuditEntry>> {
        port(async {
            let sql = if page.backwards() {
                ACCOUNT_LOG_BEFORE
            } else {
                ACCOUNT_LOG
            };
            let mut query = sqlx::query_as::<_, AuditEntryRow>(sql)
                .bind(account_id.as_str())
                .bind(filter.kind.unwrap_or(""))
                .bind(filter.actor.as_ref().map(|a| a.as_str()).unwrap_or(""))
                .bind(page.cursor().unwrap_or(""))
                .bind(i64::from(page.limit.saturating_add(1)));
            for action in SIGN_IN_ACTIONS {
                query = query.bind(action);
            }
            let rows = query.fetch_all(&self.pool).await?;
            decode(rows)
        })
        .await
    }
}
