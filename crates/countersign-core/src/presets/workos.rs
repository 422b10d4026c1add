use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{
    EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance,
};

pub(super) const NAME: &str = "workos";
pub(super) const DESCRIPTION: &str =
    "WorkOS: WorkOS-Signature t=<ms>, v1=<hex> over `t.body`, 3 min; id JSON id; type JSON event";

// Documentation: https://workos.com/docs/events/data-syncing/webhooks (validating webhooks)

/// WorkOS's SDKs default to a three-minute tolerance.
const TOLERANCE: Duration = Duration::from_secs(180);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "workos-signature",
            SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(
            TimestampUnit::Milliseconds,
        ))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_id(EventIdSource::json_field("id"))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
