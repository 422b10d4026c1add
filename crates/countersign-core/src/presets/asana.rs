use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "asana";
pub(super) const DESCRIPTION: &str = "Asana: X-Hook-Signature <hex> HMAC-SHA256 over the body (secret from the X-Hook-Secret handshake)";

// Documentation: https://developers.asana.com/docs/webhooks-guide#security

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-hook-signature", SignatureSyntax::single(""))
        .unchecked()
}
