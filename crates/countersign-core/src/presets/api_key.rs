use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "api-key";
pub(super) const DESCRIPTION: &str = "Generic API key: X-API-Key equals the configured key (constant time; other header names via a scheme file)";

// Documentation: the common `X-API-Key` convention; a sender that uses another header is
// described by a scheme file (`algorithm = "token"`, `signature_header = "…"`).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_header("x-api-key", SignatureSyntax::single(""))
        .content([])
        .unchecked()
}
