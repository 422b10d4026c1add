use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "paystack";
pub(super) const DESCRIPTION: &str =
    "Paystack: x-paystack-signature <hex> HMAC-SHA512 over the body; type JSON event";

// Documentation: https://paystack.com/docs/payments/webhooks/#verify-event-origin

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha512)
        .encoding(Encoding::Hex)
        .signature_header("x-paystack-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
