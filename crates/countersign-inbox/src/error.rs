//! Errors: [`InboxError`] when a backend cannot answer, [`InboxConfigError`] when something
//! is built with an unusable configuration.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// Which inbox operation failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboxOp {
    /// Opening the backend (file, schema).
    Open,
    /// [`Inbox::accept`](crate::Inbox::accept).
    Accept,
    /// [`Inbox::lease`](crate::Inbox::lease).
    Lease,
    /// `complete`, `retry` or `dead`.
    Settle,
    /// [`Inbox::requeue`](crate::Inbox::requeue).
    Requeue,
    /// `stats`, `list` or `show`.
    Read,
    /// [`Inbox::purge`](crate::Inbox::purge).
    Purge,
}

impl InboxOp {
    /// A short lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            InboxOp::Open => "open",
            InboxOp::Accept => "accept",
            InboxOp::Lease => "lease",
            InboxOp::Settle => "settle",
            InboxOp::Requeue => "requeue",
            InboxOp::Read => "read",
            InboxOp::Purge => "purge",
        }
    }
}

impl fmt::Display for InboxOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend could not answer. The accept service answers `503` + `Retry-After`; the worker
/// logs, counts and tries again later.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The backend failed; its error is the [`source`](std::error::Error::source).
    #[error("inbox {op} failed")]
    Backend {
        /// The operation.
        op: InboxOp,
        /// The backend's error (e.g. a `rusqlite::Error`).
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
    /// The backend is shut down (its writer thread is gone).
    #[error("inbox {op} failed: the inbox is closed")]
    Closed {
        /// The operation.
        op: InboxOp,
    },
    /// The backend holds a row this crate did not write (or a newer schema).
    #[error("inbox {op}: unexpected stored data: {what}")]
    Corrupt {
        /// The operation.
        op: InboxOp,
        /// What was wrong.
        what: &'static str,
    },
}

impl InboxError {
    /// The failed operation.
    #[must_use]
    pub fn op(&self) -> InboxOp {
        match self {
            InboxError::Backend { op, .. }
            | InboxError::Closed { op }
            | InboxError::Corrupt { op, .. } => *op,
        }
    }

    /// Wraps a backend error.
    pub fn backend(op: InboxOp, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        InboxError::Backend {
            op,
            source: source.into(),
        }
    }
}

/// An unusable configuration, reported when it is built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboxConfigError {
    /// A duration outside its allowed range.
    #[error("{setting} must be between {min:?} and {max:?}, got {got:?}")]
    DurationOutOfRange {
        /// The setting.
        setting: &'static str,
        /// The value given.
        got: Duration,
        /// The smallest value accepted.
        min: Duration,
        /// The largest value accepted.
        max: Duration,
    },
    /// A count that must be at least 1.
    #[error("{setting} must be at least 1")]
    Zero {
        /// The setting.
        setting: &'static str,
    },
    /// The scheme has no event id source and no id extractor was given.
    #[error("scheme `{scheme}` carries no event id; the inbox needs one to deduplicate")]
    NoEventIdSource {
        /// The scheme's name.
        scheme: String,
    },
    /// The accept status is not a 2xx.
    #[error("the accept status must be 2xx, got {0}")]
    NotSuccess(u16),
    /// `retry_initial` is larger than `retry_max`.
    #[error("retry_initial ({initial:?}) must not exceed retry_max ({max:?})")]
    BackoffOrder {
        /// The initial delay.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
}

pub(crate) fn check_duration(
    setting: &'static str,
    got: Duration,
    min: Duration,
    max: Duration,
) -> Result<Duration, InboxConfigError> {
    if got < min || got > max {
        Err(InboxConfigError::DurationOutOfRange {
            setting,
            got,
            min,
            max,
        })
    } else {
        Ok(got)
    }
}
