use http::HeaderName;

use std::time::Duration;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{
    EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit, Tolerance,
};

pub(super) const NAME: &str = "box";
pub(super) const DESCRIPTION: &str = "Box: BOX-SIGNATURE-PRIMARY <base64> over body+BOX-DELIVERY-TIMESTAMP (RFC 3339, 10 min); id BOX-DELIVERY-ID; type JSON trigger";

// Documentation: https://developer.box.com/guides/webhooks/v2/signatures-v2/

/// Box: reject deliveries whose timestamp is more than ten minutes old.
const TOLERANCE: Duration = Duration::from_secs(600);

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("box-signature-primary", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("box-delivery-timestamp"),
            TimestampUnit::Rfc3339,
        ))
        .content([Part::Body, Part::Timestamp])
        .signature_header_fallback("box-signature-secondary")
        .tolerance(Tolerance::symmetric(TOLERANCE))
        .event_id(EventIdSource::headers(&["box-delivery-id"]))
        .event_type(EventTypeSource::json_field(&["trigger"]))
        .unchecked()
}
