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
    /// How long a client over its budget waits: until the window that started at
    /// `window_start` ends, and at least a second.
    pub fn retry_after(&self, window_start: Timestamp, now: Timestamp) -> Duration {
        now.until(window_start.plus(self.window))
            .max(Duration::from_secs(1))
    }
}

/// The key a client's failed sign-ins are counted under: its network (the IPv4 address, or
/// the /64 of an IPv6 address; see [`super::floods::client_network`]).
pub fn client_key(client_ip: &str) -> String {
    format!("sign-in-ip:{}", super::floods::client_network(client_ip))
}

/// The outcome of counting one hit against a fixed-window counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Counted, in the window that started then (give it back with `refund_hit`).
    Counted { window_start: Timestamp },
    /// The window that started then is full: nothing was counted.
    Over { window_start: Timestamp },
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
    fn retry_after_runs_to_the_end_of_the_window() {
        let p = IpThrottlePolicy::default();
        let now = Timestamp(10_000_000);
        let started = now.minus(Duration::from_secs(5 * 60));
        assert_eq!(p.retry_after(started, now), Duration::from_secs(10 * 60));
        assert_eq!(
            p.retry_after(now.minus(p.window), now),
            Duration::from_secs(1),
            "at least a second"
        );
    }

    #[test]
    fn clients_are_counted_per_ipv4_address_and_per_ipv6_64() {
        assert_eq!(client_key("203.0.113.9"), "sign-in-ip:203.0.113.9");
        assert_eq!(client_key("::ffff:203.0.113.9"), "sign-in-ip:203.0.113.9");
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1"),
            client_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(
            client_key("2001:db8:1:2::1"),
            "sign-in-ip:2001:db8:1:2::/64"
        );
        assert_ne!(client_key("2001:db8:1:2::1"), client_key("2001:db8:1:3::1"));
    }
}
