//! [`AuditStore`]: the activity log. Changes write their own event inside their transaction
//! (`super::audit_in`); these are the events of their own and the log's reader.
use app::domain::audit::AuditEvent;
use app::domain::ids::AccountId;
use app::ports::{AuditStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode, AuditEventRow};

const AUDIT_EVENTS: &str = "
SELECT account_id, actor_user_id, action, detail, at FROM audit_events
WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2";

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
}
