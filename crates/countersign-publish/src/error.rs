//! Errors: [`PublishError`] (one publish failed, and whether it may still land) and
//! [`PublishConfigError`] (a publisher or the service cannot be built).

use std::error::Error as StdError;
use std::fmt;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// Why a publish failed. [`may_still_land`](Self::may_still_land) is the part the service
/// acts on: a failure that is known *not* to have published releases the claim at once
/// (the sender's retry publishes), one that may still land keeps the claim.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No connection or channel to the broker: nothing was sent.
    Unreachable,
    /// The broker confirmed that no queue or stream takes the message (AMQP `basic.return`
    /// of a mandatory publish; JetStream: no stream for the subject). Not published.
    Unroutable,
    /// The broker refused the message (AMQP `basic.nack`, e.g. a full queue with
    /// `reject-publish`; a JetStream error answer, e.g. a full stream with `discard: new`).
    /// Not published.
    Rejected,
    /// The message was sent but the connection was lost before the broker's answer: it may
    /// or may not be on the broker.
    Unconfirmed,
    /// No answer within the publish timeout: it may still be confirmed later.
    TimedOut,
}

impl FailureKind {
    /// Whether the message may be on the broker (or still get there) despite the failure.
    /// `false` means it certainly is not: republishing cannot make a second copy.
    #[must_use]
    pub fn may_still_land(self) -> bool {
        matches!(self, FailureKind::Unconfirmed | FailureKind::TimedOut)
    }

    /// A stable snake_case label (metrics `reason`): `unreachable`, `unroutable`,
    /// `rejected`, `unconfirmed`, `timeout`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "unreachable",
            FailureKind::Unroutable => "unroutable",
            FailureKind::Rejected => "rejected",
            FailureKind::Unconfirmed => "unconfirmed",
            FailureKind::TimedOut => "timeout",
        }
    }

    /// Every kind, in declaration order (metrics).
    pub const ALL: [FailureKind; 5] = [
        FailureKind::Unreachable,
        FailureKind::Unroutable,
        FailureKind::Rejected,
        FailureKind::Unconfirmed,
        FailureKind::TimedOut,
    ];

    fn describe(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "broker unreachable; not published",
            FailureKind::Unroutable => "no queue or stream takes the message; not published",
            FailureKind::Rejected => "the broker refused the message; not published",
            FailureKind::Unconfirmed => {
                "connection lost before the broker confirmed; the message may be published"
            }
            FailureKind::TimedOut => {
                "no confirmation within the publish timeout; the message may still be published"
            }
        }
    }
}

/// A publish that did not end with the broker's confirmation.
///
/// The message names the kind and keeps the client library's error as `source()`; it never
/// contains credentials (connection URLs are not part of it).
#[derive(Debug)]
pub struct PublishError {
    kind: FailureKind,
    detail: Option<String>,
    source: Option<Source>,
}

impl PublishError {
    /// A failure of `kind`.
    #[must_use]
    pub fn new(kind: FailureKind) -> Self {
        PublishError {
            kind,
            detail: None,
            source: None,
        }
    }

    /// A failure of `kind` caused by `source`.
    #[must_use]
    pub fn with_source(kind: FailureKind, source: impl Into<Source>) -> Self {
        PublishError {
            kind,
            detail: None,
            source: Some(source.into()),
        }
    }

    /// Adds a short detail for the operator (the broker's reply text, the destination).
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Shorthand for `kind().may_still_land()`.
    #[must_use]
    pub fn may_still_land(&self) -> bool {
        self.kind.may_still_land()
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl StdError for PublishError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A publisher, its URL or the service cannot be built. Never contains a password.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishConfigError {
    /// A routing key / subject template is invalid.
    #[error("template `{template}`: {reason}")]
    Template {
        /// The template as written.
        template: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A broker URL is invalid (shown without its password).
    #[error("broker URL `{url}`: {reason}")]
    Url {
        /// The URL, password replaced by `***`.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A setting is out of range or inconsistent with another one.
    #[error("{setting}: {reason}")]
    Setting {
        /// The setting.
        setting: &'static str,
        /// Why.
        reason: String,
    },
}

/// `a: b: c` for an error and its sources (logs).
pub(crate) struct ErrorChain<'e>(pub(crate) &'e (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
