//! Idempotent requests (Stripe's convention): a `POST` with an `Idempotency-Key` header is done
//! once per account and key; a retry with the same request within 24 hours gets the first
//! answer again, and the same key with another request is refused.
use std::time::Duration;

/// How long an answer is kept for retries.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// A first request still unanswered after this long was abandoned (its instance stopped
/// mid-way; requests are cut at 60 s): the key may be claimed again.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(5 * 60);
/// The longest key taken.
pub const MAX_KEY_CHARS: usize = 255;

/// Whether `key` can be an idempotency key: 1 to 255 visible ASCII characters (a UUID, say).
pub fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A first answer, kept for retries: its status, its body sealed with the server's key (it
/// may carry a new API key), and its `Location`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub body_sealed: String,
    pub location: Option<String>,
}

impl std::fmt::Debug for KeptAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptAnswer")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// What claiming a key for a request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody used it (or its 24 hours are over): this request goes ahead.
    New,
    /// The same request was answered: answer it again.
    Replay(KeptAnswer),
    /// The key was used for another request.
    Mismatch,
    /// The same key's first request is still being answered.
    InProgress,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(valid_key("3f1c6b1e-7d0c-4a7b-9a51-0d2c4c6e8f10"));
        assert!(!valid_key(""));
        assert!(!valid_key("with space"));
        assert!(!valid_key("ümlaut"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
