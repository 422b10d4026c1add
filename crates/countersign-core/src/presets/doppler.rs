use crate::algorithm::{Algorithm, Encoding};
use crate::event_type::EventTypeSource;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "doppler";
pub(super) const DESCRIPTION: &str =
    "Doppler: X-Doppler-Signature sha256=<hex> HMAC-SHA256 over the body; type JSON type";

// Documentation: https://docs.doppler.com/docs/webhooks#verify-webhook-with-signing-secret

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-doppler-signature", SignatureSyntax::single("sha256="))
        .event_type(EventTypeSource::json_field(&["type"]))
        .unchecked()
}
