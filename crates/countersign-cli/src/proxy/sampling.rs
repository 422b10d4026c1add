//! Rejection logs are sampled, counters are not: a flood of bogus requests must not fill the
//! disk with one line each (a review measured 870 MB in minutes).
//!
//! One token bucket for the whole process ([`BURST`] lines, then [`PER_SECOND`]) covers the
//! access-log lines of requests that did not reach an upstream (rejections, duplicates, 404,
//! 405, refused paths) and the per-request warnings of the verify and dedup layers. Lines
//! left out are counted: the next line written says how many (`suppressed=N`), and so does a
//! summary every [`REPORT_EVERY`] while lines are being left out. The metrics count every
//! request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines written at once after a quiet period.
pub(crate) const BURST: f64 = 50.0;
/// Lines per second after that.
pub(crate) const PER_SECOND: f64 = 10.0;

/// How often a summary of suppressed lines is written (when there are any).
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(2);

/// The process's rejection-log budget.
pub(crate) static REJECTIONS: Sampler = Sampler::new();

/// A token bucket with a count of what it turned away.
#[derive(Debug)]
pub(crate) struct Sampler {
    /// Tokens and when they were last topped up; `None` before the first line.
    bucket: Mutex<Option<(f64, Instant)>>,
    suppressed: AtomicU64,
}

impl Sampler {
    const fn new() -> Self {
        Sampler {
            bucket: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last admitted one)` when a line may be written now;
    /// `None` (and counted) when not.
    pub(crate) fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let admitted = match self.bucket.lock() {
            Ok(mut guard) => {
                let (tokens, since) = guard.get_or_insert((BURST, now));
                let refill = now.saturating_duration_since(*since).as_secs_f64() * PER_SECOND;
                *tokens = (*tokens + refill).min(BURST);
                *since = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
            Err(_) => true,
        };
        if admitted {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Writes a summary of the lines [`REJECTIONS`] left out, every [`REPORT_EVERY`]; runs until
/// the runtime stops.
pub(crate) async fn report_suppressed() {
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let suppressed = REJECTIONS.suppressed.swap(0, Ordering::Relaxed);
        if suppressed > 0 {
            tracing::warn!(
                target: "countersign::proxy",
                suppressed,
                "rejection log lines suppressed (rate limit: {BURST} at once, {PER_SECOND}/s); the metrics count every request"
            );
        }
    }
}

/// Samples the per-request warnings and notices of the verify layer (target `countersign`)
/// and the dedup layer (`countersign_dedup…`) with [`REJECTIONS`]. Errors always pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleLayerLogs;

impl<S: Subscriber> Layer<S> for SampleLayerLogs {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        let per_request = *meta.level() == Level::WARN || *meta.level() == Level::INFO;
        let target = meta.target();
        let layer = target == "countersign" || target.starts_with("countersign_dedup");
        !(per_request && layer) || REJECTIONS.admit().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_rate_and_a_count_of_the_rest() {
        let s = Sampler::new();
        let t0 = Instant::now();
        let admitted = (0..1000).filter(|_| s.admit_at(t0).is_some()).count();
        assert_eq!(admitted, 50);
        // A second later: ten more, and the first says how many were left out.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(s.admit_at(t1), Some(950));
        assert_eq!((0..100).filter(|_| s.admit_at(t1).is_some()).count(), 9);
        assert_eq!(s.admit_at(t1 + Duration::from_secs(3600)), Some(91));
    }
}
