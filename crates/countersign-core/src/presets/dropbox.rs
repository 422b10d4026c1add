use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "dropbox";
pub(super) const DESCRIPTION: &str =
    "Dropbox: X-Dropbox-Signature <hex> HMAC-SHA256 over the body with the app secret; no event id";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-dropbox-signature", SignatureSyntax::single(""))
        .unchecked()
}
