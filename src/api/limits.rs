//! Per-account rate limits (GCRA, from the `governor` crate) and the batched "last used"
//! times of API keys. Both live in this instance's memory: buckets are per instance, and
//! "last used" reaches the database at most 30 s late (lists are at most 60 s stale).
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use app::domain::clock::Timestamp;
use app::ports::{Store, StoreResult};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// A plan's allowance: `per_minute` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub per_minute: u32,
    pub burst: u32,
}

impl Policy {
    /// Every plan gets the default until plans differ.
    pub fn for_plan(_plan: &str) -> Policy {
        Policy {
            per_minute: 600,
            burst: 100,
        }
    }

    /// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
    pub fn header(&self) -> String {
        format!("{};w=60;burst={}", self.per_minute, self.burst)
    }
}

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

pub enum Verdict {
    Allowed { remaining: u32 },
    Limited { retry_after: Duration },
}

pub struct RateLimits {
    policy: Policy,
    limiter: Limiter,
}

impl RateLimits {
    pub fn new(policy: Policy) -> Self {
        let per_minute = NonZeroU32::new(policy.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(policy.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            policy,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn check(&self, account_id: &str) -> Verdict {
        match self.limiter.check_key(&account_id.to_owned()) {
            Ok(snapshot) => Verdict::Allowed {
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Verdict::Limited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    /// Forgets idle accounts' buckets (they are full again anyway).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

/// "Last used" times waiting to be written, newest per key.
#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<String, Timestamp>>,
}

impl LastUsed {
    pub fn note(&self, key_id: &str, at: Timestamp) {
        if let Ok(mut pending) = self.pending.lock() {
            match pending.get_mut(key_id) {
                Some(t) if *t >= at => {}
                Some(t) => *t = at,
                None => {
                    pending.insert(key_id.to_owned(), at);
                }
            }
        }
    }

    /// Writes what is pending in one transaction.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<()> {
        let batch: Vec<(String, Timestamp)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => Vec::new(),
        };
        store.touch_api_keys(&batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited() {
        let limits = RateLimits::new(Policy {
            per_minute: 60,
            burst: 3,
        });
        for expected in [2, 1, 0] {
            match limits.check("acct_a") {
                Verdict::Allowed { remaining } => assert_eq!(remaining, expected),
                Verdict::Limited { .. } => panic!("limited too early"),
            }
        }
        match limits.check("acct_a") {
            Verdict::Limited { retry_after } => assert!(retry_after <= Duration::from_secs(1)),
            Verdict::Allowed { .. } => panic!("the 4th request should be limited"),
        }
        assert!(
            matches!(limits.check("acct_b"), Verdict::Allowed { .. }),
            "buckets are per account"
        );
    }

    #[test]
    fn last_used_keeps_the_newest() {
        let l = LastUsed::default();
        l.note("k", Timestamp(5));
        l.note("k", Timestamp(3));
        l.note("k", Timestamp(9));
        assert_eq!(l.pending.lock().unwrap().get("k"), Some(&Timestamp(9)));
    }
}
