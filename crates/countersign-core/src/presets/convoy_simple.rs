use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{EventIdSource, Scheme, SignatureSyntax};

pub(super) const NAME: &str = "convoy-simple";
pub(super) const DESCRIPTION: &str = "Convoy simple: X-Convoy-Signature <sig> over the body; sha256|sha512 x hex|base64; id X-Convoy-Idempotency-Key";

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("x-convoy-signature", SignatureSyntax::single(""))
        .sender_choices(super::convoy::ALGORITHMS, super::convoy::ENCODINGS)
        .event_id(EventIdSource::headers(&["x-convoy-idempotency-key"]))
        .unchecked()
}
