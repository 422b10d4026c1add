use crate::algorithm::{Algorithm, Encoding};
use crate::scheme::{Scheme, SignatureSyntax};

pub(super) const NAME: &str = "gocardless";
pub(super) const DESCRIPTION: &str =
    "GoCardless: Webhook-Signature <hex> HMAC-SHA256 over the body";

// Documentation: https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks (validating webhooks)

pub(super) fn scheme() -> Scheme {
    Scheme::builder(NAME)
        .algorithm(Algorithm::HmacSha256)
        .encoding(Encoding::Hex)
        .signature_header("webhook-signature", SignatureSyntax::single(""))
        .unchecked()
}
