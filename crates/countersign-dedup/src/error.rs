//! Errors: [`StoreError`] when a store cannot answer, [`DedupConfigError`] when a layer or a
//! store is built with an unusable configuration.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which store operation failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// Connecting to the backend.
    Connect,
    /// [`DedupStore::claim`](crate::DedupStore::claim).
    Claim,
    /// [`DedupStore::complete`](crate::DedupStore::complete).
    Complete,
    /// [`DedupStore::release`](crate::DedupStore::release).
    Release,
}

impl StoreOp {
    /// `connect`, `claim`, `complete` or `release`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreOp::Connect => "connect",
            StoreOp::Claim => "claim",
            StoreOp::Complete => "complete",
            StoreOp::Release => "release",
        }
    }
}

impl fmt::Display for StoreOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store could not answer. The layer turns it into `503 Service Unavailable` (or, when
/// fail-open was chosen explicitly, lets the request through), and counts and logs it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (connection refused or dropped, server error…); the backend's
    /// error is the [`source`](std::error::Error::source).
    #[error("dedup store {op} failed")]
    Backend {
        /// The operation.
        op: StoreOp,
        /// The backend's error (e.g. a `redis::RedisError`).
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
    /// No answer within the configured response timeout.
    #[error("dedup store {op} timed out after {after:?}")]
    Timeout {
        /// The operation.
        op: StoreOp,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// A bounded in-memory store is full of claims that are still in flight.
    #[error("dedup store is full: {capacity} entries, none of them evictable")]
    CapacityExhausted {
        /// The configured capacity.
        capacity: usize,
    },
    /// The backend holds a value under a dedup key that this crate did not write.
    #[error("dedup store {op}: unexpected value under the key")]
    UnexpectedValue {
        /// The operation.
        op: StoreOp,
    },
    /// The store was configured with an unusable value.
    #[error(transparent)]
    Config(#[from] DedupConfigError),
}

impl StoreError {
    /// The failed operation, when there is one.
    #[must_use]
    pub fn op(&self) -> Option<StoreOp> {
        match self {
            StoreError::Backend { op, .. }
            | StoreError::Timeout { op, .. }
            | StoreError::UnexpectedValue { op } => Some(*op),
            StoreError::CapacityExhausted { .. } => Some(StoreOp::Claim),
            StoreError::Config(_) => None,
        }
    }

    /// Wraps a backend error.
    pub fn backend(op: StoreOp, source: impl Into<BoxError>) -> Self {
        StoreError::Backend {
            op,
            source: source.into(),
        }
    }
}

/// An unusable configuration, reported when the layer or the store is built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DedupConfigError {
    /// The scheme has no event id source ([`EventIdSource::None`]) and no id extractor was
    /// given, so every request would be rejected.
    ///
    /// [`EventIdSource::None`]: countersign_core::EventIdSource::None
    #[error(
        "scheme `{scheme}` carries no event id; give DedupLayer an id extractor (`event_id_with`)"
    )]
    NoEventIdSource {
        /// The scheme's name.
        scheme: String,
    },
    /// A duration that must be positive and at most [`MAX_TTL`](crate::MAX_TTL) is not.
    #[error("{setting} must be between 1 ms and {max:?}, got {got:?}")]
    DurationOutOfRange {
        /// `lease`, `retention`, `retry_after`, `response_timeout`, …
        setting: &'static str,
        /// The value given.
        got: Duration,
        /// The largest value accepted.
        max: Duration,
    },
    /// A key prefix or scope contains a character that would break the key format
    /// (`{`, `}`, whitespace or a control character).
    #[error("{setting} contains `{{`, `}}`, whitespace or a control character")]
    InvalidKeyPart {
        /// `prefix` or `scope`.
        setting: &'static str,
    },
    /// A capacity of zero.
    #[error("capacity must be at least 1")]
    ZeroCapacity,
    /// No Redis node address was given, or one could not be parsed.
    #[error("invalid Redis address")]
    InvalidAddress,
}

/// Checks a duration setting: 1 ms ..= `max`.
pub(crate) fn check_duration(
    setting: &'static str,
    got: Duration,
    max: Duration,
) -> Result<Duration, DedupConfigError> {
    if got < Duration::from_millis(1) || got > max {
        Err(DedupConfigError::DurationOutOfRange { setting, got, max })
    } else {
        Ok(got)
    }
}

/// Checks a key prefix or scope.
pub(crate) fn check_key_part(setting: &'static str, s: &str) -> Result<(), DedupConfigError> {
    if s.chars()
        .any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control())
    {
        Err(DedupConfigError::InvalidKeyPart { setting })
    } else {
        Ok(())
    }
}
