//! # countersign-inbox
//!
//! A durable inbox for webhooks: **acknowledge a delivery once it is stored, process it
//! later** with retries and dead letters — what serious receivers do (verify, persist,
//! answer 2xx at once, deliver from a queue), instead of holding the sender's request open
//! while the application works.
//!
//! ```text
//! provider ─▶ VerifyLayer ─▶ Accept ───────────────▶ 200 (durable) / 200 duplicate / 503
//!                              │ accept: event + dedup record, one atomic step
//!                              ▼
//!                            Inbox (SQLite file, memory; Redis, PostgreSQL later)
//!                              │ lease (fencing token + deadline) when a slot is free
//!                              ▼
//!                            Worker ─▶ handler(Delivery) ─▶ done / retry(backoff) / dead
//! ```
//!
//! ## Semantics
//!
//! - **accept**: a verified delivery is written to the inbox together with its dedup
//!   record in one atomic step (a duplicate never creates a second event), and only once
//!   the backend made it durable does the sender get `200` (configurable 2xx). A duplicate
//!   gets `200` with `countersign-duplicate: true` and nothing is stored — also a copy that
//!   arrives while the first is still being written: it waits for that write, then gets the
//!   duplicate answer (queued mode never answers 409). Store unreachable → `503` +
//!   `Retry-After`, nothing half-written.
//! - **kept per event**: event id, preset, route, received-at, the raw body bytes (never
//!   re-serialised, so signatures over it still verify downstream), every header the
//!   scheme reads plus `content-type` and an allow-list, state, attempts, next attempt time,
//!   last error (status + short reason).
//! - **deliver**: a [`Worker`] leases a due event only when a delivery slot is free, with a
//!   fencing token and a deadline; it notices new, retried and requeued events at once in
//!   its process and within the poll interval (500 ms) when another process changed the
//!   inbox. The handler's outcome: `Ok` → done; a retryable [`Failure`] (5xx, 408, 429,
//!   timeout, connection error) → retried with exponential backoff and full jitter,
//!   honouring `Retry-After`; any other 4xx → dead at once; after `max_attempts` → dead. A
//!   worker whose lease expired cannot complete, retry or dead-letter the event any more
//!   (fencing), and the event is leased again.
//! - Delivery is **at least once, and never concurrently twice while handlers finish
//!   within their lease** (the worker cuts a handler off shortly before its lease ends; the
//!   proxy refuses an upstream timeout ≥ the lease). Done events answer duplicates for the
//!   retention (72 h by default), then are purged.
//! - **Ordering**: none is promised across events.
//!
//! ## Backends
//!
//! | backend | feature | durable | for |
//! |---|---|---|---|
//! | `SqliteInbox` | `sqlite` (default) | yes: WAL, `synchronous=FULL`, group commit | one machine |
//! | [`MemoryInbox`] | — | **no** | tests, examples |
//!
//! Every backend implements [`Inbox`], whose documentation is the contract, and runs the
//! same conformance suite (`tests/conformance.rs`).
//!
//! ## SQLite
//!
//! ### Why `rusqlite` (bundled) on a thread of its own
//!
//! SQLite is a synchronous C library with one writer at a time. `rusqlite` is its thin,
//! well-kept binding (same `libsqlite3-sys` underneath as `sqlx`'s SQLite driver, which also
//! runs each connection on a worker thread); with `bundled` the SQLite version is the one
//! we tested, not whatever the system ships. A
//! dedicated thread owns the connection, so nothing blocks the async runtime and, above all,
//! **group commit** is natural: the thread takes every operation queued while the previous
//! transaction was being fsynced (and waits up to `DEFAULT_GROUP_WINDOW` for more, up to
//! `DEFAULT_GROUP_MAX` operations), runs each in a savepoint of one transaction, commits
//! once, and only then answers every caller. Concurrent accepts share one fsync; a duplicate
//! in the same batch sees the first insert and is answered `Duplicate` only after the commit
//! that made the first durable (if the commit fails, both get the error).
//!
//! `sqlx` would add its own pool and runtime glue around the same thread model without
//! giving us control of the batching, and pulls in far more code.
//!
//! ### Durability
//!
//! `journal_mode=WAL` (readers — e.g. `countersign inbox stats` from another process — never
//! block the writer), `synchronous=FULL` for every commit that contains an accept, a requeue
//! or a purge (the WAL is fsynced before any of them is answered: an acknowledged event
//! survives power loss), `busy_timeout` 5 s (another process's write waits instead of
//! failing). Leases, completions, retries and dead letters are committed atomically and seen
//! by every process at once, but not fsynced on their own (`synchronous=NORMAL`): a power
//! loss can only roll back the latest of them, which makes an event due again — a
//! redelivery, which at-least-once allows — and they are fsynced with the next durable
//! commit (the WAL is append-only). That keeps delivery off the fsync path. The schema
//! carries `PRAGMA user_version`; a newer version is refused.
//!
//! ## Example
//!
//! ```
//! use bytes::Bytes;
//! use countersign_tower::{Preset, SignRequest, Signer, VerifyLayer};
//! use countersign_inbox::{Accept, Delivery, Inbox, MemoryInbox, Worker};
//! use http::{Request, StatusCode};
//! use http_body_util::Full;
//! use std::sync::Arc;
//! use tower::{Layer, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let inbox = Arc::new(MemoryInbox::new());
//! let accept = Accept::builder(inbox.clone(), Preset::Stripe).build()?;
//! let app = VerifyLayer::new(Preset::Stripe, secret)?.layer(accept);
//!
//! let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
//! let mut req = Request::post("/webhooks/stripe").body(Full::new(Bytes::from_static(body)))?;
//! *req.headers_mut() = Signer::new(Preset::Stripe, secret)?.sign(&SignRequest::new(body))?;
//! let res = app.oneshot(req).await?;
//! // Stored (here in memory; durably with SqliteInbox) and answered — nothing ran yet.
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! let worker = Worker::builder(inbox.clone(), |d: Delivery| async move {
//!     let event: serde_json::Value = d.json()?;
//!     assert_eq!(event["type"], "charge.succeeded");
//!     Ok(())
//! })
//! .build()?;
//! let stats = worker.stats();
//! worker.run(async { while stats.snapshot().done == 0 { tokio::task::yield_now().await } }).await;
//! assert_eq!(inbox.stats().await?.done, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Defaults
//!
//! | setting | default |
//! |---|---|
//! | accept status | `200 OK` |
//! | `Retry-After` on 503 | [`DEFAULT_RETRY_AFTER`] = 5 s |
//! | delivery concurrency | [`DEFAULT_CONCURRENCY`] = 16 |
//! | max attempts | [`DEFAULT_MAX_ATTEMPTS`] = 12 |
//! | retry delays | [`DEFAULT_RETRY_INITIAL`] = 1 s doubling to [`DEFAULT_RETRY_MAX`] = 1 h, full jitter |
//! | lease | [`DEFAULT_LEASE`] = 60 s |
//! | poll interval | [`DEFAULT_POLL_INTERVAL`] = 500 ms |
//! | shutdown grace | [`DEFAULT_GRACE_PERIOD`] = 30 s |
//! | retention of done events | [`DEFAULT_RETENTION`] = 72 h |
//! | SQLite group commit | 1 ms window, up to 512 operations; busy timeout 5 s |
//!
//! ## The public interface is:
//!
//! - the contract: [`Inbox`], [`Accepted`], [`Fenced`], [`Lease`], [`Leased`],
//!   [`LeaseRequest`], [`Requeue`], [`ListQuery`], [`InboxStats`], [`InboxFuture`]
//! - events: [`NewEvent`], [`Event`], [`EventKey`], [`State`], [`LastError`]
//! - backends: [`MemoryInbox`], `SqliteInbox` ([`sqlite`](crate#backends) feature)
//! - accepting: [`Accept`], [`AcceptBuilder`], [`AcceptOutcome`], [`DUPLICATE_HEADER`]
//! - delivering: [`Worker`], [`WorkerBuilder`], [`Handler`], [`Delivery`], [`Failure`],
//!   [`FailureKind`], [`Backoff`], [`WorkerStats`], [`WorkerSnapshot`], [`WorkerReport`]
//! - errors: [`InboxError`] ([`InboxOp`]), [`InboxConfigError`]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod accept;
mod error;
mod event;
mod store;
mod worker;

pub use accept::{
    Accept, AcceptBuilder, AcceptOutcome, DEFAULT_KEPT_HEADERS, DEFAULT_RETRY_AFTER,
    DUPLICATE_HEADER,
};
pub use error::{InboxConfigError, InboxError, InboxOp};
pub use event::{Event, EventKey, LastError, MAX_REASON, NewEvent, State, UnknownState};
pub use store::memory::MemoryInbox;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use store::postgres::{
    DEFAULT_PG_GROUP_MAX, DEFAULT_PG_TIMEOUT, DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, DEFAULT_WRITERS,
    PostgresInbox, PostgresInboxBuilder, SCHEMA_VERSION, Transactional, TxFuture, TxHandler,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::sqlite::{
    DEFAULT_BUSY_TIMEOUT, DEFAULT_GROUP_MAX, DEFAULT_GROUP_WINDOW, SqliteInbox, SqliteInboxBuilder,
};
pub use store::{
    Accepted, DEFAULT_LIST_LIMIT, Fenced, Inbox, InboxFuture, InboxStats, Lease, LeaseRequest,
    Leased, ListQuery, Requeue,
};
/// The PostgreSQL driver the [`PostgresInbox`] and its transactional handlers use
/// (re-exported so that handlers name the same version).
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use tokio_postgres;
pub use worker::{
    Backoff, DEFAULT_CONCURRENCY, DEFAULT_GRACE_PERIOD, DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_POLL_INTERVAL, DEFAULT_RETENTION, DEFAULT_RETRY_INITIAL, DEFAULT_RETRY_MAX, Delivery,
    Failure, FailureKind, Handler, HandlerFuture, Worker, WorkerBuilder, WorkerReport,
    WorkerSnapshot, WorkerStats,
};

/// Displays an error with its `source()` chain: `a: b: c`.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
