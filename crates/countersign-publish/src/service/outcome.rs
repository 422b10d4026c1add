//! [`PublishOutcome`]: what the service answered and why, in the response extensions.

use http::StatusCode;

use crate::error::FailureKind;

/// Why [`PublishService`](crate::PublishService) answered what it did. Found in the
/// response extensions of every answer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishOutcome {
    /// The broker confirmed the message. `200 OK`.
    Published,
    /// The event was published before; nothing was published now. `200 OK` with
    /// `countersign-duplicate: true`.
    Duplicate,
    /// Another delivery of the event is being published and may still fail. `409 Conflict`
    /// with `Retry-After`.
    InFlight,
    /// No event id to deduplicate on (no `Verified` in the request, or no id in it).
    /// `400 Bad Request`.
    MissingEventId,
    /// The dedup store did not answer the claim. `503` with `Retry-After`.
    StoreUnavailable,
    /// The broker did not confirm. `503` with `Retry-After`.
    Failed(FailureKind),
}

impl PublishOutcome {
    /// The status the service answers with.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            PublishOutcome::Published | PublishOutcome::Duplicate => StatusCode::OK,
            PublishOutcome::InFlight => StatusCode::CONFLICT,
            PublishOutcome::MissingEventId => StatusCode::BAD_REQUEST,
            PublishOutcome::StoreUnavailable | PublishOutcome::Failed(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// A stable snake_case label: `published`, `duplicate`, `in_flight`,
    /// `missing_event_id`, `store_unavailable`, or `publish_<reason>` (`publish_unreachable`,
    /// `publish_unroutable`, `publish_rejected`, `publish_unconfirmed`, `publish_timeout`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PublishOutcome::Published => "published",
            PublishOutcome::Duplicate => "duplicate",
            PublishOutcome::InFlight => "in_flight",
            PublishOutcome::MissingEventId => "missing_event_id",
            PublishOutcome::StoreUnavailable => "store_unavailable",
            PublishOutcome::Failed(kind) => match kind {
                FailureKind::Unreachable => "publish_unreachable",
                FailureKind::Unroutable => "publish_unroutable",
                FailureKind::Rejected => "publish_rejected",
                FailureKind::Unconfirmed => "publish_unconfirmed",
                FailureKind::TimedOut => "publish_timeout",
            },
        }
    }

    /// The short body sent with the answer (vague on purpose: the reason is in logs and
    /// metrics).
    pub(crate) fn body(self) -> &'static str {
        match self {
            PublishOutcome::Published => "published\n",
            PublishOutcome::Duplicate => "duplicate\n",
            PublishOutcome::InFlight => "in flight, retry later\n",
            PublishOutcome::MissingEventId => "no event id\n",
            PublishOutcome::StoreUnavailable | PublishOutcome::Failed(_) => {
                "temporarily unavailable, retry later\n"
            }
        }
    }
}
