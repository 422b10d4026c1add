use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "tally";
pub(super) const DESCRIPTION: &str = "Tally: Tally-Signature <base64> HMAC-SHA256 over the body; id JSON eventId; type JSON eventType";

// Documentation: https://tally.so/help/webhooks (verifying webhook signatures)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("tally-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::json_field("eventId"))
        .event_type(EventTypeSource::json_field(&["eventType"]))
        .unchecked()
}
