//! [`PublishStats`]: counters and a confirm-latency histogram, readable at any time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::FailureKind;

/// Upper bounds (seconds) of the confirm-latency histogram buckets; a last `+Inf` bucket
/// follows.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

const KINDS: usize = FailureKind::ALL.len();
const BUCKETS: usize = LATENCY_BUCKETS.len() + 1;

#[derive(Debug, Default)]
struct Inner {
    published: AtomicU64,
    broker_duplicates: AtomicU64,
    duplicates: AtomicU64,
    in_flight: AtomicU64,
    missing_event_id: AtomicU64,
    store_errors: AtomicU64,
    failures: [AtomicU64; KINDS],
    confirmed_late: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS],
    latency_sum_micros: AtomicU64,
}

/// Shared counters of one [`PublishService`](crate::PublishService) (clones share them).
#[derive(Debug, Clone, Default)]
pub struct PublishStats {
    inner: Arc<Inner>,
}

/// A copy of the counters.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct PublishStatsSnapshot {
    /// Messages the broker confirmed (late confirmations included).
    pub published: u64,
    /// Of those, confirmations the broker marked as duplicates (JetStream).
    pub broker_duplicates: u64,
    /// Deliveries answered `200` from a done record: nothing published.
    pub duplicates: u64,
    /// Deliveries answered `409`: another delivery of the event was being published.
    pub in_flight: u64,
    /// Deliveries answered `400`: no event id.
    pub missing_event_id: u64,
    /// Dedup store errors (claim, done or release).
    pub store_errors: u64,
    /// Failed publishes by reason, in [`FailureKind::ALL`] order.
    pub failures: [(FailureKind, u64); KINDS],
    /// Confirmations that arrived after the sender had been answered `503` (recorded done,
    /// so the sender's retry is answered as a duplicate).
    pub confirmed_late: u64,
    /// Confirm latency: cumulative counts per [`LATENCY_BUCKETS`] bound, then `+Inf`.
    pub latency_buckets: [u64; BUCKETS],
    /// Sum of confirm latencies, seconds.
    pub latency_sum_seconds: f64,
}

impl PublishStatsSnapshot {
    /// Failures of one kind.
    #[must_use]
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        self.failures
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Published,
    BrokerDuplicate,
    Duplicate,
    InFlight,
    MissingEventId,
    StoreError,
    ConfirmedLate,
}

impl PublishStats {
    pub(crate) fn add(&self, counter: Counter) {
        let i = &self.inner;
        let c = match counter {
            Counter::Published => &i.published,
            Counter::BrokerDuplicate => &i.broker_duplicates,
            Counter::Duplicate => &i.duplicates,
            Counter::InFlight => &i.in_flight,
            Counter::MissingEventId => &i.missing_event_id,
            Counter::StoreError => &i.store_errors,
            Counter::ConfirmedLate => &i.confirmed_late,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, kind: FailureKind) {
        let index = FailureKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0);
        self.inner.failures[index].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn observe_confirm(&self, latency: Duration) {
        let secs = latency.as_secs_f64();
        let index = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.inner.latency_buckets[index].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.inner
            .latency_sum_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// Reads every counter (each one atomically; the set is not one atomic snapshot).
    #[must_use]
    pub fn snapshot(&self) -> PublishStatsSnapshot {
        let i = &self.inner;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut failures = [(FailureKind::Unreachable, 0); KINDS];
        for (slot, (kind, counter)) in failures
            .iter_mut()
            .zip(FailureKind::ALL.iter().zip(&i.failures))
        {
            *slot = (*kind, load(counter));
        }
        let mut latency_buckets = [0; BUCKETS];
        let mut running = 0;
        for (slot, counter) in latency_buckets.iter_mut().zip(&i.latency_buckets) {
            running += load(counter);
            *slot = running;
        }
        PublishStatsSnapshot {
            published: load(&i.published),
            broker_duplicates: load(&i.broker_duplicates),
            duplicates: load(&i.duplicates),
            in_flight: load(&i.in_flight),
            missing_event_id: load(&i.missing_event_id),
            store_errors: load(&i.store_errors),
            failures,
            confirmed_late: load(&i.confirmed_late),
            latency_buckets,
            latency_sum_seconds: Duration::from_micros(load(&i.latency_sum_micros)).as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let s = PublishStats::default();
        s.observe_confirm(Duration::from_micros(500));
        s.observe_confirm(Duration::from_millis(3));
        s.observe_confirm(Duration::from_secs(60));
        s.failed(FailureKind::Rejected);
        let snap = s.snapshot();
        assert_eq!(snap.latency_buckets[0], 1);
        assert_eq!(snap.latency_buckets[2], 2);
        assert_eq!(snap.latency_buckets[BUCKETS - 2], 2);
        assert_eq!(snap.latency_buckets[BUCKETS - 1], 3);
        assert_eq!(snap.failures_of(FailureKind::Rejected), 1);
        assert_eq!(snap.failures_of(FailureKind::TimedOut), 0);
    }
}
