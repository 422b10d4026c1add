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
//!                            Inbox (SQLite file, Redis, PostgreSQL, memory)
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
//! | `RedisInbox` | `redis` | as Redis's AOF: `appendfsync always` / `everysec` (see [Redis](#redis)) | several receivers sharing one queue |
//! | `PostgresInbox` | `postgres` | yes: every commit waits for the WAL flush | several receivers on one database; exactly-once effects (transactional inbox) |
//! | [`MemoryInbox`] | — | **no** | tests, examples |
//!
//! **Choosing**: one machine (one proxy, or one app process) → SQLite: no server, an fsync per
//! group commit. Several receivers behind a load balancer → Redis (with AOF on), one queue
//! that every receiver accepts into and delivers from, each event leased by one of them at a
//! time.
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
//! commit (the WAL is append-only). They are also committed *apart* from the accepts that
//! are queued with them (one transaction without fsync, then one fsynced transaction for the
//! accepts), so a worker's lease or completion never waits for the disk. That keeps delivery
//! off the fsync path. The schema
//! carries `PRAGMA user_version`; a newer version is refused.
//!
//! ## Redis
//!
//! `RedisInbox` keeps one inbox on one Redis node (≥ 6.2; tested with 7.0) under a
//! configurable prefix `P`. Every key is `{P}:…` — the whole prefix is one Redis Cluster hash
//! tag, so all keys of one inbox live in one slot. **Redis Cluster is not supported** (the
//! client is single-node; scripts derive some key names from the prefix rather than
//! declaring them), but the layout does not stand in the way of adding it.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:e:<len(route)>:<route><id>` | hash | the event: route, id, preset, target, received-at, headers, body, state, attempts, `next_attempt_at`, fencing token, updated-at, last error |
//! | `{P}:due:<route>` | sorted set | pending and in-flight events, score = due time (pending) or lease deadline (in flight): *the* due-time index |
//! | `{P}:st:<state>` | sorted set | per state; score = received-at (pending, for the oldest-pending age) or updated-at (others, for retention purge) |
//! | `{P}:recv` | sorted set | every event by received-at (`list`) |
//! | `{P}:routes` | set | the routes seen (leasing across routes, `show ID` without a route) |
//! | `{P}:seq` | string | the fencing-token counter (`INCR`) |
//! | `{P}:meta` | hash | the layout version (a newer one is refused); its existence marks an inbox |
//!
//! **Sorted sets, not streams.** Streams with consumer groups give a pending-entries list and
//! `XAUTOCLAIM`, but none of what the contract needs besides: no delayed retries (a retried
//! event must wait until its due time: a second structure anyway), no fencing (any consumer
//! may `XACK` an entry after it was claimed by another; `XCLAIM`'s idle time is not a token),
//! no dedup, no requeue of a dead letter by key, and a stream entry cannot be updated in
//! place. With one sorted set scored by "due or lease deadline", *due* is one
//! `ZRANGEBYSCORE -inf now` whether the event is new, retried or its worker died, and the
//! fence is an integer compare in a script.
//!
//! **Every operation is one script (`EVALSHA`), atomic on the server.**
//!
//! - `accept`: `EXISTS` the event hash → duplicate; else `HSET` the event and `ZADD` it to the
//!   due, state and received sets — the dedup record *is* the event, so a duplicate can never
//!   enqueue twice, whichever receiver it reaches. One round trip on the request path (the
//!   scripts are loaded at start-up; after a Redis restart the first call costs a
//!   `NOSCRIPT` + `SCRIPT LOAD`).
//! - `lease`: `ZRANGEBYSCORE due -inf now LIMIT max`, then per event `INCR seq` (the token),
//!   `HINCRBY attempts`, state `in_flight`, due score = deadline. A crashed worker's events
//!   simply become due again when the deadline passes (reclaim needs no separate sweep).
//! - `complete` / `retry` / `dead`: applied only if the hash still holds the token, is in
//!   flight and its deadline is after now — else `Stale`.
//! - `requeue`, `purge` (in batches of 500 per script call, so Redis is never busy for long),
//!   `stats` (one pipeline of `ZCARD`s), `list` / `show` (pipelined `HMGET`s).
//!
//! **Clock.** Due times, lease deadlines, updated-at and the fence's "deadline not passed" are
//! all taken from the **Redis server's `TIME`** inside the scripts, never from a receiver's
//! clock: receivers with skewed clocks agree on who holds a lease. `retry(at)` is sent as a
//! delay (`at - now` on the caller) and added to the server's time. The [`Lease`] a worker
//! gets carries a deadline on *its own* clock, taken before the lease request was sent, so
//! that the handler is cut off before the server-side deadline whatever the skew. Only
//! `received_at` is the receiver's (as with every backend).
//!
//! **Durability is Redis's.** An accept is acknowledged once Redis answered the script; what
//! that answer is worth depends on the server:
//!
//! | Redis setting | an acknowledged event survives |
//! |---|---|
//! | `appendonly no` (RDB snapshots or nothing) | nothing certain: a Redis restart or crash loses every event since the last snapshot. **Not for production.** `RedisInbox` logs a warning at start-up (it reads `CONFIG GET appendonly`, or `INFO persistence` where `CONFIG` is disabled). |
//! | `appendonly yes`, `appendfsync always` | a Redis crash, an OS crash, a power loss: the AOF is fsynced before Redis answers (slowest) |
//! | `appendonly yes`, `appendfsync everysec` (Redis's default) | a Redis crash (the write is in the kernel); an OS crash or power loss can lose the last ~1 s (up to 2 s) of acknowledged events |
//! | `appendonly yes`, `appendfsync no` | a Redis crash; an OS crash can lose what the kernel had not flushed (~30 s on Linux). Warned about at start-up. |
//!
//! Replicas do not help: replication is asynchronous (`WAIT` is not used). Redis unreachable
//! → every operation fails within the response timeout (default 2 s; connect 1 s) → the
//! accept service answers `503` + `Retry-After`, and the connection is re-established in the
//! background (every 20–200 ms).
//!
//! **Several receivers.** Receivers (proxies, app processes) sharing one Redis and prefix
//! share the queue; a worker notices events accepted by another receiver by polling (the
//! worker's poll interval, 500 ms by default) and those accepted in its own process at once.
//! ## PostgreSQL
//!
//! `PostgresInbox` (feature `postgres`) keeps every event in one table of a schema of its own
//! (`countersign_inbox` unless the URL's `schema=` parameter or the builder says otherwise),
//! so any number of receivers — proxies behind a load balancer, workers, `countersign inbox`
//! — share one queue.
//!
//! ### Why `tokio-postgres` + `deadpool-postgres`
//!
//! `tokio-postgres` is the tokio-native driver (the `postgres` crate is its blocking
//! wrapper): prepared statements, binary `bytea`/array parameters, and a plain connection
//! whose transaction we control statement by statement — what the transactional inbox hands
//! to handlers. `deadpool-postgres` is its small, widely used pool (bounded size, wait and
//! create timeouts, per-connection statement cache). `sqlx` would work too, but brings its
//! own pool, runtime glue and macros, and its transaction type is harder to lend to a
//! handler. Both are MIT/Apache-2.0 and use the same RustCrypto line as the rest of the
//! workspace. **No TLS**: connections are plain TCP or a Unix socket (`host=/var/run/postgresql`);
//! run the inbox's database on a private network, or put a TLS tunnel in front.
//!
//! ### The mapping
//!
//! - **accept**: concurrent accepts are **group-committed**: writer tasks (4 by default,
//!   each on its own connection) take every accept queued while the previous batch was
//!   committing and write them with one multi-row `INSERT … SELECT FROM unnest(…) ON
//!   CONFLICT (route, id) DO NOTHING RETURNING route, id` — one statement, one transaction,
//!   one WAL flush — and answer each caller once it returned. Rows go in key order, so two
//!   batches (also of two receivers) take the unique-index locks in the same order and cannot
//!   deadlock. A copy in the same batch is answered `Duplicate` with the first; a copy
//!   arriving on another connection while the first is being written waits for that
//!   transaction in the unique index (PostgreSQL's own behaviour) and gets `Duplicate` once
//!   it committed. Keys are `bytea` (any bytes an id may hold, compared byte for byte).
//! - **lease**: `UPDATE … FROM (SELECT … WHERE state IN ('pending','in_flight') AND next_at
//!   <= now() ORDER BY next_at LIMIT n FOR UPDATE SKIP LOCKED)` — concurrent workers skip
//!   each other's rows instead of waiting — setting `in_flight`, `attempts + 1`, the
//!   deadline `now() + lease` and a token from a sequence (`lease_tokens`: increasing, never
//!   reused). No lock is held after the statement: the lease is the token and the deadline.
//!   The due index is partial: `events_due (next_at) WHERE state IN ('pending','in_flight')`.
//! - **complete / retry / dead**: one `UPDATE … WHERE route = $1 AND id = $2 AND token = $3
//!   AND state = 'in_flight' AND next_at > now()`; no row changed → [`Fenced::Stale`].
//! - **requeue, purge, stats, list, show**: one statement each.
//!
//! ### Times
//!
//! Every stored time but `received_at` is the **database server's**: `now()` (the start of
//! the statement's transaction) for the due time, lease deadlines, fencing and the purge
//! cut-off, so receivers whose clocks disagree still agree on leases. A retry time from the
//! worker is sent as a delay and added to the server's `now()`. The deadline a worker is
//! given counts from just before its lease request, so it ends no later than the server's
//! (on synchronised clocks). The transactional done mark compares with `clock_timestamp()`,
//! since its transaction began before the handler ran.
//!
//! ### Durability and bounds
//!
//! Every session sets `synchronous_commit=on`: a commit — an accept above all — returns
//! only once its WAL record is flushed, whatever the server's default. Every statement is
//! bounded server-side (`statement_timeout`) and every operation client-side (connect,
//! pool wait, statement: `timeout`, 5 s by default); an operation that cannot finish fails
//! with an [`InboxError`] and the accept service answers `503` + `Retry-After`. Connections
//! killed under the pool (`pg_terminate_backend`, a restart) are replaced on the next use.
//!
//! ### Migrations
//!
//! The schema is created and upgraded by versioned migrations that the library applies in
//! `PostgresInbox::open` — and therefore the proxy and `countersign inbox` at start. A
//! `schema_version` table records each applied version. When it is current, opening runs no
//! DDL at all (one `SELECT`); otherwise the opener takes `pg_advisory_xact_lock` (keyed by
//! the schema name), re-reads the version, applies what is missing and commits, so several
//! receivers starting at once take turns and the migrations run once. A schema at a newer
//! version than this build knows is refused (`InboxError::Corrupt`). Nothing runs DDL at
//! request time. The role needs `CREATE` on the database for the first start (or an
//! administrator creates the schema and runs one start with such a role).
//!
//! ### The transactional inbox: exactly-once effects
//!
//! `PostgresInbox::transactional` wraps a handler that receives the
//! `tokio_postgres::Transaction` that marks its event done: the handler's writes and the
//! done mark commit together or not at all. A crash, a panic, an error or a timeout anywhere
//! before the commit rolls back both; the event is delivered again and its effect applied
//! once. The transaction locks the event's row first (only while the lease is this
//! attempt's), so no other receiver delivers it concurrently. See the method's docs and
//! `examples/transactional_orders.rs` (`cargo run -p countersign-inbox --features postgres
//! --example transactional_orders`).
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
//! | Redis | prefix `countersign:inbox`, connect timeout 1 s, response timeout 2 s |
//! | PostgreSQL | schema `countersign_inbox`, pool 16, 4 accept writers, batches up to 512, timeout 5 s |
//!
//! ## The public interface is:
//!
//! - the contract: [`Inbox`], [`Accepted`], [`Fenced`], [`Lease`], [`Leased`],
//!   [`LeaseRequest`], [`Requeue`], [`ListQuery`], [`InboxStats`], [`InboxFuture`]
//! - events: [`NewEvent`], [`Event`], [`EventKey`], [`State`], [`LastError`]
//! - backends: [`MemoryInbox`], `SqliteInbox` ([`sqlite`](crate#backends) feature),
//!   `RedisInbox`, `RedisInboxBuilder`, `RedisPersistence` ([`redis`](crate#redis) feature),
//!   `PostgresInbox`, `PostgresInboxBuilder`, `Transactional`, `TxHandler`, `TxFuture`
//!   ([`postgres`](crate#postgresql) feature)
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
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::redis::{
    DEFAULT_REDIS_CONNECT_TIMEOUT, DEFAULT_REDIS_INBOX_PREFIX, DEFAULT_REDIS_RESPONSE_TIMEOUT,
    RedisInbox, RedisInboxBuilder, RedisPersistence,
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
