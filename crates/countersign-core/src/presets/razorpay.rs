use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "razorpay";
pub(super) const DESCRIPTION: &str = "Razorpay: X-Razorpay-Signature <hex> HMAC-SHA256 over the body; id x-razorpay-event-id; type JSON event";

// Documentation: https://razorpay.com/docs/webhooks/validate-test/

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-razorpay-signature", SignatureSyntax::single(""))
        .event_id(EventIdSource::headers(&["x-razorpay-event-id"]))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
