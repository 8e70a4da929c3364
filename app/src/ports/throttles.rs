//! Throttles: the fixed-window rate counters (sign-in failures per client, flood gates) and
//! the per-recipient mail slots.
use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Timestamp;
use crate::domain::lockout::Hit;

/// Rate counters and mail slots.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts one hit on the fixed-window counter `key` unless the current window already has
    /// `limit` hits; a window older than `window` starts afresh. Atomic under concurrency.
    async fn count_hit(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
        limit: u32,
    ) -> StoreResult<Hit>;
    /// Gives back a hit counted in the window that started at `window_start`.
    async fn refund_hit(&self, key: &str, window_start: Timestamp) -> StoreResult<()>;

    /// Takes the right to send a mail under `key` if none was sent in the last `interval`.
    async fn take_mail_slot(
        &self,
        key: &str,
        now: Timestamp,
        interval: Duration,
    ) -> StoreResult<bool>;
}
