//! Why the layer turned a request away: [`VerifyRejection`], found in the extensions of every
//! rejection response (and handed to the [`on_rejection`](crate::VerifyLayerBuilder::on_rejection)
//! hook).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use countersign_core::{ErrorKind, VerifyError};
use http::StatusCode;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a request was rejected. Inserted into the rejection response's extensions.
///
/// `Display` is precise (for logs); [`public_message`](Self::public_message) is what the
/// default response tells the sender.
///
/// ```
/// use countersign_tower::{ErrorKind, VerifyError, VerifyRejection};
/// use http::StatusCode;
///
/// let rejection = VerifyRejection::from(VerifyError::MissingHeader {
///     name: http::HeaderName::from_static("stripe-signature"),
/// });
/// assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(rejection.kind(), Some(ErrorKind::MissingHeader));
/// // Vague for the sender, precise for the operator:
/// assert_eq!(rejection.public_message(), "webhook signature headers missing or malformed");
/// assert_eq!(rejection.to_string(), "missing header `stripe-signature`");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum VerifyRejection {
    /// The delivery failed verification (see [`VerifyError::kind`]).
    Verify(VerifyError),
    /// The request body could not be read: the client went away, a transport error, a body
    /// timeout set by an outer layer. Answered `400 Bad Request`.
    BodyRead(BodyReadError),
    /// The [`BodyBudget`](crate::BodyBudget) had no room for the body: answered
    /// `503 Service Unavailable` with `Retry-After` (added to a hook's response too) and
    /// `Connection: close`, before the body is read when its length was declared.
    BudgetExhausted {
        /// The budget's capacity in bytes.
        capacity: usize,
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
}

impl VerifyRejection {
    /// The status of the default response: 400, 401, 413 or 503.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            VerifyRejection::Verify(e) => e.status(),
            VerifyRejection::BodyRead(_) => StatusCode::BAD_REQUEST,
            VerifyRejection::BudgetExhausted { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable error kind, for verification failures.
    #[must_use]
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            VerifyRejection::Verify(e) => Some(e.kind()),
            VerifyRejection::BodyRead(_) | VerifyRejection::BudgetExhausted { .. } => None,
        }
    }

    /// The verification failure, if that is what this is.
    #[must_use]
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match self {
            VerifyRejection::Verify(e) => Some(e),
            VerifyRejection::BodyRead(_) | VerifyRejection::BudgetExhausted { .. } => None,
        }
    }

    /// A short text safe to send to the (possibly hostile) sender; the default response body.
    #[must_use]
    pub fn public_message(&self) -> &'static str {
        match self {
            VerifyRejection::Verify(e) => e.kind().public_message(),
            VerifyRejection::BodyRead(_) => "failed to read the webhook body",
            VerifyRejection::BudgetExhausted { .. } => "busy, retry later",
        }
    }

    /// A stable snake_case label for logs and metrics: the [`ErrorKind`] name, `body_read`
    /// or `body_budget`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            VerifyRejection::Verify(e) => e.kind().as_str(),
            VerifyRejection::BodyRead(_) => "body_read",
            VerifyRejection::BudgetExhausted { .. } => "body_budget",
        }
    }
}

impl fmt::Display for VerifyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyRejection::Verify(e) => fmt::Display::fmt(e, f),
            VerifyRejection::BodyRead(e) => fmt::Display::fmt(e, f),
            VerifyRejection::BudgetExhausted { capacity, .. } => {
                write!(f, "in-memory body budget of {capacity} bytes exhausted")
            }
        }
    }
}

impl StdError for VerifyRejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            VerifyRejection::Verify(e) => Some(e),
            VerifyRejection::BodyRead(e) => Some(e),
            VerifyRejection::BudgetExhausted { .. } => None,
        }
    }
}

impl From<VerifyError> for VerifyRejection {
    fn from(e: VerifyError) -> Self {
        VerifyRejection::Verify(e)
    }
}

impl From<BodyReadError> for VerifyRejection {
    fn from(e: BodyReadError) -> Self {
        VerifyRejection::BodyRead(e)
    }
}

/// The request body failed while it was being read; the transport's error is the
/// [`source`](StdError::source).
#[derive(Clone)]
pub struct BodyReadError(Arc<dyn StdError + Send + Sync>);

impl BodyReadError {
    pub(crate) fn new(e: BoxError) -> Self {
        BodyReadError(Arc::from(e))
    }
}

impl fmt::Debug for BodyReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BodyReadError").field(&self.0).finish()
    }
}

impl fmt::Display for BodyReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed to read the request body")
    }
}

impl StdError for BodyReadError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn statuses_labels_and_sources() {
        let too_old = VerifyRejection::from(VerifyError::TimestampTooOld {
            age: Duration::from_secs(400),
            tolerance: Duration::from_secs(300),
        });
        assert_eq!(too_old.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(too_old.label(), "timestamp_too_old");
        assert!(too_old.verify_error().is_some());
        assert!(too_old.source().is_some());

        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let read = VerifyRejection::from(BodyReadError::new(Box::new(io)));
        assert_eq!(read.status(), StatusCode::BAD_REQUEST);
        assert_eq!((read.kind(), read.label()), (None, "body_read"));
        assert_eq!(read.to_string(), "failed to read the request body");
        let source = read
            .source()
            .and_then(StdError::source)
            .map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("reset"));
    }
}
