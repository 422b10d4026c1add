//! The [`Inbox`] trait (its doc is the contract) and its backends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::error::InboxError;
use crate::event::{Event, EventKey, LastError, NewEvent, State};

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// The future an [`Inbox`] method returns.
pub type InboxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InboxError>> + Send + 'a>>;

/// What [`Inbox::accept`] did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Accepted {
    /// The event is stored, durably: acknowledge it.
    Stored,
    /// An event with this key is (or was, within the retention) already stored: nothing was
    /// written; acknowledge it as a duplicate.
    Duplicate,
}

/// Whether a fenced write changed the event.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Fenced {
    /// The write happened.
    Applied,
    /// The lease is no longer this worker's (expired, re-leased, requeued, purged): unchanged.
    Stale,
}

/// A worker's hold on one leased event: the key, a fencing token and the deadline.
///
/// Tokens increase with every lease the backend grants, so a newer lease always carries a
/// larger token than the one it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    key: EventKey,
    token: u64,
    deadline: SystemTime,
}

impl Lease {
    /// A lease as a backend grants it.
    #[must_use]
    pub fn new(key: EventKey, token: u64, deadline: SystemTime) -> Self {
        Lease {
            key,
            token,
            deadline,
        }
    }
    /// The leased event.
    #[must_use]
    pub fn key(&self) -> &EventKey {
        &self.key
    }
    /// The fencing token.
    #[must_use]
    pub fn token(&self) -> u64 {
        self.token
    }
    /// When the lease ends; after it, every fenced write with it is [`Fenced::Stale`].
    #[must_use]
    pub fn deadline(&self) -> SystemTime {
        self.deadline
    }
}

/// A leased event: the event (state [`State::InFlight`], `attempts` already counting this
/// attempt) and the lease to complete, retry or dead-letter it with.
#[derive(Debug, Clone)]
pub struct Leased {
    /// The event.
    pub event: Event,
    /// The lease.
    pub lease: Lease,
}

/// What [`Inbox::lease`] asks for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LeaseRequest {
    /// At most this many events (a worker asks for its free delivery slots, no more).
    pub max: usize,
    /// For how long.
    pub lease: Duration,
    /// Only events of this route (`None`: any).
    pub route: Option<String>,
}

impl LeaseRequest {
    /// Up to `max` due events of any route, for `lease`.
    #[must_use]
    pub fn new(max: usize, lease: Duration) -> Self {
        LeaseRequest {
            max,
            lease,
            route: None,
        }
    }

    /// Only events of `route`.
    #[must_use]
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
}

/// Which events [`Inbox::requeue`] puts back to pending.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeue {
    /// These events (any state but a live lease).
    Events(Vec<EventKey>),
    /// Every event in this state (`Dead` for "retry the dead letters").
    State(State),
}

/// What [`Inbox::list`] returns.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only this state.
    pub state: Option<State>,
    /// Only this route.
    pub route: Option<String>,
    /// Only this event id.
    pub id: Option<String>,
    /// At most this many (oldest received first); `0` means [`DEFAULT_LIST_LIMIT`].
    pub limit: usize,
}

impl ListQuery {
    /// Every event (up to the default limit).
    #[must_use]
    pub fn new() -> Self {
        ListQuery::default()
    }
    /// Only `state`.
    #[must_use]
    pub fn state(mut self, state: State) -> Self {
        self.state = Some(state);
        self
    }
    /// Only `route`.
    #[must_use]
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
    /// Only event id `id`.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// At most `limit` events.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub(crate) fn effective_limit(&self) -> usize {
        if self.limit == 0 {
            DEFAULT_LIST_LIMIT
        } else {
            self.limit
        }
    }
}

/// How many events [`Inbox::list`] returns when no limit is given.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Counts per state and the age of the oldest pending event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InboxStats {
    /// Events waiting for an attempt.
    pub pending: u64,
    /// Events leased by a worker (including leases that expired and were not re-leased yet).
    pub in_flight: u64,
    /// Delivered events still kept.
    pub done: u64,
    /// Dead letters.
    pub dead: u64,
    /// Receive time of the oldest pending event.
    pub oldest_pending: Option<SystemTime>,
}

/// Where accepted events live until they are delivered. Implementations must make each
/// operation atomic and follow this contract; `tests/conformance.rs` checks it on every backend.
///
/// An event is identified by its [`EventKey`] (route + provider event id) and is in one
/// [`State`]. Its `next_attempt_at` is the due time while pending and the lease deadline
/// while in flight, so "due" is one condition: *pending or in flight with
/// `next_attempt_at ≤ now`* (one index: a sorted set in Redis, a partial index in SQL).
///
/// | operation | effect |
/// |---|---|
/// | [`accept`](Inbox::accept) | key absent → store the event *pending, due now*, durably, **before** returning [`Accepted::Stored`]; key present (any state) → nothing written, [`Accepted::Duplicate`]. The dedup record and the event are one record written in one atomic step: a duplicate never creates a second event, also when it arrives while the first is still being written (it waits for that write and gets `Duplicate`; if that write fails, both get the error). |
/// | [`lease`](Inbox::lease) | up to `max` due events → *in flight*, `attempts + 1`, a new fencing token (larger than any before), deadline `now + lease`; returns them. Never more than `max`. |
/// | [`complete`](Inbox::complete) | lease still current (same token, deadline not passed) → *done*; else [`Fenced::Stale`], unchanged |
/// | [`retry`](Inbox::retry) | lease current → *pending*, due at `at`, `last_error` set; else `Stale` |
/// | [`dead`](Inbox::dead) | lease current → *dead*, `last_error` set; else `Stale` |
/// | [`requeue`](Inbox::requeue) | the events (or every event of a state) that are not under a live lease → *pending, due now*, `attempts = 0`, lease dropped (old tokens become stale); returns how many |
/// | [`purge`](Inbox::purge) | delete events in `state` whose last change is at least `older_than` ago (`0` s: all of them); their keys are free again; returns how many. Purging `in_flight` or `pending` is refused by the CLI, not by the store. |
/// | [`stats`](Inbox::stats), [`list`](Inbox::list), [`show`](Inbox::show) | read only |
///
/// **Fencing**: a worker whose lease expired can no longer complete, retry or dead-letter
/// the event, whether or not it was leased again; the event is leased again when due.
/// Delivery is therefore *at least once*, and never concurrently twice while handlers finish
/// within their lease. No ordering across events is promised.
///
/// ## Mapping onto other engines
///
/// - **Redis**: one hash per event, a `due` sorted set (score `next_attempt_at`), a token
///   counter; `accept` = one script (`HSETNX`-style check + `ZADD`), `lease` = one script
///   (`ZRANGEBYSCORE … LIMIT`, then `HINCRBY attempts`, `INCR token`, `ZADD` deadline),
///   fenced writes = one script comparing the token and the deadline.
/// - **PostgreSQL**: `accept` = `INSERT … ON CONFLICT DO NOTHING` (group-committed),
///   `lease` = `UPDATE … WHERE key IN (SELECT … WHERE due FOR UPDATE SKIP LOCKED LIMIT n)
///   RETURNING …` with a sequence for tokens, fenced writes =
///   `UPDATE … WHERE token = $1 AND next_attempt_at > now()`.
///
/// ## Why boxed futures
///
/// As for `countersign_dedup::DedupStore`: the trait stays dyn-compatible, so services and
/// workers hold an `Arc<dyn Inbox>` and their types do not name the backend.
pub trait Inbox: Send + Sync + std::fmt::Debug {
    /// Stores `event` unless its key is present.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer; then nothing is stored (the write was
    /// atomic) and the sender must not be acknowledged.
    fn accept<'a>(&'a self, event: &'a NewEvent) -> InboxFuture<'a, Accepted>;

    /// Leases up to `request.max` due events.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn lease<'a>(&'a self, request: &'a LeaseRequest) -> InboxFuture<'a, Vec<Leased>>;

    /// Marks a leased event done.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn complete<'a>(&'a self, lease: &'a Lease) -> InboxFuture<'a, Fenced>;

    /// Puts a leased event back to pending, due at `at`.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        at: SystemTime,
        error: &'a LastError,
    ) -> InboxFuture<'a, Fenced>;

    /// Dead-letters a leased event.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn dead<'a>(&'a self, lease: &'a Lease, error: &'a LastError) -> InboxFuture<'a, Fenced>;

    /// Puts events back to pending with their attempts reset.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn requeue<'a>(&'a self, which: &'a Requeue) -> InboxFuture<'a, u64>;

    /// Counts per state.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn stats(&self) -> InboxFuture<'_, InboxStats>;

    /// Events matching `query`, oldest received first.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn list<'a>(&'a self, query: &'a ListQuery) -> InboxFuture<'a, Vec<Event>>;

    /// One event with its headers and body.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn show<'a>(&'a self, key: &'a EventKey) -> InboxFuture<'a, Option<Event>>;

    /// Deletes events of `state` unchanged for at least `older_than`.
    ///
    /// # Errors
    /// [`InboxError`] when the backend cannot answer.
    fn purge(&self, state: State, older_than: Duration) -> InboxFuture<'_, u64>;

    /// Signalled (in this process) when events may have become due: an accept, a retry, a
    /// requeue. Workers wait on it next to their poll interval; changes made by another
    /// process are seen by polling.
    fn wakeup(&self) -> Option<&Notify> {
        None
    }
}

impl<T: Inbox + ?Sized> Inbox for Arc<T> {
    fn accept<'a>(&'a self, event: &'a NewEvent) -> InboxFuture<'a, Accepted> {
        (**self).accept(event)
    }
    fn lease<'a>(&'a self, request: &'a LeaseRequest) -> InboxFuture<'a, Vec<Leased>> {
        (**self).lease(request)
    }
    fn complete<'a>(&'a self, lease: &'a Lease) -> InboxFuture<'a, Fenced> {
        (**self).complete(lease)
    }
    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        at: SystemTime,
        error: &'a LastError,
    ) -> InboxFuture<'a, Fenced> {
        (**self).retry(lease, at, error)
    }
    fn dead<'a>(&'a self, lease: &'a Lease, error: &'a LastError) -> InboxFuture<'a, Fenced> {
        (**self).dead(lease, error)
    }
    fn requeue<'a>(&'a self, which: &'a Requeue) -> InboxFuture<'a, u64> {
        (**self).requeue(which)
    }
    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        (**self).stats()
    }
    fn list<'a>(&'a self, query: &'a ListQuery) -> InboxFuture<'a, Vec<Event>> {
        (**self).list(query)
    }
    fn show<'a>(&'a self, key: &'a EventKey) -> InboxFuture<'a, Option<Event>> {
        (**self).show(key)
    }
    fn purge(&self, state: State, older_than: Duration) -> InboxFuture<'_, u64> {
        (**self).purge(state, older_than)
    }
    fn wakeup(&self) -> Option<&Notify> {
        (**self).wakeup()
    }
}
