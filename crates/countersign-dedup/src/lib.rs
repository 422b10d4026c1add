//! # countersign-dedup
//!
//! Exactly-once webhook processing for [tower] services: a delivery's event id is *claimed*
//! before the handler runs, and the handler's success is *recorded* before the 2xx leaves.
//! Duplicates that arrive while the first delivery is running get `409 Conflict` (never a 2xx
//! that could hide a failure); duplicates of a processed event get `200 OK` without running
//! the handler; a failed or panicked delivery releases its claim so the provider's retry runs
//! the handler again. A client that goes away does not cancel a claimed handler: it runs to
//! completion in a spawned task and its outcome is recorded ([`InlineDedupLayer`] for
//! handlers that cannot be spawned).
//!
//! ```text
//! VerifyLayer ─▶ DedupLayer ──────────────────────────────▶ handler
//!                key = preset + event id                     runs once per event
//!                claim (one round trip):
//!                  new       → call handler; 2xx → record done, then answer
//!                                            else → release
//!                  in flight → 409 + Retry-After
//!                  done      → 200 + countersign-duplicate: true
//!                  store down → 503 (fail closed)
//! ```
//!
//! ```
//! use countersign_core::{Delivery, Preset, SignRequest, Signer, Verifier};
//! use countersign_dedup::{DedupLayer, DedupRejection, MemoryStore};
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let layer = DedupLayer::builder(MemoryStore::new(), Preset::StandardWebhooks)
//!     .lease(Duration::from_secs(30))
//!     .build()?;
//! let stats = layer.stats();
//! let mut app = ServiceBuilder::new().layer(layer).service_fn(|req: Request<()>| async move {
//!     // A handler that fails the first time it sees the event.
//!     let retry = req.headers().contains_key("x-retry");
//!     let status = if retry { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
//!     Ok::<_, Infallible>(Response::builder().status(status).body(()).unwrap())
//! });
//! // What VerifyLayer leaves in the extensions of a verified delivery:
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let headers = Signer::new(Preset::StandardWebhooks, secret)?.sign(&SignRequest::new(b"{}").id("msg_1"))?;
//! let verified = Verifier::new(Preset::StandardWebhooks, secret)?.verify(&Delivery::new(&headers, b"{}"))?;
//! let delivery = |retry: bool| {
//!     let mut req = Request::builder();
//!     if retry { req = req.header("x-retry", "1"); }
//!     let mut req = req.body(()).unwrap();
//!     req.extensions_mut().insert(verified.clone());
//!     req
//! };
//!
//! // Rejected by the handler: the claim is released, nothing is recorded...
//! let failed = app.ready().await?.call(delivery(false)).await?;
//! assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! // ...so the provider's retry runs the handler again, and is accepted.
//! let ok = app.ready().await?.call(delivery(true)).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//! // Any later redelivery is answered from the record.
//! let dup = app.ready().await?.call(delivery(true)).await?;
//! assert_eq!(dup.extensions().get(), Some(&DedupRejection::Duplicate { status: StatusCode::OK }));
//!
//! let s = stats.snapshot();
//! assert_eq!((s.claimed, s.released, s.completed, s.duplicates), (2, 1, 1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Stores
//!
//! | store | feature | for |
//! |---|---|---|
//! | [`MemoryStore`] | — | one process; bounded, TTL expiry, no background thread |
//! | `RedisStore` | `redis` | several instances sharing one Redis node (≥ 7.0) |
//! | `RedisClusterStore` | `cluster` | Redis Cluster |
//!
//! Every store implements [`DedupStore`]: `claim`, `complete` and `release`, each fenced by a
//! [`Token`] so that a claimer whose lease expired can never overwrite or delete a newer claim.
//!
//! ## Defaults
//!
//! | setting | default |
//! |---|---|
//! | lease (in flight) | [`DEFAULT_LEASE`] = 60 s — must exceed the handler's timeout |
//! | retention (done) | [`DEFAULT_RETENTION`] = 72 h |
//! | `Retry-After` on 409 / 503 | [`DEFAULT_RETRY_AFTER`] = 5 s |
//! | store error | [`OnStoreError::FailClosed`]: 503 |
//! | Redis connect / response timeout | 1 s / 1 s (a response waiting for a reconnection included) |
//! | memory capacity | [`DEFAULT_MEMORY_CAPACITY`] = 100 000 records, then the oldest *done* record is evicted |
//!
//! ## Observability
//!
//! `tracing` events (`debug` claimed/done, `info` duplicate/in-flight/released, `warn`
//! fail-open/lease lost/missing id, `error` store failures) carry the event key; the counters
//! of [`DedupLayer::stats`] can be read at any time.
//!
//! ## The public interface is:
//!
//! - the middleware: [`DedupLayer`], [`DedupLayerBuilder`], [`Dedup`], [`DedupFuture`],
//!   [`OnStoreError`], [`DedupRejection`], [`DUPLICATE_HEADER`]; without the spawned task:
//!   [`InlineDedupLayer`], [`InlineDedup`], [`InlineDedupFuture`]
//! - stores: [`DedupStore`], [`Claim`], [`Fenced`], [`StoreFuture`], [`MemoryStore`]
//!   ([`MemoryStoreBuilder`], [`WhenFull`]), `RedisStore`, `RedisClusterStore` and their builders
//! - keys: [`DedupKey`], [`Token`]
//! - [`DedupStats`], [`StatsSnapshot`]
//! - errors: [`StoreError`] ([`StoreOp`]), [`DedupConfigError`]
//!
//! [tower]: https://docs.rs/tower
#![cfg_attr(docsrs, feature(doc_cfg))]

mod dedup;
mod error;
mod key;
mod stats;
mod store;

pub use dedup::{
    DEFAULT_LEASE, DEFAULT_RETENTION, DEFAULT_RETRY_AFTER, DUPLICATE_HEADER, Dedup, DedupFuture,
    DedupLayer, DedupLayerBuilder, DedupRejection, InlineDedup, InlineDedupFuture,
    InlineDedupLayer, OnStoreError,
};
pub use error::{DedupConfigError, StoreError, StoreOp};
pub use key::{DedupKey, MAX_PLAIN_KEY_PART, Token};
pub use stats::{DedupStats, StatsSnapshot};
#[cfg(feature = "cluster")]
#[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
pub use store::cluster::{RedisClusterStore, RedisClusterStoreBuilder};
pub use store::memory::{DEFAULT_MEMORY_CAPACITY, MemoryStore, MemoryStoreBuilder, WhenFull};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::redis::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REDIS_PREFIX, DEFAULT_RESPONSE_TIMEOUT, RedisStore,
    RedisStoreBuilder,
};
pub use store::{Claim, DedupStore, Fenced, MAX_TTL, StoreFuture};
