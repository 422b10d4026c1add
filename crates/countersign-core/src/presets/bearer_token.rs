use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "bearer-token";
pub(super) const DESCRIPTION: &str = "Generic bearer token: Authorization `Bearer <token>` equals the configured token (constant time)";

// Documentation: https://www.rfc-editor.org/rfc/rfc6750#section-2.1 (the Authorization
// request header field).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::Token)
        .encoding(Encoding::Hex)
        .signature_header("authorization", SignatureSyntax::single("Bearer "))
        .content([])
        .unchecked()
}
