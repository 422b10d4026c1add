use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "webflow";
pub(super) const DESCRIPTION: &str = "Webflow: x-webflow-signature <hex> over `timestamp:body`, x-webflow-timestamp ms; type JSON triggerType";

// Documentation: https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-webflow-signature", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-webflow-timestamp"),
            TimestampUnit::Milliseconds,
        ))
        .content([Part::Timestamp, Part::literal(":"), Part::Body])
        .event_type(EventTypeSource::json_field(&["triggerType"]))
        .unchecked()
}
