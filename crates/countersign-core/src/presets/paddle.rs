use crate::event_type::EventTypeSource;
use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{
    EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance,
};

pub(super) const NAME: &str = "paddle";
pub(super) const DESCRIPTION: &str = "Paddle Billing: Paddle-Signature ts=<unix>;h1=<hex> over `ts:body`, 5 s tolerance; id JSON event_id";

/// Paddle's SDKs reject signatures older than 5 seconds.
const TOLERANCE: Duration = Duration::from_secs(5);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "paddle-signature",
            SignatureSyntax::key_value(';', "h1").with_timestamp_key("ts"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal(":"), Part::Body])
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_id(EventIdSource::json_field("event_id"))
        .event_type(EventTypeSource::json_field(&["event_type"]))
        .unchecked()
}
