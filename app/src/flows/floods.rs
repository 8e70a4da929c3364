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
    let limit = state.config.floods.per_ip_per_hour(door);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refused, Harness};

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[tokio::test]
    async fn a_door_admits_so_many_requests_an_hour_per_client_network() {
        let h = Harness::with_config(|c| c.floods.requests_per_ip_per_hour = 2);
        for _ in 0..2 {
            admit(&h.state, Door::SignUp, "198.51.100.4").await.unwrap();
        }
        let refusal = refused(admit(&h.state, Door::SignUp, "198.51.100.4").await);
        let Refusal::TooSoon {
            code,
            retry_after_secs,
            ..
        } = refusal
        else {
            panic!("expected to wait, got {refusal:?}");
        };
        assert_eq!((code, retry_after_secs), ("too_many_requests", 3600));
        // Each door and each network has its own budget.
        admit(&h.state, Door::ForgotPassword, "198.51.100.4")
            .await
            .unwrap();
        admit(&h.state, Door::SignUp, "198.51.100.5").await.unwrap();
        h.advance(floods::HOUR);
        admit(&h.state, Door::SignUp, "198.51.100.4").await.unwrap();
    }

    #[tokio::test]
    async fn passkey_sign_ins_have_their_own_larger_budget() {
        assert!(
            FloodPolicy::default().passkey_sign_ins_per_ip_per_hour
                > FloodPolicy::default().requests_per_ip_per_hour
        );
        let h = Harness::with_config(|c| {
            c.floods.requests_per_ip_per_hour = 1;
            c.floods.passkey_sign_ins_per_ip_per_hour = 3;
        });
        for _ in 0..3 {
            admit(&h.state, Door::PasskeySignIn, "198.51.100.4")
                .await
                .unwrap();
        }
        let over = admit(&h.state, Door::PasskeySignIn, "198.51.100.4").await;
        assert!(matches!(refused(over), Refusal::TooSoon { .. }));
        admit(&h.state, Door::SignUp, "198.51.100.4").await.unwrap();
    }

    #[tokio::test]
    async fn an_ipv6_client_is_its_64() {
        let h = Harness::with_config(|c| c.floods.requests_per_ip_per_hour = 1);
        admit(&h.state, Door::Unlock, "2001:db8:7:7::1")
            .await
            .unwrap();
        let same = admit(&h.state, Door::Unlock, "2001:db8:7:7:ffff::2").await;
        assert!(matches!(refused(same), Refusal::TooSoon { .. }));
        admit(&h.state, Door::Unlock, "2001:db8:7:8::1")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_domain_receives_so_many_confirmations_an_hour() {
        let h = Harness::with_config(|c| c.floods.confirm_mails_per_domain_per_hour = 2);
        for who in ["a", "b"] {
            let to = email(&format!("{who}@example.com"));
            assert!(confirm_mail_to_domain(&h.state, &to).await.unwrap());
        }
        assert!(!confirm_mail_to_domain(&h.state, &email("c@example.com"))
            .await
            .unwrap());
        assert!(confirm_mail_to_domain(&h.state, &email("c@example.org"))
            .await
            .unwrap());
        h.advance(floods::HOUR);
        assert!(confirm_mail_to_domain(&h.state, &email("c@example.com"))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_daily_limit_says_how_long_to_wait() {
        let h = Harness::new();
        assert_eq!(per_day(&h.state, "k", 1).await.unwrap(), None);
        h.advance(Duration::from_secs(3600));
        let wait = per_day(&h.state, "k", 1).await.unwrap();
        assert_eq!(wait, Some(floods::DAY - Duration::from_secs(3600)));
        assert_eq!(per_day(&h.state, "other", 1).await.unwrap(), None);
    }
}
