use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "line";
pub(super) const DESCRIPTION: &str =
    "LINE: x-line-signature <base64> HMAC-SHA256 over the body with the channel secret";

// Documentation: https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/
// Checked 2026-12-02 (issue 15) against:
// - https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/ and the official SDK (@line/bot-sdk validateSignature: base64 HMAC-SHA256 of the body)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header("x-line-signature", SignatureSyntax::single(""))
        .unchecked()
}
