use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "xero";
pub(super) const DESCRIPTION: &str =
    "Xero: x-xero-signature <base64> HMAC-SHA256 over the body; no event id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-xero-signature", SignatureSyntax::single(""))
        .unchecked()
}
