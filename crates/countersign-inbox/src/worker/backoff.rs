//! [`Backoff`]: exponential with full jitter, honouring `Retry-After`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::error::InboxConfigError;

/// Default first retry delay (before jitter): 1 s.
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Default longest retry delay: 1 h.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(3600);

/// Retry delays: after attempt `n` the delay is uniform in `[0, min(max, initial × 2ⁿ⁻¹)]`
/// ("full jitter", so that a burst of failures does not retry in lockstep), and never less
/// than the `Retry-After` the upstream asked for (itself capped at `max`).
///
/// ```
/// use countersign_inbox::Backoff;
/// use std::time::Duration;
///
/// let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60))?;
/// assert!(b.delay(1, None) <= Duration::from_secs(1));
/// assert!(b.delay(30, None) <= Duration::from_secs(60));
/// assert!(b.delay(1, Some(Duration::from_secs(10))) >= Duration::from_secs(10));
/// # Ok::<(), countersign_inbox::InboxConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: DEFAULT_RETRY_INITIAL,
            max: DEFAULT_RETRY_MAX,
        }
    }
}

impl Backoff {
    /// Delays from `initial` doubling up to `max`.
    ///
    /// # Errors
    /// [`InboxConfigError`] when `initial` is zero or larger than `max`.
    pub fn new(initial: Duration, max: Duration) -> Result<Self, InboxConfigError> {
        if initial.is_zero() {
            return Err(InboxConfigError::Zero {
                setting: "retry_initial",
            });
        }
        if initial > max {
            return Err(InboxConfigError::BackoffOrder { initial, max });
        }
        Ok(Backoff { initial, max })
    }

    /// The first delay's upper bound.
    #[must_use]
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The cap.
    #[must_use]
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The upper bound of the delay after attempt `attempt` (from 1), before jitter.
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(40);
        self.initial
            .checked_mul(1u32 << shift.min(31))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay after attempt `attempt`, jittered; at least `retry_after` (capped at `max`).
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(random() % nanos.saturating_add(1));
        jittered.max(retry_after.unwrap_or_default().min(self.max))
    }
}

/// 64 random bits (std's per-process random hasher keys; enough for jitter).
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2)).unwrap();
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(400));
        assert_eq!(b.ceiling(100), Duration::from_secs(2));
        let delays: Vec<Duration> = (0..50).map(|_| b.delay(5, None)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(1600)));
        assert!(
            delays.iter().any(|d| *d != delays[0]),
            "jittered: {delays:?}"
        );
        assert!(b.delay(1, Some(Duration::from_secs(60))) == Duration::from_secs(2));
        assert!(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
        assert!(Backoff::new(Duration::ZERO, Duration::from_secs(1)).is_err());
    }
}
