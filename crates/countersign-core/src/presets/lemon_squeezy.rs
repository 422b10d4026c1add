use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "lemon-squeezy";
pub(super) const DESCRIPTION: &str =
    "Lemon Squeezy: X-Signature <hex> HMAC-SHA256 over the body; type X-Event-Name";

// Documentation: https://docs.lemonsqueezy.com/help/webhooks/signing-requests

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-signature", SignatureSyntax::single(""))
        .event_type(EventTypeSource::header("x-event-name"))
        .unchecked()
}
