//! Injectable time, so that tolerance checks are testable and never read the clock twice.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time as a duration since the Unix epoch.
///
/// Inject a [`FixedClock`] in tests; the default is [`SystemClock`].
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time since 1970-01-01T00:00:00Z.
    fn now(&self) -> Duration;
}

/// The system's wall clock. A clock set before 1970 reads as the epoch, which makes every
/// signed timestamp "too new" rather than panicking.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock stopped at one instant.
///
/// ```
/// use countersign_core::{Clock, FixedClock};
/// assert_eq!(FixedClock::from_unix_secs(1_700_000_000).now().as_secs(), 1_700_000_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(Duration);

impl FixedClock {
    /// A clock at `since_epoch`.
    #[must_use]
    pub const fn new(since_epoch: Duration) -> Self {
        FixedClock(since_epoch)
    }

    /// A clock at whole Unix seconds.
    #[must_use]
    pub const fn from_unix_secs(secs: u64) -> Self {
        FixedClock(Duration::from_secs(secs))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Duration {
        self.0
    }
}
