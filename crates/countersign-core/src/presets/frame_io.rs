use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "frame-io";
pub(super) const DESCRIPTION: &str = "Frame.io: X-Frameio-Signature v0=<hex> over `v0:ts:body`, X-Frameio-Request-Timestamp; type JSON type";

// Documentation: https://developer.frame.io/docs/automations-webhooks/webhooks-overview#security-and-verification

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-frameio-signature", SignatureSyntax::single("v0="))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-frameio-request-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([
            Part::literal("v0:"),
            Part::Timestamp,
            Part::literal(":"),
            Part::Body,
        ])
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
