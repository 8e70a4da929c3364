//! [`DomainStore`]: the email domains an account proves it holds, by a DNS TXT record.
use std::sync::LazyLock;

use app::domain::audit::AuditEvent;
use app::domain::clock::Timestamp;
use app::domain::domains::{AccountDomain, AddDomainOutcome, VerifyDomainOutcome};
use app::domain::ids::{AccountId, DomainId};
use app::ports::{DomainStore, StoreResult};
use async_trait::async_trait;

use super::{audit_in, by_id_query, is_unique_violation, SqlStore};
use crate::store::error::port;
use crate::store::rows::{decode, AccountDomainRow};

const DOMAIN_COLUMNS: &str = "id, account_id, domain, token, verified_at, created_at";
static DOMAINS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {DOMAIN_COLUMNS} FROM account_domains WHERE account_id = $1 ORDER BY domain, id"
    )
});
static DOMAIN_BY_ID: LazyLock<String> =
    LazyLock::new(|| by_id_query(DOMAIN_COLUMNS, "account_domains"));
static DOMAIN_BY_NAME: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {DOMAIN_COLUMNS} FROM account_domains WHERE account_id = $1 AND domain = $2")
});
const INSERT_DOMAIN: &str = "
INSERT INTO account_domains (id, account_id, domain, token, verified_at, created_at)
VALUES ($1, $2, $3, $4, NULL, $5)";
const VERIFY_DOMAIN: &str = "
UPDATE account_domains SET verified_at = COALESCE(verified_at, $3)
WHERE account_id = $1 AND id = $2";
const DELETE_DOMAIN: &str = "DELETE FROM account_domains WHERE account_id = $1 AND id = $2";

#[async_trait]
impl DomainStore for SqlStore {
    async fn add_domain(
        &self,
        d: AccountDomain,
        audit: AuditEvent,
    ) -> StoreResult<AddDomainOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            let inserted = sqlx::query(INSERT_DOMAIN)
                .bind(d.id.as_str())
                .bind(d.account_id.as_str())
                .bind(&d.domain)
                .bind(&d.token)
                .bind(d.created_at.millis())
                .execute(&mut *tx)
                .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    let existing = sqlx::query_as::<_, AccountDomainRow>(&DOMAIN_BY_NAME)
                        .bind(d.account_id.as_str())
                        .bind(&d.domain)
                        .fetch_one(&self.pool)
                        .await?;
                    let existing = AccountDomain::try_from(existing)?;
                    return Ok(AddDomainOutcome::AlreadyAdded(existing));
                }
                Err(e) => return Err(e.into()),
            }
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(AddDomainOutcome::Added(d))
        })
        .await
    }

    async fn domains(&self, account_id: &AccountId) -> StoreResult<Vec<AccountDomain>> {
        port(async {
            let rows = sqlx::query_as::<_, AccountDomainRow>(&DOMAINS)
                .bind(account_id.as_str())
                .fetch_all(&self.pool)
                .await?;
            decode(rows)
        })
        .await
    }

    async fn domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
    ) -> StoreResult<Option<AccountDomain>> {
        port(self.by_id::<AccountDomainRow, _>(&DOMAIN_BY_ID, account_id, id.as_str())).await
    }

    async fn verify_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<VerifyDomainOutcome> {
        port(async {
            let mut tx = self.begin().await?;
            let done = sqlx::query(VERIFY_DOMAIN)
                .bind(account_id.as_str())
                .bind(id.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await;
            let outcome = match done {
                Ok(done) if done.rows_affected() == 0 => return Ok(VerifyDomainOutcome::NotFound),
                Ok(_) => VerifyDomainOutcome::Verified,
                // The partial unique index: another account holds it verified.
                Err(e) if is_unique_violation(&e) => {
                    return Ok(VerifyDomainOutcome::HeldByAnotherAccount)
                }
                Err(e) => return Err(e.into()),
            };
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn delete_domain(
        &self,
        account_id: &AccountId,
        id: &DomainId,
        audit: AuditEvent,
    ) -> StoreResult<bool> {
        port(self.delete_with_audit(DELETE_DOMAIN, account_id, id.as_str(), audit)).await
    }
}
