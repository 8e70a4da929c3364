//! [`ThrottleStore`] in memory (`src/store/body/throttles.rs`).
use std::time::Duration;

use async_trait::async_trait;

use super::{Counter, MemoryStore, State};
use crate::domain::clock::Timestamp;
use crate::domain::lockout::Hit;
use crate::ports::{StoreResult, ThrottleStore};

impl State {
    /// `REFUND_HIT`: one hit back, only in the window it was counted in.
    pub(super) fn refund(&mut self, key: &str, window_start: Timestamp) {
        if let Some(counter) = self.counters.get_mut(key) {
            if counter.window_start == window_start && counter.hits > 0 {
                counter.hits -= 1;
            }
        }
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    /// `COUNT_HIT`: a new counter, or one whose window is over, starts at 1 now; a current
    /// window counts one more unless it has `limit` already.
    async fn count_hit(
        &self,
        key: &str,
        now: Timestamp,
        window: Duration,
        limit: u32,
    ) -> StoreResult<Hit> {
        let mut state = self.lock()?;
        let oldest_current = now.minus(window);
        let Some(counter) = state.counters.get_mut(key) else {
            state.counters.insert(
                key.to_owned(),
                Counter {
                    window_start: now,
                    hits: 1,
                },
            );
            return Ok(Hit::Counted { window_start: now });
        };
        if counter.window_start <= oldest_current {
            *counter = Counter {
                window_start: now,
                hits: 1,
            };
            return Ok(Hit::Counted { window_start: now });
        }
        if counter.hits < limit {
            counter.hits += 1;
            return Ok(Hit::Counted {
                window_start: counter.window_start,
            });
        }
        Ok(Hit::Over {
            window_start: counter.window_start,
        })
    }

    async fn refund_hit(&self, key: &str, window_start: Timestamp) -> StoreResult<()> {
        self.lock()?.refund(key, window_start);
        Ok(())
    }

    /// `TAKE_MAIL_SLOT`: taken when none was sent under `key` since `now - interval`.
    async fn take_mail_slot(
        &self,
        key: &str,
        now: Timestamp,
        interval: Duration,
    ) -> StoreResult<bool> {
        let mut state = self.lock()?;
        let free = state
            .mail_slots
            .get(key)
            .is_none_or(|last| *last <= now.minus(interval));
        if free {
            state.mail_slots.insert(key.to_owned(), now);
        }
        Ok(free)
    }
}
