//! The delivering side: [`Worker`], its [`Handler`], [`Delivery`], [`Failure`], [`Backoff`].

mod backoff;
mod delivery;
mod run;

pub use backoff::{Backoff, DEFAULT_RETRY_INITIAL, DEFAULT_RETRY_MAX};
pub use delivery::{Delivery, Failure, FailureKind, Handler, HandlerFuture};
pub use run::{
    DEFAULT_CONCURRENCY, DEFAULT_GRACE_PERIOD, DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_POLL_INTERVAL, DEFAULT_RETENTION, Worker, WorkerBuilder, WorkerReport, WorkerSnapshot,
    WorkerStats,
};
