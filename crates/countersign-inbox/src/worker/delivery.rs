//! What a handler gets ([`Delivery`]), what it returns on failure ([`Failure`]), and the
//! [`Handler`] trait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::InboxError;
use crate::event::{Event, EventKey, LastError};
use crate::store::{Fenced, Lease};

/// Where a handler that settles the event itself (the PostgreSQL transactional inbox: its
/// done mark commits with the handler's writes) leaves the outcome of that write; the worker
/// then records it instead of completing the event again.
pub(crate) type Settled = Arc<Mutex<Option<Result<Fenced, InboxError>>>>;

/// One attempt at a stored event, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Delivery {
    event: Event,
    lease: Lease,
    settled: Settled,
}

impl Delivery {
    pub(crate) fn new(event: Event, lease: Lease) -> Self {
        Delivery {
            event,
            lease,
            settled: Settled::default(),
        }
    }

    /// The lease of this attempt (key, fencing token, deadline).
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "used by backends that settle in the handler")
    )]
    pub(crate) fn lease(&self) -> &Lease {
        &self.lease
    }

    /// The slot a settling handler writes its done mark's outcome to.
    pub(crate) fn settled(&self) -> &Settled {
        &self.settled
    }

    /// Records that the handler itself marked the event done (or failed to).
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "used by backends that settle in the handler")
    )]
    pub(crate) fn settle(&self, outcome: Result<Fenced, InboxError>) {
        *self.settled.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    /// The provider's event id.
    #[must_use]
    pub fn id(&self) -> &str {
        self.event.id()
    }
    /// Route and event id.
    #[must_use]
    pub fn key(&self) -> &EventKey {
        self.event.key()
    }
    /// The route (dedup scope).
    #[must_use]
    pub fn route(&self) -> &str {
        self.event.route()
    }
    /// The preset that verified the delivery.
    #[must_use]
    pub fn preset(&self) -> &str {
        self.event.preset()
    }
    /// This attempt's number, from 1.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.event.attempts()
    }
    /// When the event was accepted.
    #[must_use]
    pub fn received_at(&self) -> SystemTime {
        self.event.received_at()
    }
    /// The path and query the delivery was sent to.
    #[must_use]
    pub fn target(&self) -> &str {
        self.event.target()
    }
    /// The stored headers (those the scheme reads, `content-type`, the allow-list).
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        self.event.headers()
    }
    /// The raw body, byte for byte as signed.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        self.event.body()
    }
    /// When this attempt's lease ends: finish before it, or the event is delivered again.
    #[must_use]
    pub fn deadline(&self) -> SystemTime {
        self.lease.deadline()
    }
    /// Why the previous attempt failed.
    #[must_use]
    pub fn last_error(&self) -> Option<&LastError> {
        self.event.last_error()
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// A [`Failure::dead`]: a body that does not parse now never will, retrying is useless.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_slice(self.body())
            .map_err(|e| Failure::dead(format!("body is not the expected JSON: {e}")))
    }
}

/// What to do after a failed attempt.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Try again later (backoff, at least `retry_after`), until `max_attempts`.
    Retry {
        /// The handler's or upstream's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Give up now: dead letter.
    Dead,
}

/// A failed attempt: retry later or dead-letter, with the reason kept as `last_error`.
///
/// Any `std::error::Error` converts into a retryable failure, so `?` works in handlers.
///
/// | cause | kind |
/// |---|---|
/// | [`Failure::status`] 5xx, 408, 429 | retry (honouring `Retry-After`) |
/// | [`Failure::status`] other 4xx | dead at once |
/// | a timeout, a connection error, `?` on an error | retry |
/// | [`Delivery::json`] on a malformed body | dead |
pub struct Failure {
    kind: FailureKind,
    error: LastError,
}

impl Failure {
    /// Retry later.
    pub fn retry(reason: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Retry { retry_after: None },
            error: LastError::new(None, reason),
        }
    }

    /// Retry, not before `after`.
    pub fn retry_after(after: Duration, reason: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Retry {
                retry_after: Some(after),
            },
            error: LastError::new(None, reason),
        }
    }

    /// Give up: dead letter.
    pub fn dead(reason: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Dead,
            error: LastError::new(None, reason),
        }
    }

    /// The upstream answered `status` (not 2xx): 5xx, 408 and 429 are retried (not before
    /// `retry_after`), any other 4xx is dead at once, anything else retried.
    pub fn status(status: StatusCode, retry_after: Option<Duration>) -> Self {
        let retryable = status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || !status.is_client_error();
        let reason = status.canonical_reason().unwrap_or("unexpected status");
        Failure {
            kind: if retryable {
                FailureKind::Retry { retry_after }
            } else {
                FailureKind::Dead
            },
            error: LastError::new(Some(status.as_u16()), reason),
        }
    }

    /// What to do.
    #[must_use]
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The reason stored as `last_error`.
    #[must_use]
    pub fn error(&self) -> &LastError {
        &self.error
    }

    pub(crate) fn into_parts(self) -> (FailureKind, LastError) {
        (self.kind, self.error)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("kind", &self.kind)
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::retry(e.to_string())
    }
}

/// The future a [`Handler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;

/// Processes one delivery. Implemented for every `Fn(Delivery) -> impl Future<Output =
/// Result<(), Failure>>`, so an `async fn handle(d: Delivery) -> Result<(), Failure>` is a
/// handler.
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt.
    fn call(&self, delivery: Delivery) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    fn call(&self, delivery: Delivery) -> HandlerFuture {
        Box::pin(self(delivery))
    }
}
