//! [`DedupRejection`]: why the layer answered instead of the handler, put into the response
//! extensions so an outer layer can rewrite the response.

use http::StatusCode;

use crate::error::StoreOp;

/// Why [`Dedup`](crate::Dedup) answered a request itself. Found in the response extensions.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DedupRejection {
    /// No event id: no `Verified` with an id in the request extensions and no id from the
    /// extractor. `400 Bad Request`.
    MissingEventId,
    /// Another delivery of the event is being processed and may still fail.
    /// `409 Conflict` with `Retry-After`.
    InFlight,
    /// The event was processed already (the handler answered `status`); the handler was not
    /// called. `200 OK` with `countersign-duplicate: true`.
    Duplicate {
        /// What the handler answered the first time.
        status: StatusCode,
    },
    /// The store failed and the layer fails closed. `503 Service Unavailable` with
    /// `Retry-After`.
    StoreUnavailable {
        /// The operation that failed.
        op: StoreOp,
    },
    /// The handler's task was cancelled before it answered (the runtime is shutting down);
    /// the claim is left to expire with its lease. `503 Service Unavailable` with
    /// `Retry-After`.
    Abandoned,
}

impl DedupRejection {
    /// The status the layer answers with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            DedupRejection::MissingEventId => StatusCode::BAD_REQUEST,
            DedupRejection::InFlight => StatusCode::CONFLICT,
            DedupRejection::Duplicate { .. } => StatusCode::OK,
            DedupRejection::StoreUnavailable { .. } | DedupRejection::Abandoned => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// A stable snake_case name: `missing_event_id`, `in_flight`, `duplicate`,
    /// `store_unavailable`, `abandoned`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            DedupRejection::MissingEventId => "missing_event_id",
            DedupRejection::InFlight => "in_flight",
            DedupRejection::Duplicate { .. } => "duplicate",
            DedupRejection::StoreUnavailable { .. } => "store_unavailable",
            DedupRejection::Abandoned => "abandoned",
        }
    }
}
