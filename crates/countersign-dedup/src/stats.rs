//! [`DedupStats`]: counters a layer keeps, readable at any time (for a `/metrics` endpoint,
//! a health check or a test).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A handle on a layer's counters; clones share them.
///
/// ```
/// use countersign_core::Preset;
/// use countersign_dedup::{DedupLayer, MemoryStore};
///
/// let layer = DedupLayer::builder(MemoryStore::new(), Preset::Stripe).build()?;
/// let stats = layer.stats();
/// assert_eq!(stats.snapshot().claimed, 0);
/// # Ok::<(), countersign_dedup::DedupConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct DedupStats {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    claimed: AtomicU64,
    completed: AtomicU64,
    released: AtomicU64,
    duplicates: AtomicU64,
    in_flight: AtomicU64,
    missing_event_id: AtomicU64,
    store_errors: AtomicU64,
    failed_open: AtomicU64,
    lease_lost: AtomicU64,
    unreleased: AtomicU64,
    abandoned: AtomicU64,
}

/// The counters at one moment. Each is monotonic.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Claims won: the handler was called under a claim.
    pub claimed: u64,
    /// Handler successes recorded as done.
    pub completed: u64,
    /// Claims released (handler failed, errored, panicked or was cancelled).
    pub released: u64,
    /// Duplicates of done events answered 200 without calling the handler.
    pub duplicates: u64,
    /// Duplicates answered 409 while the first delivery was in flight.
    pub in_flight: u64,
    /// Requests answered 400 because no event id could be found.
    pub missing_event_id: u64,
    /// Store operations that failed (claim, complete or release).
    pub store_errors: u64,
    /// Requests passed to the handler without deduplication because the store failed and
    /// fail-open was chosen.
    pub failed_open: u64,
    /// Claims found expired when the outcome was written: a success that could not be
    /// recorded because a newer claim or record held the key, or a release with nothing
    /// left to release (the handler outlived its lease).
    pub lease_lost: u64,
    /// Claims whose release failed (the store could not answer): they expire with their
    /// lease, and a retry is answered 409 until then.
    pub unreleased: u64,
    /// Claims whose handler task was dropped by a runtime shutting down: neither completed
    /// nor released, they expire with their lease.
    pub abandoned: u64,
}

impl StatsSnapshot {
    /// Claims won whose outcome is not written yet: handlers still running, or completions
    /// and releases still on their way to the store. Each claim ends in exactly one of
    /// `completed`, `released`, `lease_lost`, `unreleased` or `abandoned`.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.claimed
            .saturating_sub(self.completed)
            .saturating_sub(self.released)
            .saturating_sub(self.lease_lost)
            .saturating_sub(self.unreleased)
            .saturating_sub(self.abandoned)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Claimed,
    Completed,
    Released,
    Duplicates,
    InFlight,
    MissingEventId,
    StoreErrors,
    FailedOpen,
    LeaseLost,
    Unreleased,
    Abandoned,
}

impl DedupStats {
    /// Reads every counter.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            claimed: get(&c.claimed),
            completed: get(&c.completed),
            released: get(&c.released),
            duplicates: get(&c.duplicates),
            in_flight: get(&c.in_flight),
            missing_event_id: get(&c.missing_event_id),
            store_errors: get(&c.store_errors),
            failed_open: get(&c.failed_open),
            lease_lost: get(&c.lease_lost),
            unreleased: get(&c.unreleased),
            abandoned: get(&c.abandoned),
        }
    }

    pub(crate) fn add(&self, counter: Counter) {
        let c = &self.counters;
        let a = match counter {
            Counter::Claimed => &c.claimed,
            Counter::Completed => &c.completed,
            Counter::Released => &c.released,
            Counter::Duplicates => &c.duplicates,
            Counter::InFlight => &c.in_flight,
            Counter::MissingEventId => &c.missing_event_id,
            Counter::StoreErrors => &c.store_errors,
            Counter::FailedOpen => &c.failed_open,
            Counter::LeaseLost => &c.lease_lost,
            Counter::Unreleased => &c.unreleased,
            Counter::Abandoned => &c.abandoned,
        };
        a.fetch_add(1, Ordering::Relaxed);
    }
}
