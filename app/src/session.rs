//! What the web app keeps in a person's session, under typed keys.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::domain::clock::Timestamp;
use crate::domain::ids::{AccountId, ConnectionId, UserId};
use crate::domain::tokens::TokenPurpose;

const AUTH: &str = "auth";
const FLASH: &str = "flash";
const SIGN_IN_EMAIL: &str = "sign_in_email";
const PENDING_EMAIL: &str = "pending_email";
const RESEND_AT: &str = "resend_at";
const RETURN_TO: &str = "return_to";
const SSO_FLOWS: &str = "sso_flows";
const SECOND_STEP: &str = "second_step";
const TOTP_ENROLMENT: &str = "totp_enrolment";
/// At most this many SSO sign-ins may be in progress in one session (several tabs).
const MAX_SSO_FLOWS: usize = 5;
/// Issued and used one-time form tokens kept per form.
const MAX_FORM_TOKENS: usize = 20;

/// Why an SSO flow was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SsoPurpose {
    SignIn,
    /// An owner's test sign-in through a connection (signs nobody in).
    Test {
        owner_user_id: UserId,
    },
    /// Accepting the invitation whose link token has this hash, on a domain that enforces
    /// single sign-on: the person signs in through the provider and joins then.
    AcceptInvitation {
        token_hash: String,
    },
    /// A signed-in person proving who they are again before a sensitive change.
    Reauthenticate {
        user_id: UserId,
    },
}

/// A started SSO sign-in, kept server-side until its callback: what the answer must match.
#[derive(Clone, Serialize, Deserialize)]
pub struct SsoFlow {
    pub connection_id: ConnectionId,
    pub account_id: AccountId,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub started_at: i64,
    pub purpose: SsoPurpose,
}

impl std::fmt::Debug for SsoFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoFlow")
            .field("connection_id", &self.connection_id)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// Keeps a started flow beside any others in progress (newest last, the oldest dropped).
pub async fn add_sso_flow(session: &Session, flow: SsoFlow) -> SessionResult<()> {
    let mut flows = session
        .get::<Vec<SsoFlow>>(SSO_FLOWS)
        .await?
        .unwrap_or_default();
    flows.push(flow);
    let excess = flows.len().saturating_sub(MAX_SSO_FLOWS);
    flows.drain(..excess);
    session.insert(SSO_FLOWS, flows).await
}

/// Takes out the flow whose `state` matches, and only that one: a forged or unknown `state`
/// uses up nothing. The comparison goes through SHA-256, so it stops at no secret prefix.
pub async fn take_sso_flow(session: &Session, state: &str) -> SessionResult<Option<SsoFlow>> {
    use sha2::{Digest as _, Sha256};
    let Some(mut flows) = session.get::<Vec<SsoFlow>>(SSO_FLOWS).await? else {
        return Ok(None);
    };
    let wanted = Sha256::digest(state.as_bytes());
    let Some(index) = flows
        .iter()
        .position(|f| Sha256::digest(f.state.as_bytes()) == wanted)
    else {
        return Ok(None);
    };
    let flow = flows.remove(index);
    session.insert(SSO_FLOWS, flows).await?;
    Ok(Some(flow))
}

/// What a posted one-time form token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormToken {
    /// Issued and not used yet: go ahead (it is now used).
    Fresh,
    /// Posted before: the form was submitted again (a reload).
    Used,
    /// Never issued to this session.
    Unknown,
}

fn form_keys(form: &str) -> (String, String) {
    (format!("form:{form}:issued"), format!("form:{form}:used"))
}

async fn push_capped(session: &Session, key: &str, token: String) -> SessionResult<()> {
    let mut tokens = session.get::<Vec<String>>(key).await?.unwrap_or_default();
    tokens.push(token);
    let excess = tokens.len().saturating_sub(MAX_FORM_TOKENS);
    tokens.drain(..excess);
    session.insert(key, tokens).await
}

/// A new one-time token for a rendering of `form`.
pub async fn issue_form_token(session: &Session, form: &str) -> SessionResult<String> {
    let token = crate::domain::domains::new_token();
    push_capped(session, &form_keys(form).0, token.clone()).await?;
    Ok(token)
}

/// Uses a posted token of `form`.
pub async fn use_form_token(
    session: &Session,
    form: &str,
    token: &str,
) -> SessionResult<FormToken> {
    let (issued_key, used_key) = form_keys(form);
    let mut issued = session
        .get::<Vec<String>>(&issued_key)
        .await?
        .unwrap_or_default();
    if let Some(i) = issued.iter().position(|t| t == token) {
        issued.remove(i);
        session.insert(&issued_key, issued).await?;
        push_capped(session, &used_key, token.to_owned()).await?;
        return Ok(FormToken::Fresh);
    }
    let used = session
        .get::<Vec<String>>(&used_key)
        .await?
        .unwrap_or_default();
    Ok(if !token.is_empty() && used.iter().any(|t| t == token) {
        FormToken::Used
    } else {
        FormToken::Unknown
    })
}

/// The key a session is stored under: a SHA-256 of its id (the cookie's value), so the store
/// holds no usable cookie. Also the handle a person's sessions list shows and posts back.
pub fn session_handle(id: &tower_sessions::session::Id) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(id.0.to_le_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The handle of `session`, once it has an id (a signed-in session always has).
pub fn handle_of(session: &Session) -> Option<String> {
    session.id().map(|id| session_handle(&id))
}

/// Who is signed in, in which account, and since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthState {
    pub user_id: UserId,
    pub account_id: Option<AccountId>,
    /// The user's session epoch at sign-in: a password reset bumps it and ends this session.
    pub epoch: i64,
    pub signed_in_at: i64,
    /// How the session was started: "password" or "sso".
    #[serde(default)]
    pub method: Option<String>,
    /// The device it started on (its user agent, as kept) and the client's IP then: shown on
    /// the person's sessions list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// When the person last proved who they are in this session by re-authenticating
    /// (`None`: at sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthenticated_at: Option<i64>,
}

impl AuthState {
    /// When the person last proved who they are: sign-in or a later re-authentication.
    pub fn authenticated_at(&self) -> Timestamp {
        Timestamp(
            self.reauthenticated_at
                .unwrap_or(self.signed_in_at)
                .max(self.signed_in_at),
        )
    }
}

/// A one-shot message for the next page: a notice, an error, field errors, and the values
/// the person typed (never passwords), so nothing is lost on a redirect.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    pub error: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub values: BTreeMap<String, String>,
}

impl Flash {
    pub fn notice(message: impl Into<String>) -> Self {
        Self {
            notice: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn field_error(mut self, field: &str, message: Option<String>) -> Self {
        if let Some(m) = message {
            self.fields.insert(field.to_owned(), m);
        }
        self
    }

    pub fn value(mut self, field: &str, value: &str) -> Self {
        self.values.insert(field.to_owned(), value.to_owned());
        self
    }

    pub fn field(&self, field: &str) -> Option<String> {
        self.fields.get(field).cloned()
    }

    pub fn value_of(&self, field: &str) -> Option<String> {
        self.values.get(field).cloned()
    }
}

/// Session errors come from the session store; callers treat them as infrastructure failures.
pub type SessionResult<T> = Result<T, tower_sessions::session::Error>;

pub async fn set_flash(session: &Session, flash: Flash) -> SessionResult<()> {
    session.insert(FLASH, flash).await
}

pub async fn take_flash(session: &Session) -> SessionResult<Flash> {
    Ok(session.remove::<Flash>(FLASH).await?.unwrap_or_default())
}

pub async fn auth(session: &Session) -> SessionResult<Option<AuthState>> {
    session.get::<AuthState>(AUTH).await
}

/// Starts a signed-in session under a new id (no session fixation), dropping what the
/// anonymous session held except where the person was going (an invitation being accepted).
pub async fn sign_in(session: &Session, auth: AuthState) -> SessionResult<()> {
    let return_to = session.get::<String>(RETURN_TO).await?;
    let invite = link_token(session, TokenPurpose::Invite).await?;
    session.clear().await;
    session.cycle_id().await?;
    session.insert(AUTH, auth).await?;
    if let Some(path) = return_to {
        session.insert(RETURN_TO, path).await?;
    }
    if invite.is_some() {
        set_link_token(session, TokenPurpose::Invite, invite).await?;
    }
    Ok(())
}

/// The signed-in session after its person changed their password: a new id (the old cookie
/// is worth nothing), the same sign-in, at the user's new session `epoch`.
pub async fn renew_after_password_change(
    session: &Session,
    mut auth: AuthState,
    epoch: i64,
) -> SessionResult<()> {
    auth.epoch = epoch;
    session.cycle_id().await?;
    session.insert(AUTH, auth).await?;
    Ok(())
}

const REAUTH_RETURN: &str = "reauth_return";

/// A form that asked the person to re-authenticate first: the page to go back to, and what
/// was typed there (as a flash for that page).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReauthReturn {
    pub path: String,
    pub flash: Flash,
}

/// Remembers where to go back after re-authenticating (only local paths are kept).
pub async fn set_reauth_return(session: &Session, back: ReauthReturn) -> SessionResult<()> {
    if back.path.starts_with('/') && !back.path.starts_with("//") {
        session.insert(REAUTH_RETURN, back).await?;
    }
    Ok(())
}

pub async fn take_reauth_return(session: &Session) -> SessionResult<Option<ReauthReturn>> {
    session.remove::<ReauthReturn>(REAUTH_RETURN).await
}

/// The signed-in person just proved who they are again, at `at`.
pub async fn mark_reauthenticated(session: &Session, at: Timestamp) -> SessionResult<()> {
    if let Some(mut auth) = auth(session).await? {
        auth.reauthenticated_at = Some(at.millis());
        session.insert(AUTH, auth).await?;
    }
    Ok(())
}

/// Where to go after signing in, if a page asked (only local paths are kept).
pub async fn set_return_to(session: &Session, path: &str) -> SessionResult<()> {
    if path.starts_with('/') && !path.starts_with("//") {
        session.insert(RETURN_TO, path).await?;
    }
    Ok(())
}

pub async fn take_return_to(session: &Session) -> SessionResult<Option<String>> {
    session.remove::<String>(RETURN_TO).await
}

/// Switches the current account of a signed-in session.
pub async fn set_current_account(
    session: &Session,
    account_id: Option<AccountId>,
) -> SessionResult<()> {
    if let Some(mut state) = auth(session).await? {
        state.account_id = account_id;
        session.insert(AUTH, state).await?;
    }
    Ok(())
}

/// Ends the session everywhere (store row deleted) and starts afresh with a new id.
/// (`flush` alone would re-create the record under the old id on the next write.)
pub async fn sign_out(session: &Session) -> SessionResult<()> {
    session.flush().await?;
    session.cycle_id().await
}

pub async fn set_sign_in_email(session: &Session, email: &str) -> SessionResult<()> {
    session.insert(SIGN_IN_EMAIL, email).await
}

pub async fn sign_in_email(session: &Session) -> SessionResult<Option<String>> {
    session.get::<String>(SIGN_IN_EMAIL).await
}

pub async fn set_pending_email(session: &Session, email: &str) -> SessionResult<()> {
    session.insert(PENDING_EMAIL, email).await
}

pub async fn pending_email(session: &Session) -> SessionResult<Option<String>> {
    session.get::<String>(PENDING_EMAIL).await
}

pub async fn last_resend(session: &Session) -> SessionResult<Option<i64>> {
    session.get::<i64>(RESEND_AT).await
}

pub async fn set_last_resend(session: &Session, at: i64) -> SessionResult<()> {
    session.insert(RESEND_AT, at).await
}

fn token_key(purpose: TokenPurpose) -> String {
    format!("link:{}", purpose.as_str())
}

/// Keeps the *hash* of a link's token while the person looks at the page it opened, so the
/// token leaves the address bar (and Referer headers) at once and is never stored raw.
pub async fn set_link_token(
    session: &Session,
    purpose: TokenPurpose,
    token_hash: Option<String>,
) -> SessionResult<()> {
    session.insert(&token_key(purpose), token_hash).await
}

pub async fn link_token(session: &Session, purpose: TokenPurpose) -> SessionResult<Option<String>> {
    Ok(session
        .get::<Option<String>>(&token_key(purpose))
        .await?
        .flatten())
}

pub async fn forget_link_token(session: &Session, purpose: TokenPurpose) -> SessionResult<()> {
    session.remove_value(&token_key(purpose)).await.map(|_| ())
}

/// A password checked for a person with a second factor, waiting for its second step: whose,
/// under which session epoch, and since when (never the password). Not a signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondStepState {
    pub user_id: UserId,
    pub epoch: i64,
    pub started_at: i64,
}

/// Keeps the pending second step under a new session id (whatever was planted before the
/// password was typed does not carry over to the signed-in session).
pub async fn begin_second_step(session: &Session, pending: SecondStepState) -> SessionResult<()> {
    session.cycle_id().await?;
    session.insert(SECOND_STEP, pending).await
}

pub async fn second_step(session: &Session) -> SessionResult<Option<SecondStepState>> {
    session.get::<SecondStepState>(SECOND_STEP).await
}

pub async fn end_second_step(session: &Session) -> SessionResult<()> {
    session.remove_value(SECOND_STEP).await.map(|_| ())
}

/// Recovery codes made by a passkey registration (a JSON request that cannot show them
/// itself), sealed with the server's key until the page after it shows them, once.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodesToShow {
    pub user_id: UserId,
    pub codes_sealed: String,
}

impl std::fmt::Debug for CodesToShow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodesToShow")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

const CODES_TO_SHOW: &str = "codes_to_show";

pub async fn set_codes_to_show(session: &Session, codes: CodesToShow) -> SessionResult<()> {
    session.insert(CODES_TO_SHOW, codes).await
}

/// Takes the codes to show (they are in the session for one page only).
pub async fn take_codes_to_show(session: &Session) -> SessionResult<Option<CodesToShow>> {
    session.remove::<CodesToShow>(CODES_TO_SHOW).await
}

/// The authenticator secret being enrolled, sealed with the server's key, until a code
/// confirms it (sessions live in the database: any instance can confirm it).
#[derive(Clone, Serialize, Deserialize)]
pub struct TotpEnrolment {
    pub user_id: UserId,
    pub secret_sealed: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

pub async fn set_totp_enrolment(session: &Session, enrolment: TotpEnrolment) -> SessionResult<()> {
    session.insert(TOTP_ENROLMENT, enrolment).await
}

pub async fn totp_enrolment(session: &Session) -> SessionResult<Option<TotpEnrolment>> {
    session.get::<TotpEnrolment>(TOTP_ENROLMENT).await
}

pub async fn forget_totp_enrolment(session: &Session) -> SessionResult<()> {
    session.remove_value(TOTP_ENROLMENT).await.map(|_| ())
}
