//! [`Worker`]: lease due events when a slot is free, run the handler, settle the lease.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::backoff::Backoff;
use super::delivery::{Delivery, FailureKind, Handler};
use crate::error::{InboxConfigError, check_duration};
use crate::event::{LastError, State, add};
use crate::store::{Fenced, Inbox, LeaseRequest, Leased};

/// Default delivery concurrency: 16.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default attempts before an event is dead: 12.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Default lease: 60 s (a handler is cut off shortly before it ends).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// Default poll interval, for events made due by another process: 500 ms.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Default time running handlers get to finish at shutdown: 30 s.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);
/// Default retention of done events (answering duplicates): 72 h.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);

/// How often the worker purges done events older than the retention.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Counters of a [`Worker`], readable at any time (cheap clones share them).
#[derive(Debug, Clone, Default)]
pub struct WorkerStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    attempts: AtomicU64,
    done: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    stale: AtomicU64,
    store_errors: AtomicU64,
    in_flight: AtomicU64,
}

/// A snapshot of [`WorkerStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WorkerSnapshot {
    /// Attempts started.
    pub attempts: u64,
    /// Attempts that marked their event done.
    pub done: u64,
    /// Attempts that scheduled a retry.
    pub retried: u64,
    /// Attempts that dead-lettered their event.
    pub dead: u64,
    /// Attempts that finished after losing their lease (nothing written).
    pub stale: u64,
    /// Inbox operations that failed.
    pub store_errors: u64,
    /// Handlers running now.
    pub in_flight: u64,
}

impl WorkerStats {
    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> WorkerSnapshot {
        let c = &self.0;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerSnapshot {
            attempts: get(&c.attempts),
            done: get(&c.done),
            retried: get(&c.retried),
            dead: get(&c.dead),
            stale: get(&c.stale),
            store_errors: get(&c.store_errors),
            in_flight: get(&c.in_flight),
        }
    }

    fn add(&self, pick: impl Fn(&Counters) -> &AtomicU64) {
        pick(&self.0).fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a [`Worker`]; every setting is checked by [`build`](Self::build).
#[derive(Debug)]
pub struct WorkerBuilder<H> {
    inbox: Arc<dyn Inbox>,
    handler: H,
    concurrency: usize,
    max_attempts: u32,
    backoff: Backoff,
    lease: Duration,
    poll_interval: Duration,
    grace_period: Duration,
    retention: Duration,
    route: Option<String>,
}

impl<H: Handler> WorkerBuilder<H> {
    /// Most handlers running at once (default [`DEFAULT_CONCURRENCY`]). The worker leases
    /// only as many events as it has free slots.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
    /// Attempts before an event is dead (default [`DEFAULT_MAX_ATTEMPTS`]).
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }
    /// Retry delays (default [`Backoff::default`]: 1 s doubling up to 1 h, full jitter).
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
    /// The lease of each attempt (default [`DEFAULT_LEASE`]). A handler still running
    /// shortly before its lease ends is cut off and the attempt counts as a timeout.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
    /// How often to look for events made due elsewhere (default [`DEFAULT_POLL_INTERVAL`]).
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }
    /// How long running handlers get at shutdown (default [`DEFAULT_GRACE_PERIOD`]).
    #[must_use]
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }
    /// How long done events are kept to answer duplicates (default [`DEFAULT_RETENTION`]).
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }
    /// Only deliver events of `route` (default: every route).
    #[must_use]
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`InboxConfigError`] for a zero concurrency or attempt count, a lease under 100 ms
    /// or over a day, a poll interval outside 1 ms..=60 s.
    pub fn build(self) -> Result<Worker, InboxConfigError> {
        if self.concurrency == 0 {
            return Err(InboxConfigError::Zero {
                setting: "concurrency",
            });
        }
        if self.max_attempts == 0 {
            return Err(InboxConfigError::Zero {
                setting: "max_attempts",
            });
        }
        check_duration(
            "lease",
            self.lease,
            Duration::from_millis(100),
            Duration::from_secs(86_400),
        )?;
        check_duration(
            "poll_interval",
            self.poll_interval,
            Duration::from_millis(1),
            Duration::from_secs(60),
        )?;
        check_duration(
            "retention",
            self.retention,
            Duration::from_secs(1),
            Duration::from_secs(365 * 86_400),
        )?;
        Ok(Worker {
            shared: Arc::new(Shared {
                inbox: self.inbox,
                handler: Box::new(self.handler),
                max_attempts: self.max_attempts,
                backoff: self.backoff,
                lease: self.lease,
                stats: WorkerStats::default(),
            }),
            concurrency: self.concurrency,
            poll_interval: self.poll_interval,
            grace_period: self.grace_period,
            retention: self.retention,
            route: self.route,
        })
    }
}

struct Shared {
    inbox: Arc<dyn Inbox>,
    handler: Box<dyn Handler>,
    max_attempts: u32,
    backoff: Backoff,
    lease: Duration,
    stats: WorkerStats,
}

/// Delivers the events of an [`Inbox`] to a [`Handler`].
///
/// - leases due events only when a delivery slot is free (in flight never exceeds the
///   concurrency; nothing is leased ahead);
/// - notices new, retried and requeued events at once in this process, and within the poll
///   interval when another process changed the inbox;
/// - per attempt a `tracing` span `inbox.attempt` (route, id, attempt); the handler runs
///   until shortly before the lease ends, then the attempt is a timeout;
/// - handler `Ok` → done; [`Failure`](crate::Failure) retry → pending again after
///   [`Backoff::delay`] (dead after `max_attempts`); dead → dead at once; a panic → retry;
/// - a lease lost meanwhile (expired, requeued) leaves the event alone ([`Fenced::Stale`],
///   counted in [`WorkerSnapshot::stale`]);
/// - done events older than the retention are purged every minute;
/// - shutdown: stop leasing, let running handlers finish within the grace period, abort the
///   rest (their leases expire and the events are delivered again).
///
/// Delivery is **at least once**, and never concurrently twice while handlers finish within
/// their lease. No ordering across events.
///
/// ```
/// use countersign_inbox::{Delivery, EventKey, Failure, Inbox, MemoryInbox, NewEvent, Worker};
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let inbox = Arc::new(MemoryInbox::new());
/// let event = NewEvent::new(EventKey::new("stripe", "evt_1"), "stripe", Default::default(), r#"{"amount":5}"#.into());
/// let _ = inbox.accept(&event).await?;
///
/// #[derive(serde::Deserialize)]
/// struct Charge { amount: u64 }
/// let worker = Worker::builder(inbox.clone(), |d: Delivery| async move {
///     let charge: Charge = d.json()?;
///     if charge.amount == 0 { return Err(Failure::dead("empty charge")); }
///     Ok(())
/// })
/// .build()?;
/// let stats = worker.stats();
/// let stop = async { while stats.snapshot().done == 0 { tokio::task::yield_now().await } };
/// worker.run(stop).await;
/// assert_eq!(inbox.stats().await?.done, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Worker {
    shared: Arc<Shared>,
    concurrency: usize,
    poll_interval: Duration,
    grace_period: Duration,
    retention: Duration,
    route: Option<String>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("inbox", &self.shared.inbox)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.shared.max_attempts)
            .field("backoff", &self.shared.backoff)
            .field("lease", &self.shared.lease)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// How a [`Worker::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WorkerReport {
    /// Handlers still running when the grace period ended (aborted; their leases expire).
    pub aborted: usize,
}

impl Worker {
    /// A worker delivering the events of `inbox` to `handler`.
    pub fn builder<H: Handler>(inbox: Arc<dyn Inbox>, handler: H) -> WorkerBuilder<H> {
        WorkerBuilder {
            inbox,
            handler,
            concurrency: DEFAULT_CONCURRENCY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::default(),
            lease: DEFAULT_LEASE,
            poll_interval: DEFAULT_POLL_INTERVAL,
            grace_period: DEFAULT_GRACE_PERIOD,
            retention: DEFAULT_RETENTION,
            route: None,
        }
    }

    /// The worker's counters.
    #[must_use]
    pub fn stats(&self) -> WorkerStats {
        self.shared.stats.clone()
    }

    /// Delivers until `shutdown` resolves, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> WorkerReport {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = JoinSet::new();
        let inbox = Arc::clone(&self.shared.inbox);
        let idle = tokio::sync::Notify::new();
        let wakeup = inbox.wakeup().unwrap_or(&idle);
        let mut request = LeaseRequest::new(0, self.shared.lease);
        request.route.clone_from(&self.route);
        let mut last_purge: Option<Instant> = None;
        tokio::pin!(shutdown);

        loop {
            while tasks.try_join_next().is_some() {}
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                last_purge = Some(Instant::now());
                self.purge_done().await;
            }
            let first = tokio::select! {
                biased;
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let mut permits = vec![first];
            while let Ok(p) = Arc::clone(&slots).try_acquire_owned() {
                permits.push(p);
            }
            // Registered before leasing: an accept between the lease and the wait still wakes us.
            let notified = wakeup.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            request.max = permits.len();
            let asked = permits.len();
            let lease_started = Instant::now();
            let leased = match inbox.lease(&request).await {
                Ok(leased) => leased,
                Err(e) => {
                    self.shared.stats.add(|c| &c.store_errors);
                    tracing::warn!(target: "countersign::inbox", error = %crate::ErrorChain(&e), "lease failed");
                    Vec::new()
                }
            };
            let got = leased.len();
            tracing::trace!(target: "countersign::inbox", asked, got, took = ?lease_started.elapsed(), "leased");
            for leased in leased {
                let Some(permit) = permits.pop() else { break };
                let shared = Arc::clone(&self.shared);
                tasks.spawn(async move {
                    attempt(&shared, leased).await;
                    drop(permit);
                });
            }
            drop(permits);
            if got == asked {
                continue;
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = notified => {}
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }

        // Shutdown: nothing new is leased; running handlers get the grace period.
        let end = tokio::time::Instant::now() + self.grace_period;
        loop {
            tokio::select! {
                joined = tasks.join_next() => if joined.is_none() { break },
                () = tokio::time::sleep_until(end) => break,
            }
        }
        let aborted = tasks.len();
        if aborted > 0 {
            tracing::warn!(target: "countersign::inbox", aborted, "grace period over: aborting running handlers; their events are delivered again when the leases expire");
        }
        tasks.shutdown().await;
        WorkerReport { aborted }
    }

    async fn purge_done(&self) {
        match self.shared.inbox.purge(State::Done, self.retention).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(target: "countersign::inbox", purged = n, "purged done events past the retention");
            }
            Err(e) => {
                self.shared.stats.add(|c| &c.store_errors);
                tracing::warn!(target: "countersign::inbox", error = %crate::ErrorChain(&e), "purge failed");
            }
        }
    }
}

/// Cut a handler off this long before its lease ends (at most 1 s, a tenth of short leases).
fn margin(lease: Duration) -> Duration {
    (lease / 10).min(Duration::from_secs(1))
}

async fn attempt(shared: &Shared, leased: Leased) {
    let Leased { event, lease } = leased;
    let attempt = event.attempts();
    let span = tracing::info_span!(
        target: "countersign::inbox",
        "inbox.attempt",
        route = %event.route(),
        id = %event.id(),
        attempt,
    );
    async move {
        let stats = &shared.stats;
        stats.add(|c| &c.attempts);
        stats.0.in_flight.fetch_add(1, Ordering::Relaxed);
        let budget = lease
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(margin(shared.lease));
        let delivery = Delivery::new(event, lease.clone());
        let settled = std::sync::Arc::clone(delivery.settled());
        let run = std::panic::AssertUnwindSafe(shared.handler.call(delivery)).catch_unwind();
        let outcome = match tokio::time::timeout(budget, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(_panic)) => Err(crate::Failure::retry("handler panicked")),
            Err(_) => Err(crate::Failure::retry("handler timed out before its lease ended")),
        };
        stats.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        let (what, written) = match outcome {
            Ok(()) => {
                // A settling handler (PostgreSQL transactional inbox) committed the done
                // mark with its own writes: record that outcome, do not complete again.
                let by_handler = settled
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                match by_handler {
                    Some(outcome) => ("done", outcome),
                    None => ("done", shared.inbox.complete(&lease).await),
                }
            }
            Err(failure) => {
                let (kind, error) = failure.into_parts();
                match kind {
                    FailureKind::Retry { retry_after } if attempt < shared.max_attempts => {
                        let delay = shared.backoff.delay(attempt, retry_after);
                        let at = add(SystemTime::now(), delay);
                        tracing::info!(target: "countersign::inbox", error = %error, retry_in = ?delay, "attempt failed, retrying later");
                        ("retried", shared.inbox.retry(&lease, at, &error).await)
                    }
                    FailureKind::Retry { .. } => {
                        let error = LastError::new(
                            error.status(),
                            format!("{} (after {attempt} attempts)", error.reason()),
                        );
                        tracing::warn!(target: "countersign::inbox", error = %error, "attempts exhausted: dead letter");
                        ("dead", shared.inbox.dead(&lease, &error).await)
                    }
                    _ => {
                        tracing::warn!(target: "countersign::inbox", error = %error, "refused: dead letter");
                        ("dead", shared.inbox.dead(&lease, &error).await)
                    }
                }
            }
        };
        match written {
            Ok(Fenced::Applied) => match what {
                "done" => stats.add(|c| &c.done),
                "retried" => stats.add(|c| &c.retried),
                _ => stats.add(|c| &c.dead),
            },
            Ok(_) => {
                stats.add(|c| &c.stale);
                tracing::warn!(target: "countersign::inbox", outcome = what, "lease lost before the attempt finished: nothing written, the event is delivered again");
            }
            Err(e) => {
                stats.add(|c| &c.store_errors);
                tracing::error!(target: "countersign::inbox", outcome = what, error = %crate::ErrorChain(&e), "cannot record the attempt; the event is delivered again when its lease expires");
            }
        }
    }
    .instrument(span)
    .await;
}
