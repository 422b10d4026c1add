use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "segment";
pub(super) const DESCRIPTION: &str =
    "Segment: X-Signature <hex> HMAC-SHA1 over the body; id JSON messageId; type JSON type";

// Documentation: https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook
// Checked 2026-12-02 (issue 15) against:
// - https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook (X-Signature: hex HMAC-SHA1 of the body with the shared secret)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha1)
        .encoding(Encoding::Hex)
        .signature_header("x-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("messageId"))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
