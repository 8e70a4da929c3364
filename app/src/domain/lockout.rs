//! The brute-force rules: per-user lockout after consecutive failures, and a per-IP ceiling
//! on failed sign-ins (against password spraying across many accounts).
use std::time::Duration;

use super::clock::Timestamp;

/// "5 consecutive failures lock the user for 10 minutes."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_for: Duration::from_secs(10 * 60),
        }
    }
}

/// What the store answers when a sign-in asks for a guess.
///
/// A guess is reserved (counted as a failure) *before* the password is verified, so
/// concurrent attempts can never get more than `max_failures` guesses in; a correct
/// password then gives the reservation back by resetting the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuessReservation {
    /// This is guess number `attempt` (1-based) in the current series.
    Granted { attempt: u32 },
    /// The user is locked (or the last allowed guess is in flight): no guess.
    Refused,
}

impl LockoutPolicy {
    /// When the lock starts if this reservation is the last allowed guess. The store writes it
    /// together with the reservation, so a crash mid-verification still leaves a timed lock.
    pub fn lock_until(&self, now: Timestamp) -> Timestamp {
        now.plus(self.lock_for)
    }

    /// True when a failed guess number `attempt` is the one that locks the user, which is
    /// when the unlock email goes out.
    pub fn failure_locks(&self, attempt: u32) -> bool {
        attempt >= self.max_failures
    }
}

/// "A client IP with more than 100 failed sign-ins in 15 minutes gets 429."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpThrottlePolicy {
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for IpThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl IpThrottlePolicy {
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        now.minus(self.window)
    }

    /// `Some(retry_after)` once the IP has more than `max_failures` failures in the window.
    /// `oldest_in_window` is the oldest counted failure: the throttle lifts when it ages out.
    pub fn verdict(
        &self,
        failures_in_window: u64,
        oldest_in_window: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<Duration> {
        if failures_in_window <= u64::from(self.max_failures) {
            return None;
        }
        let lifts_at = oldest_in_window.unwrap_or(now).plus(self.window);
        Some(now.until(lifts_at).max(Duration::from_secs(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifth_failure_locks_for_ten_minutes() {
        let p = LockoutPolicy::default();
        assert!(!p.failure_locks(4));
        assert!(p.failure_locks(5));
        let now = Timestamp(1_000_000);
        assert_eq!(p.lock_until(now), Timestamp(1_000_000 + 600_000));
    }

    #[test]
    fn ip_throttle_starts_after_one_hundred() {
        let p = IpThrottlePolicy::default();
        let now = Timestamp(10_000_000);
        assert_eq!(p.verdict(100, Some(now), now), None);
        let oldest = now.minus(Duration::from_secs(5 * 60));
        assert_eq!(
            p.verdict(101, Some(oldest), now),
            Some(Duration::from_secs(10 * 60))
        );
    }

    #[test]
    fn retry_after_is_at_least_a_second() {
        let p = IpThrottlePolicy::default();
        let now = Timestamp(10_000_000);
        let oldest = now.minus(p.window);
        assert_eq!(
            p.verdict(500, Some(oldest), now),
            Some(Duration::from_secs(1))
        );
    }
}
