//! The flood gates, each a counter taken before the work it limits and shared by every
//! instance through the store: requests per client network at the doors that send mail,
//! confirmation mails per domain, invitations and new accounts per person.
use std::time::Duration;

use crate::domain::email::EmailAddress;
use crate::domain::floods::{self, Door, FloodPolicy};
use crate::domain::lockout::Hit;
use crate::flows::{FlowError, Outcome, Refusal};
use crate::AppState;

/// What a refused request says (the same for every address: only the client is counted).
pub const TOO_MANY_REQUESTS: &str =
    "Too many requests from your network. Please wait a while and try again.";

/// Counts a request at `door` from `client_ip` before anything else is done; refused with
/// how long to wait once the client's network has used its hourly budget.
pub async fn admit(state: &AppState, door: Door, client_ip: &str) -> Outcome<()> {
    let limit = state.config.floods.requests_per_ip_per_hour;
    let key = floods::door_key(door, client_ip);
    match count(state, &key, floods::HOUR, limit).await? {
        None => Ok(()),
        Some(retry_after) => {
            tracing::info!(
                door = door.as_str(),
                "request refused: its client network is over its hourly budget"
            );
            Err(Refusal::TooSoon {
                code: "too_many_requests",
                message: TOO_MANY_REQUESTS.into(),
                retry_after_secs: retry_after.as_secs(),
                field: None,
            }
            .into())
        }
    }
}

/// Takes one of the hour's confirmation mails to `email`'s domain; false when they are used.
pub async fn confirm_mail_to_domain(
    state: &AppState,
    email: &EmailAddress,
) -> Result<bool, FlowError> {
    let limit = state.config.floods.confirm_mails_per_domain_per_hour;
    let key = floods::confirm_domain_key(email.domain());
    let over = count(state, &key, floods::HOUR, limit).await?;
    if over.is_some() {
        tracing::warn!(
            "confirmation mail not sent: its domain has had its hourly share of confirmations"
        );
    }
    Ok(over.is_none())
}

/// Counts one of the day's `limit` on `key`: `Some(wait)` when the day's are used.
pub async fn per_day(
    state: &AppState,
    key: &str,
    limit: u32,
) -> Result<Option<Duration>, FlowError> {
    count(state, key, floods::DAY, limit).await
}

async fn count(
    state: &AppState,
    key: &str,
    window: Duration,
    limit: u32,
) -> Result<Option<Duration>, FlowError> {
    let now = state.clock.now();
    Ok(
        match state.store.count_hit(key, now, window, limit).await? {
            Hit::Counted { .. } => None,
            Hit::Over { window_start } => Some(FloodPolicy::retry_after(window, window_start, now)),
        },
    )
}
