//! [`MemoryInbox`]: the contract in a `Mutex<HashMap>`, for tests and examples.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use super::{
    Accepted, Fenced, Inbox, InboxFuture, InboxStats, Lease, LeaseRequest, Leased, ListQuery,
    Requeue,
};
use crate::event::{Event, EventKey, LastError, NewEvent, State, add};

/// An inbox in this process's memory: **not durable** — everything is lost when the process
/// exits. For tests, examples and development; use `SqliteInbox` to acknowledge senders.
///
/// Leasing scans every event (O(n)); fine for thousands of events, not for a backlog of
/// millions.
///
/// ```
/// use countersign_inbox::{Accepted, EventKey, Inbox, LeaseRequest, MemoryInbox, NewEvent};
/// use std::time::Duration;
///
/// # futures_util::FutureExt::now_or_never(async {
/// let inbox = MemoryInbox::new();
/// let event = NewEvent::new(EventKey::new("stripe", "evt_1"), "stripe", Default::default(), "{}".into());
/// assert_eq!(inbox.accept(&event).await?, Accepted::Stored);
/// assert_eq!(inbox.accept(&event).await?, Accepted::Duplicate);
/// let leased = inbox.lease(&LeaseRequest::new(10, Duration::from_secs(30))).await?;
/// assert_eq!(leased.len(), 1);
/// # Ok::<(), countersign_inbox::InboxError>(())
/// # }).unwrap()?;
/// # Ok::<(), countersign_inbox::InboxError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryInbox {
    inner: Mutex<Inner>,
    wakeup: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    events: HashMap<EventKey, Record>,
    tokens: u64,
}

#[derive(Debug)]
struct Record {
    event: Event,
    token: u64,
    updated_at: SystemTime,
}

impl Record {
    fn holds(&self, lease: &Lease, now: SystemTime) -> bool {
        self.event.state == State::InFlight
            && self.token == lease.token()
            && self.event.next_attempt_at > now
    }
    fn due(&self, now: SystemTime) -> bool {
        matches!(self.event.state, State::Pending | State::InFlight)
            && self.event.next_attempt_at <= now
    }
}

impl MemoryInbox {
    /// An empty inbox.
    #[must_use]
    pub fn new() -> Self {
        MemoryInbox::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a record half-written: every
        // operation computes first and writes whole records.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn settle(
        &self,
        lease: &Lease,
        f: impl FnOnce(&mut Record, SystemTime),
    ) -> Result<Fenced, crate::InboxError> {
        let now = SystemTime::now();
        let mut inner = self.lock();
        match inner.events.get_mut(lease.key()) {
            Some(r) if r.holds(lease, now) => {
                f(r, now);
                r.updated_at = now;
                Ok(Fenced::Applied)
            }
            _ => Ok(Fenced::Stale),
        }
    }
}

impl Inbox for MemoryInbox {
    fn accept<'a>(&'a self, event: &'a NewEvent) -> InboxFuture<'a, Accepted> {
        let now = SystemTime::now();
        let accepted = {
            let mut inner = self.lock();
            if inner.events.contains_key(event.key()) {
                Accepted::Duplicate
            } else {
                inner.events.insert(
                    event.key().clone(),
                    Record {
                        event: Event::from_new(event, now),
                        token: 0,
                        updated_at: now,
                    },
                );
                Accepted::Stored
            }
        };
        if accepted == Accepted::Stored {
            self.wakeup.notify_waiters();
        }
        Box::pin(async move { Ok(accepted) })
    }

    fn lease<'a>(&'a self, request: &'a LeaseRequest) -> InboxFuture<'a, Vec<Leased>> {
        let now = SystemTime::now();
        let deadline = add(now, request.lease);
        let mut inner = self.lock();
        let mut due: Vec<(SystemTime, EventKey)> = inner
            .events
            .iter()
            .filter(|(k, r)| {
                r.due(now)
                    && request
                        .route
                        .as_deref()
                        .is_none_or(|route| k.route() == route)
            })
            .map(|(k, r)| (r.event.next_attempt_at, k.clone()))
            .collect();
        due.sort();
        due.truncate(request.max);
        let mut out = Vec::with_capacity(due.len());
        for (_, key) in due {
            inner.tokens += 1;
            let token = inner.tokens;
            if let Some(r) = inner.events.get_mut(&key) {
                r.event.state = State::InFlight;
                r.event.attempts = r.event.attempts.saturating_add(1);
                r.event.next_attempt_at = deadline;
                r.token = token;
                r.updated_at = now;
                out.push(Leased {
                    event: r.event.clone(),
                    lease: Lease::new(key, token, deadline),
                });
            }
        }
        Box::pin(async move { Ok(out) })
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> InboxFuture<'a, Fenced> {
        let r = self.settle(lease, |r, now| {
            r.event.state = State::Done;
            r.event.next_attempt_at = now;
        });
        Box::pin(async move { r })
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        at: SystemTime,
        error: &'a LastError,
    ) -> InboxFuture<'a, Fenced> {
        let r = self.settle(lease, |r, _| {
            r.event.state = State::Pending;
            r.event.next_attempt_at = at;
            r.event.last_error = Some(error.clone());
        });
        if matches!(r, Ok(Fenced::Applied)) {
            self.wakeup.notify_waiters();
        }
        Box::pin(async move { r })
    }

    fn dead<'a>(&'a self, lease: &'a Lease, error: &'a LastError) -> InboxFuture<'a, Fenced> {
        let r = self.settle(lease, |r, now| {
            r.event.state = State::Dead;
            r.event.next_attempt_at = now;
            r.event.last_error = Some(error.clone());
        });
        Box::pin(async move { r })
    }

    fn requeue<'a>(&'a self, which: &'a Requeue) -> InboxFuture<'a, u64> {
        let now = SystemTime::now();
        let mut n = 0u64;
        {
            let mut inner = self.lock();
            let mut reset = |r: &mut Record| {
                let live = r.event.state == State::InFlight && r.event.next_attempt_at > now;
                if !live {
                    r.event.state = State::Pending;
                    r.event.attempts = 0;
                    r.event.next_attempt_at = now;
                    r.token = 0;
                    r.updated_at = now;
                    n += 1;
                }
            };
            match which {
                Requeue::Events(keys) => {
                    for k in keys {
                        if let Some(r) = inner.events.get_mut(k) {
                            reset(r);
                        }
                    }
                }
                Requeue::State(state) => {
                    for r in inner
                        .events
                        .values_mut()
                        .filter(|r| r.event.state == *state)
                    {
                        reset(r);
                    }
                }
            }
        }
        if n > 0 {
            self.wakeup.notify_waiters();
        }
        Box::pin(async move { Ok(n) })
    }

    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        let mut s = InboxStats::default();
        for r in self.lock().events.values() {
            match r.event.state {
                State::Pending => {
                    s.pending += 1;
                    let t = r.event.received_at;
                    s.oldest_pending = Some(s.oldest_pending.map_or(t, |o| o.min(t)));
                }
                State::InFlight => s.in_flight += 1,
                State::Done => s.done += 1,
                State::Dead => s.dead += 1,
            }
        }
        Box::pin(async move { Ok(s) })
    }

    fn list<'a>(&'a self, query: &'a ListQuery) -> InboxFuture<'a, Vec<Event>> {
        let inner = self.lock();
        let mut events: Vec<Event> = inner
            .events
            .values()
            .filter(|r| query.state.is_none_or(|s| r.event.state == s))
            .filter(|r| query.route.as_deref().is_none_or(|x| r.event.route() == x))
            .filter(|r| query.id.as_deref().is_none_or(|x| r.event.id() == x))
            .map(|r| r.event.clone())
            .collect();
        drop(inner);
        events.sort_by(|a, b| (a.received_at, &a.key).cmp(&(b.received_at, &b.key)));
        events.truncate(query.effective_limit());
        Box::pin(async move { Ok(events) })
    }

    fn show<'a>(&'a self, key: &'a EventKey) -> InboxFuture<'a, Option<Event>> {
        let e = self.lock().events.get(key).map(|r| r.event.clone());
        Box::pin(async move { Ok(e) })
    }

    fn purge(&self, state: State, older_than: Duration) -> InboxFuture<'_, u64> {
        let now = SystemTime::now();
        let mut inner = self.lock();
        let before = inner.events.len();
        inner.events.retain(|_, r| {
            !(r.event.state == state
                && now.duration_since(r.updated_at).unwrap_or_default() >= older_than)
        });
        let n = (before - inner.events.len()) as u64;
        Box::pin(async move { Ok(n) })
    }

    fn wakeup(&self) -> Option<&Notify> {
        Some(&self.wakeup)
    }
}
