use crate::algorithm::{Algorithm, Encoding};
use crate::handshake::Handshake;
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "x";
pub(super) const DESCRIPTION: &str = "X (Twitter) Account Activity: x-twitter-webhooks-signature sha256=<base64> over the body with the consumer secret; GET crc_token answered with its HMAC";

// Documentation: https://docs.x.com/x-api/webhooks/introduction (challenge-response check:
// GET ?crc_token=… answered with {"response_token": "sha256=<base64 HMAC-SHA256(consumer
// secret, crc_token)>"}; events carry x-twitter-webhooks-signature, sha256= and the base64
// HMAC-SHA256 of the body with the consumer secret).

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Base64)
        .signature_header(
            "x-twitter-webhooks-signature",
            SignatureSyntax::single("sha256="),
        )
        .handshake(Handshake::x_crc())
        .unchecked()
}
