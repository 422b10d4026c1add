use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "hookdeck";
pub(super) const DESCRIPTION: &str =
    "Hookdeck: x-hookdeck-signature <base64> HMAC-SHA256 over the body";

// Documentation: https://hookdeck.com/docs/authentication#hookdeck-webhook-signature-verification

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-hookdeck-signature", SignatureSyntax::single(""))
        .unchecked()
}
