use http::HeaderName;

use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Part, Scheme, SignatureSyntax, TimestampSpec, TimestampUnit};

pub(super) const NAME: &str = "customer-io";
pub(super) const DESCRIPTION: &str = "Customer.io: X-CIO-Signature <hex> over `v0:ts:body`, X-CIO-Timestamp; id JSON event_id; type object_type.metric";

// Documentation: https://docs.customer.io/journeys/webhooks/#securely-verify-requests
// Checked 2026-12-02 (issue 15) against:
// - https://customer.io/docs/api/webhooks/#section/Securely-Verifying-Requests ("v0:<timestamp>:<body>", hex HMAC-SHA256, X-CIO-Timestamp); quoted by the munster gem's Customer.io handler

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-cio-signature", SignatureSyntax::single(""))
        .timestamp(TimestampSpec::header(
            HeaderName::from_static("x-cio-timestamp"),
            TimestampUnit::Seconds,
        ))
        .content([
            Part::literal("v0:"),
            Part::Timestamp,
            Part::literal(":"),
            Part::Body,
        ])
        .event_id(EventIdSource::json_field("event_id"))
        .event_type(EventTypeSource::json_field(&["object_type"]).then_json_field(&["metric"]))
        .unchecked()
}
