//! Typed rows: what each query selects, decoded by column name (`sqlx::FromRow`, for both
//! databases; the SQLite inline reads fill the same structs), and the one conversion of each
//! into its domain type (for sessions, tower-sessions' `Record`, both ways). A stored value
//! that no longer parses (an email, a role) is a decode error, as a column of the wrong type is.
use std::collections::HashMap;

use app::domain::accounts::Account;
use app::domain::api_keys::{scopes_from_db, ApiKeyRecord, KeyGrant};
use app::domain::audit::{AuditEntry, AuditEvent};
use app::domain::clock::Timestamp;
use app::domain::domains::AccountDomain;
use app::domain::email::EmailAddress;
use app::domain::ids::{
    AccountId, ApiKeyId, ConnectionId, DomainId, InvitationId, RecordId, UserId, WorkspaceId,
};
use app::domain::members::{Invitation, MemberRecord, Membership};
use app::domain::roles::Role;
use app::domain::sessions::SessionInfo;
use app::domain::sso::{ServedDomain, SsoConnection};
use app::domain::users::{EmailChange, PendingSignUp, UserRecord};
use app::domain::workspaces::{DataRecord, Workspace};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use super::error::DbResult;

/// Converts decoded rows into their domain type.
pub fn decode<R, T: TryFrom<R, Error = sqlx::Error>>(rows: Vec<R>) -> DbResult<Vec<T>> {
    Ok(rows
        .into_iter()
        .map(T::try_from)
        .collect::<Result<_, _>>()?)
}

/// Converts a decoded row, if there is one, into its domain type.
pub fn decode_opt<R, T: TryFrom<R, Error = sqlx::Error>>(row: Option<R>) -> DbResult<Option<T>> {
    Ok(row.map(T::try_from).transpose()?)
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

fn email(stored: &str) -> Result<EmailAddress, sqlx::Error> {
    EmailAddress::parse(stored)
        .map_err(|e| sqlx::Error::Decode(format!("stored email: {e}").into()))
}

fn role(stored: &str) -> Result<Role, sqlx::Error> {
    Role::parse(stored).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {stored}").into()))
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub email_confirmed_at: Option<i64>,
    pub failed_attempts: i64,
    pub locked_until: Option<i64>,
    pub session_epoch: i64,
    pub created_at: i64,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(UserRecord {
            email: email(&row.email)?,
            id: UserId::from_stored(row.id),
            password_hash: row.password_hash,
            email_confirmed_at: ts(row.email_confirmed_at),
            failed_attempts: u32::try_from(row.failed_attempts).unwrap_or(u32::MAX),
            locked_until: ts(row.locked_until),
            session_epoch: row.session_epoch,
            created_at: Timestamp(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct PendingSignUpRow {
    pub email: String,
}

impl TryFrom<PendingSignUpRow> for PendingSignUp {
    type Error = sqlx::Error;

    fn try_from(row: PendingSignUpRow) -> Result<Self, Self::Error> {
        Ok(PendingSignUp {
            email: email(&row.email)?,
        })
    }
}

/// A request to change a user's email, with the address they have now.
#[derive(sqlx::FromRow)]
pub struct EmailChangeRow {
    pub user_id: String,
    pub old_email: String,
    pub new_email: String,
}

impl TryFrom<EmailChangeRow> for EmailChange {
    type Error = sqlx::Error;

    fn try_from(row: EmailChangeRow) -> Result<Self, Self::Error> {
        Ok(EmailChange {
            user_id: UserId::from_stored(row.user_id),
            old_email: email(&row.old_email)?,
            new_email: email(&row.new_email)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
    pub require_second_factor: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = sqlx::Error;

    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        Ok(Account {
            id: AccountId::from_stored(row.id),
            name: row.name,
            plan: row.plan,
            created_at: Timestamp(row.created_at),
            require_second_factor: row.require_second_factor != 0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct MembershipRow {
    pub account_id: String,
    pub account_name: String,
    pub role: String,
    pub require_second_factor: i64,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = sqlx::Error;

    fn try_from(row: MembershipRow) -> Result<Self, Self::Error> {
        Ok(Membership {
            role: role(&row.role)?,
            account_id: AccountId::from_stored(row.account_id),
            account_name: row.account_name,
            require_second_factor: row.require_second_factor != 0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

impl TryFrom<MemberRow> for MemberRecord {
    type Error = sqlx::Error;

    fn try_from(row: MemberRow) -> Result<Self, Self::Error> {
        Ok(MemberRecord {
            role: role(&row.role)?,
            user_id: UserId::from_stored(row.user_id),
            email: row.email,
            since: Timestamp(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub role: String,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = sqlx::Error;

    fn try_from(row: InvitationRow) -> Result<Self, Self::Error> {
        Ok(Invitation {
            email: email(&row.email)?,
            role: role(&row.role)?,
            id: InvitationId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            account_name: row.account_name,
            invited_by: row.invited_by.map(UserId::from_stored),
            created_at: Timestamp(row.created_at),
            expires_at: Timestamp(row.expires_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct WorkspaceRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = sqlx::Error;

    fn try_from(row: WorkspaceRow) -> Result<Self, Self::Error> {
        Ok(Workspace {
            id: WorkspaceId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            name: row.name,
            created_at: Timestamp(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DataRecordRow {
    pub id: String,
    pub account_id: String,
    pub workspace_id: String,
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<DataRecordRow> for DataRecord {
    type Error = sqlx::Error;

    fn try_from(row: DataRecordRow) -> Result<Self, Self::Error> {
        Ok(DataRecord {
            id: RecordId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            workspace_id: WorkspaceId::from_stored(row.workspace_id),
            data: row.data,
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub hint: String,
    pub scopes: Option<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = sqlx::Error;

    fn try_from(row: ApiKeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKeyRecord {
            scopes: scopes_from_db(row.scopes.as_deref()),
            id: ApiKeyId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            name: row.name,
            hint: row.hint,
            expires_at: ts(row.expires_at),
            last_used_at: ts(row.last_used_at),
            last_used_ip: row.last_used_ip,
            usage: Vec::new(),
            created_by: row.created_by.map(UserId::from_stored),
            created_at: Timestamp(row.created_at),
        })
    }
}

/// The key lookup's row: the key and its account's plan.
#[derive(sqlx::FromRow)]
pub struct KeyGrantRow {
    pub id: String,
    pub account_id: String,
    pub scopes: Option<String>,
    pub expires_at: Option<i64>,
    pub plan: String,
}

impl TryFrom<KeyGrantRow> for KeyGrant {
    type Error = sqlx::Error;

    fn try_from(row: KeyGrantRow) -> Result<Self, Self::Error> {
        Ok(KeyGrant {
            scopes: scopes_from_db(row.scopes.as_deref()),
            key_id: ApiKeyId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            expires_at: ts(row.expires_at),
            plan: row.plan,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditEventRow {
    pub account_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub detail: Option<String>,
    pub at: i64,
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = sqlx::Error;

    fn try_from(row: AuditEventRow) -> Result<Self, Self::Error> {
        Ok(AuditEvent {
            account_id: row.account_id.map(AccountId::from_stored),
            actor_user_id: row.actor_user_id.map(UserId::from_stored),
            action: row.action,
            detail: row.detail,
            at: Timestamp(row.at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditEntryRow {
    pub id: String,
    pub account_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub detail: Option<String>,
    pub at: i64,
    /// Not every reader selects where an event came from.
    #[sqlx(default)]
    pub ip: Option<String>,
    #[sqlx(default)]
    pub device: Option<String>,
}

impl TryFrom<AuditEntryRow> for AuditEntry {
    type Error = sqlx::Error;

    fn try_from(row: AuditEntryRow) -> Result<Self, Self::Error> {
        Ok(AuditEntry {
            ip: row.ip,
            device: row.device,
            id: row.id,
            event: AuditEvent {
                account_id: row.account_id.map(AccountId::from_stored),
                actor_user_id: row.actor_user_id.map(UserId::from_stored),
                action: row.action,
                detail: row.detail,
                at: Timestamp(row.at),
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct AccountDomainRow {
    pub id: String,
    pub account_id: String,
    pub domain: String,
    pub token: String,
    pub verified_at: Option<i64>,
    pub created_at: i64,
}

impl TryFrom<AccountDomainRow> for AccountDomain {
    type Error = sqlx::Error;

    fn try_from(row: AccountDomainRow) -> Result<Self, Self::Error> {
        Ok(AccountDomain {
            id: DomainId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            domain: row.domain,
            token: row.token,
            verified_at: ts(row.verified_at),
            created_at: Timestamp(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ServedDomainRow {
    pub domain: String,
    pub verified_at: Option<i64>,
}

impl TryFrom<ServedDomainRow> for ServedDomain {
    type Error = sqlx::Error;

    fn try_from(row: ServedDomainRow) -> Result<Self, Self::Error> {
        Ok(ServedDomain {
            domain: row.domain,
            verified: row.verified_at.is_some(),
        })
    }
}

/// A connection's own row; the domains it serves come from a second query.
#[derive(sqlx::FromRow)]
pub struct SsoConnectionRow {
    pub id: String,
    pub account_id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_enc: String,
    pub enforced: i64,
    pub create_users: i64,
    pub tested_at: Option<i64>,
    pub created_at: i64,
}

impl SsoConnectionRow {
    pub fn serving(self, domains: Vec<ServedDomain>) -> SsoConnection {
        SsoConnection {
            id: ConnectionId::from_stored(self.id),
            account_id: AccountId::from_stored(self.account_id),
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret_sealed: self.client_secret_enc,
            enforced: self.enforced != 0,
            create_users: self.create_users != 0,
            domains,
            tested_at: ts(self.tested_at),
            created_at: Timestamp(self.created_at),
        }
    }
}

/// The stored key of a session id: its SHA-256, hex, so the table holds no usable cookie value.
pub fn session_id_hash(id: &Id) -> String {
    app::session::session_handle(id)
}

/// A session time in the table's unit (milliseconds since the epoch).
fn session_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Now, for comparing with session expiry times.
pub fn session_now() -> i64 {
    session_millis(OffsetDateTime::now_utc())
}

/// A session as written: keyed by [`session_id_hash`], with who is signed in, how the session
/// started and the account it is in (from the web app's `auth` entry) kept beside the data, so
/// a person's sessions can be found and ended.
pub struct SessionRow {
    pub hash: String,
    pub user_id: Option<String>,
    pub account_id: Option<String>,
    pub method: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: Option<i64>,
    pub data: String,
    pub expires_at: i64,
}

impl SessionRow {
    pub fn of(record: &Record) -> session_store::Result<Self> {
        let auth = record.data.get("auth");
        let field = |name: &str| {
            auth.and_then(|a| a.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Ok(SessionRow {
            hash: session_id_hash(&record.id),
            user_id: field("user_id"),
            account_id: field("account_id"),
            method: field("method"),
            user_agent: field("user_agent"),
            ip: field("ip"),
            started_at: auth
                .and_then(|a| a.get("signed_in_at"))
                .and_then(|v| v.as_i64()),
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires_at: session_millis(record.expiry_date),
        })
    }
}

/// A live session as its person's sessions list reads it.
#[derive(sqlx::FromRow)]
pub struct SessionListRow {
    pub id_hash: String,
    pub method: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: Option<i64>,
    pub expires_at: i64,
}

impl From<SessionListRow> for SessionInfo {
    fn from(row: SessionListRow) -> Self {
        SessionInfo {
            handle: row.id_hash,
            method: row.method,
            user_agent: row.user_agent,
            ip: row.ip,
            started_at: row.started_at.map(Timestamp),
            expires_at: Timestamp(row.expires_at),
        }
    }
}

/// A live session as read back.
#[derive(sqlx::FromRow)]
pub struct LoadedSessionRow {
    pub data: String,
    pub expires_at: i64,
}

impl LoadedSessionRow {
    /// The session record of `id`.
    pub fn into_record(self, id: Id) -> session_store::Result<Record> {
        let data: HashMap<String, serde_json::Value> = serde_json::from_str(&self.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.expires_at) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Record {
            id,
            data,
            expiry_date,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_key_is_not_the_cookie() {
        let id = Id::default();
        let hash = session_id_hash(&id);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&id.to_string()));
        assert_eq!(hash, session_id_hash(&id), "stable");
        assert_ne!(hash, session_id_hash(&Id::default()));
    }
}

#[derive(sqlx::FromRow)]
pub struct TotpFactorRow {
    pub user_id: String,
    pub secret_sealed: String,
    pub last_step: i64,
    pub confirmed_at: i64,
}

impl TryFrom<TotpFactorRow> for app::domain::second_factors::TotpFactor {
    type Error = sqlx::Error;

    fn try_from(row: TotpFactorRow) -> Result<Self, Self::Error> {
        Ok(app::domain::second_factors::TotpFactor {
            user_id: UserId::from_stored(row.user_id),
            secret_sealed: row.secret_sealed,
            last_step: row.last_step,
            confirmed_at: Timestamp(row.confirmed_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub name: String,
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl TryFrom<PasskeyRow> for app::domain::passkeys::StoredPasskey {
    type Error = sqlx::Error;

    fn try_from(row: PasskeyRow) -> Result<Self, Self::Error> {
        Ok(app::domain::passkeys::StoredPasskey {
            id: app::domain::ids::PasskeyId::from_stored(row.id),
            user_id: UserId::from_stored(row.user_id),
            credential_id: row.credential_id,
            name: row.name,
            credential: row.passkey,
            created_at: Timestamp(row.created_at),
            last_used_at: row.last_used_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CeremonyRow {
    pub purpose: String,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub state: String,
    pub expires_at: i64,
}

impl TryFrom<CeremonyRow> for app::domain::passkeys::Ceremony {
    type Error = sqlx::Error;

    fn try_from(row: CeremonyRow) -> Result<Self, Self::Error> {
        let purpose = app::domain::passkeys::CeremonyPurpose::parse(&row.purpose)
            .ok_or_else(|| sqlx::Error::Decode("unknown ceremony purpose".into()))?;
        Ok(app::domain::passkeys::Ceremony {
            purpose,
            user_id: row.user_id.map(UserId::from_stored),
            name: row.name,
            state: row.state,
            expires_at: Timestamp(row.expires_at),
        })
    }
}

/// A user as the operator's list shows them (`body/operator.rs`).
#[derive(sqlx::FromRow)]
pub struct UserListingRow {
    pub id: String,
    pub email: String,
    pub created_at: i64,
    pub locked_until: Option<i64>,
    pub disabled_at: Option<i64>,
}

impl TryFrom<UserListingRow> for app::domain::operator::UserListing {
    type Error = sqlx::Error;

    fn try_from(row: UserListingRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: UserId::from_stored(row.id),
            email: email(&row.email)?,
            created_at: Timestamp(row.created_at),
            locked_until: ts(row.locked_until),
            disabled_at: ts(row.disabled_at),
        })
    }
}
