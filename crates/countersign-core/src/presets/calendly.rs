use crate::event_type::EventTypeSource;
use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance};

pub(super) const NAME: &str = "calendly";
pub(super) const DESCRIPTION: &str =
    "Calendly: Calendly-Webhook-Signature t=<unix>,v1=<hex> over `t.body`, 3 min tolerance";

/// Calendly's verification examples allow three minutes.
const TOLERANCE: Duration = Duration::from_secs(180);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header(
            "calendly-webhook-signature",
            SignatureSyntax::key_value(',', "v1").with_timestamp_key("t"),
        )
        .timestamp(TimestampSpec::in_signature_header(TimestampUnit::Seconds))
        .content([Part::Timestamp, Part::literal("."), Part::Body])
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
