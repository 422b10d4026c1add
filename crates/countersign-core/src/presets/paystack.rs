use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "paystack";
pub(super) const DESCRIPTION: &str =
    "Paystack: x-paystack-signature <hex> HMAC-SHA512 over the body; type JSON event";

// Documentation: https://paystack.com/docs/payments/webhooks/#verify-event-origin
// Checked 2026-12-02 (issue 15) against:
// - https://gist.github.com/ibrahimlawal/2f987cccfa87f7ec4cb3dcb40e61dedd (Paystack's skeleton: hex HMAC-SHA512 of the raw body with the secret key; switch on JSON `event`)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha512)
        .encoding(Encoding::Hex)
        .signature_header("x-paystack-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::json_field(&["event"]))
        .unchecked()
}
