//! Per-account rate limits (GCRA, from the `governor` crate), by the plans of the
//! configuration, and the batched "last used"
//! times of API keys. Both live in this instance's memory: buckets are per instance, and
//! "last used" reaches the database at most 30 s late (lists are at most 60 s stale).
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::api_keys::{self, KeyUse};
use app::domain::clock::{Clock, Timestamp};
use app::domain::ids::ApiKeyId;
use app::ports::{Store, StoreResult};
use governor::clock::Clock as _;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::shared_limits::SharedLimits;

/// A plan's allowance: `per_minute` sustained, `burst` at once. The plans themselves are
/// configuration (`app::plans`); accounts on the same allowance share a limiter.
pub use app::plans::PlanLimits as Policy;

/// The application's clock as governor's: buckets refill as the app's time moves, so a test
/// that stops its clock sees exactly the burst, however fast or slow the machine is.
#[derive(Clone)]
pub struct AppClock(Arc<dyn Clock>);

impl governor::clock::Clock for AppClock {
    /// Time since the Unix epoch (governor only subtracts measurements of one clock).
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now().millis()).unwrap_or(0))
    }
}

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, AppClock, StateInformationMiddleware>;

pub enum Verdict {
    Allowed { remaining: u32 },
    Limited { retry_after: Duration },
}

/// One GCRA limiter per plan, keyed by account: in this process, or shared by every
/// instance through Redis when `TERMINUS_RATE_LIMIT_URL` is set (with the in-process one
/// standing in while Redis cannot answer).
pub struct RateLimits {
    plans: HashMap<Policy, Limiter>,
    clock: AppClock,
    shared: Option<Arc<SharedLimits>>,
}

fn limiter(policy: Policy, clock: AppClock) -> Limiter {
    let per_minute = NonZeroU32::new(policy.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(policy.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::per_minute(per_minute).allow_burst(burst);
    RateLimiter::<String, _, _, StateInformationMiddleware>::new(
        quota,
        DefaultKeyedStateStore::default(),
        clock,
    )
}

impl RateLimits {
    /// Limiters for every plan of the configuration, on the application's clock.
    pub fn new(clock: Arc<dyn Clock>, plans: &app::plans::Plans) -> Self {
        Self::with_policies(clock, plans.iter().map(|(_, limits)| limits))
    }

    pub fn with_policies(
        clock: Arc<dyn Clock>,
        policies: impl IntoIterator<Item = Policy>,
    ) -> Self {
        let clock = AppClock(clock);
        Self {
            plans: policies
                .into_iter()
                .map(|p| (p, limiter(p, clock.clone())))
                .collect(),
            clock,
            shared: None,
        }
    }

    /// Keeps the limits in Redis (or Valkey) at `url`, shared by every instance. Tries to
    /// connect first (for at most 2 s); if that fails, the server starts anyway and keeps
    /// trying in the background.
    pub async fn shared(mut self, url: &str) -> anyhow::Result<Self> {
        let shared = SharedLimits::new(url)?;
        shared.connect().await;
        self.shared = Some(shared);
        Ok(self)
    }

    /// Counts a request of `account_id` against the allowance of `policy`: in Redis when the
    /// limits are shared and it answers, else in this process.
    pub async fn check(&self, policy: Policy, account_id: &str) -> Verdict {
        if let Some(shared) = &self.shared {
            let now_ms = i64::try_from(self.clock.now().as_millis()).unwrap_or(i64::MAX);
            if let Some(verdict) = shared.check(policy, account_id, now_ms).await {
                return verdict;
            }
        }
        self.check_here(policy, account_id)
    }

    /// [`RateLimits::check`] in this process.
    pub fn check_here(&self, policy: Policy, account_id: &str) -> Verdict {
        let Some(limiter) = self.plans.get(&policy) else {
            return Verdict::Allowed {
                remaining: policy.burst,
            };
        };
        match limiter.check_key(&account_id.to_owned()) {
            Ok(snapshot) => Verdict::Allowed {
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Verdict::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Forgets idle accounts' buckets (they are full again anyway).
    pub fn forget_idle(&self) {
        for limiter in self.plans.values() {
            limiter.retain_recent();
        }
    }
}

/// What this instance saw of one key since its last write.
struct Pending {
    at: Timestamp,
    ip: Option<IpAddr>,
    /// `(day, requests)`: almost always one day, two around midnight.
    days: Vec<(i64, u64)>,
}

/// "Last used" times and IPs, and requests per day, waiting to be written, per key.
#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<ApiKeyId, Pending>>,
}

impl LastUsed {
    /// Counts one request of `key_id` at `at` from `ip`: in memory only.
    pub fn note(&self, key_id: &ApiKeyId, at: Timestamp, ip: Option<IpAddr>) {
        let day = api_keys::day_of(at);
        if let Ok(mut pending) = self.pending.lock() {
            match pending.get_mut(key_id) {
                Some(seen) => {
                    if seen.at <= at {
                        seen.at = at;
                        seen.ip = ip;
                    }
                    match seen.days.iter_mut().find(|(d, _)| *d == day) {
                        Some((_, n)) => *n += 1,
                        None => seen.days.push((day, 1)),
                    }
                }
                None => {
                    pending.insert(
                        key_id.clone(),
                        Pending {
                            at,
                            ip,
                            days: vec![(day, 1)],
                        },
                    );
                }
            }
        }
    }

    /// Takes what is pending, for one write.
    fn take(&self) -> Vec<KeyUse> {
        let drained: Vec<(ApiKeyId, Pending)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => Vec::new(),
        };
        drained
            .into_iter()
            .map(|(key_id, seen)| KeyUse {
                key_id,
                last_used_at: seen.at,
                last_used_ip: seen.ip.map(|ip| ip.to_string()),
                days: seen.days,
            })
            .collect()
    }

    /// Writes what is pending in one transaction.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<()> {
        store.touch_api_keys(&self.take()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use app::domain::clock::ManualClock;

    #[test]
    fn burst_then_limited_then_refilled_by_the_clock() {
        let policy = Policy {
            per_minute: 60,
            burst: 3,
        };
        let clock = Arc::new(ManualClock::starting_now());
        let limits = RateLimits::with_policies(clock.clone(), [policy]);
        for expected in [2, 1, 0] {
            match limits.check_here(policy, "acct_a") {
                Verdict::Allowed { remaining } => assert_eq!(remaining, expected),
                Verdict::Limited { .. } => panic!("limited too early"),
            }
        }
        match limits.check_here(policy, "acct_a") {
            Verdict::Limited { retry_after } => assert_eq!(retry_after, Duration::from_secs(1)),
            Verdict::Allowed { .. } => panic!("the 4th request should be limited"),
        }
        clock.advance(Duration::from_millis(999));
        assert!(matches!(
            limits.check_here(policy, "acct_a"),
            Verdict::Limited { .. }
        ));
        clock.advance(Duration::from_millis(1));
        assert!(
            matches!(limits.check_here(policy, "acct_a"), Verdict::Allowed { .. }),
            "one token a second"
        );
        assert!(
            matches!(limits.check_here(policy, "acct_b"), Verdict::Allowed { .. }),
            "buckets are per account"
        );
    }

    #[test]
    fn last_used_keeps_the_newest_and_counts_each_day() {
        let l = LastUsed::default();
        let k = ApiKeyId::from_stored("k");
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let day = 24 * 3600 * 1000;
        l.note(&k, Timestamp(5), ip("10.0.0.1"));
        l.note(&k, Timestamp(3), ip("10.0.0.2"));
        l.note(&k, Timestamp(9), ip("10.0.0.3"));
        l.note(&k, Timestamp(day + 1), ip("2001:db8::1"));
        let taken = l.take();
        assert_eq!(
            taken,
            vec![KeyUse {
                key_id: k,
                last_used_at: Timestamp(day + 1),
                last_used_ip: Some("2001:db8::1".into()),
                days: vec![(0, 3), (1, 1)],
            }]
        );
        assert!(l.take().is_empty(), "taken once");
    }
}
