//! Re-authentication ("sudo mode"): sensitive changes — API keys, domains, single sign-on,
//! removing members — need the person to have proved who they are recently (a sign-in or a
//! re-authentication), not merely to hold a session that may be days old.
use std::time::Duration;

use super::clock::Timestamp;
use super::refusal::Refusal;

/// How recent the proof must be, by default (DESIGN §5b: 10 minutes).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The refusal's stable code; the REST API answers it as 403 `permission_error`.
pub const CODE: &str = "reauthentication_required";

/// Whether a proof at `authenticated_at` still counts at `now`.
pub fn is_recent(authenticated_at: Timestamp, now: Timestamp, window: Duration) -> bool {
    let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    now.millis().saturating_sub(authenticated_at.millis()) <= window
}

/// The one refusal of a sensitive change made with a session that has not proved itself
/// recently.
pub fn required() -> Refusal {
    Refusal::not_allowed(
        CODE,
        "For your security, confirm it's you (sign in again) before making this change.",
    )
}

/// Whether `refusal` is [`required`]: the web answers it with the re-authentication page.
pub fn is_required(refusal: &Refusal) -> bool {
    matches!(refusal, Refusal::NotAllowed { code, .. } if *code == CODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_counts_for_the_window_and_not_a_moment_longer() {
        let at = Timestamp(1_000_000);
        let w = DEFAULT_WINDOW;
        assert!(is_recent(at, at, w));
        assert!(is_recent(at, Timestamp(at.millis() + 600_000), w));
        assert!(!is_recent(at, Timestamp(at.millis() + 600_001), w));
        assert!(is_required(&required()));
        assert!(!is_required(&Refusal::admins_only()));
    }
}
